"""Host ranges in inventory host names."""

import textwrap

import pytest

from fleetcheck.inventory import load
from fleetcheck.inventory.ranges import expand, split_port


@pytest.mark.parametrize("pattern,names", [
    ("web1", ["web1"]),
    ("web[1:3]", ["web1", "web2", "web3"]),
    ("web[01:03]", ["web01", "web02", "web03"]),
    ("web[08:10]", ["web08", "web09", "web10"]),
    ("web[8:10]", ["web8", "web9", "web10"]),
    ("web[001:003].example.com", ["web001.example.com", "web002.example.com",
                                  "web003.example.com"]),
    ("web[1:10:2]", ["web1", "web3", "web5", "web7", "web9"]),
    ("web[00:10:5]", ["web00", "web05", "web10"]),
    ("web[3:3]", ["web3"]),
    ("web[:2]", ["web0", "web1", "web2"]),
    ("db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("db-[a:e:2]", ["db-a", "db-c", "db-e"]),
    ("[a:b]-x", ["a-x", "b-x"]),
    ("rack[1:2]-node[a:b]", ["rack1-nodea", "rack1-nodeb", "rack2-nodea", "rack2-nodeb"]),
    ("r[1:2]n[01:02]s[x:y]", ["r1n01sx", "r1n01sy", "r1n02sx", "r1n02sy",
                              "r2n01sx", "r2n01sy", "r2n02sx", "r2n02sy"]),
])
def test_expand(pattern, names):
    assert expand(pattern) == names


@pytest.mark.parametrize("key,result", [
    ("web1", ("web1", None)),
    ("web1:2222", ("web1", "2222")),
    ("web[01:03]:2222", ("web[01:03]", "2222")),
    ("web[01:03]", ("web[01:03]", None)),
    ("10.0.0.1:22", ("10.0.0.1", "22")),
    ("fe80::1", ("fe80::1", None)),
    ("web1:ssh", ("web1:ssh", None)),
])
def test_split_port(key, result):
    assert split_port(key) == result


def test_ranges_in_an_inventory(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text(textwrap.dedent("""
        all:
          children:
            web:
              hosts:
                web[01:03]:2222:
                  role: web
                  tuning: {workers: 4}
            db:
              hosts:
                db-[a:b]:
                web[02:03]:
        """))
    inventory = load([str(path)])
    assert list(inventory.hosts) == ["web01", "web02", "web03", "db-a", "db-b"]
    assert [h.port for h in inventory.hosts.values()] == [2222, 2222, 2222, 22, 22]
    assert inventory.hosts["web02"].groups == ["all", "db", "web"]
    assert inventory.hosts["web01"].vars == {"ansible_port": 2222, "role": "web",
                                             "tuning": {"workers": 4}}
    # each expanded host has its own copy of the vars
    inventory.hosts["web01"].vars["tuning"]["workers"] = 99
    assert inventory.hosts["web02"].vars["tuning"] == {"workers": 4}


@pytest.mark.parametrize("key,expected", [
    ("[2001:db8::13]:2222", ("2001:db8::13", "2222")),   # Ansible's v6-with-port spelling
    ("[2001:db8::13]", ("2001:db8::13", None)),
    ("2001:db8::13", ("2001:db8::13", None)),
    ("[1:3]", ("[1:3]", None)),                          # a range, not an address
    ("web[1:3]:22", ("web[1:3]", "22")),
])
def test_ipv6_in_brackets(key, expected):
    assert split_port(key) == expected
