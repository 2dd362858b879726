"""--limit: Ansible's host patterns, every form and every error.

The expected selections were asked of ansible-core 2.19 (``ansible all -i INV
--list-hosts --limit P``) when these tests were written; test_inventory_order.py asks
it again on every run for a table of patterns.

site.yml: bastion (in 'all' only); europe > paris = web01-03, db1; web = web01-04;
zeta = alpha = db1. Ansible lists it: bastion, web01, web02, web03, web04, db1.
limits/ambiguous.yml: web = web1-3; db = db3, db1, db2; app = app1 + web + db.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from fleetcheck.inventory import Group, HostEntry, Inventory, InventoryError, load
from fleetcheck.inventory import limit as limits
from fleetcheck.inventory.limit import Subscript, is_address, split_patterns, split_subscript

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"
SITE = str(FIXTURES / "site.yml")
AMBIGUOUS = str(FIXTURES / "limits" / "ambiguous.yml")
EVERYONE = ["bastion", "web01", "web02", "web03", "web04", "db1"]


@pytest.fixture(scope="module")
def site():
    return load([SITE])


@pytest.fixture(scope="module")
def ambiguous():
    return load([AMBIGUOUS])


def names(inventory, limit):
    return [host.name for host in inventory.select(limit)]


def error_of(inventory, limit):
    with pytest.raises(InventoryError) as info:
        inventory.select(limit)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("limit,expected", [
    # everything, in Ansible's order: all's own hosts, then each level of groups
    (None, EVERYONE),
    ("all", EVERYONE),
    ("*", EVERYONE),
    # plain host names; results always come back in Ansible's order
    ("db1", ["db1"]),
    ("db1,bastion", ["bastion", "db1"]),
    ("db1:bastion", ["bastion", "db1"]),
    (" db1 , bastion ", ["bastion", "db1"]),
    ("db1 bastion", ["bastion", "db1"]),           # no comma: blanks separate too
    # groups, with their child groups
    ("paris", ["web01", "web02", "web03", "db1"]),
    ("europe", ["web01", "web02", "web03", "db1"]),
    ("ungrouped", ["bastion"]),
    ("web", ["web01", "web02", "web03", "web04"]),
    ("zeta", ["db1"]),
    # globs (fnmatch, case-sensitive) over group and host names
    ("web0?", ["web01", "web02", "web03", "web04"]),
    ("web0[!1]", ["web02", "web03", "web04"]),
    ("*1", ["web01", "db1"]),
    ("eur*", ["web01", "web02", "web03", "db1"]),
    ("WEB*", None),
    ("web[:2]", None),                              # no subscript: a class of ':' and '2'
    # a trailing bracket of digits is a subscript, never a class: web0[12] is the
    # 13th host 'web0' matches (none)
    ("web0[12]", None),
    ("web?[14]", None),
    ("web0[1][0]", ["web01"]),                      # the first host of 'web0[1]'
    # regexes: Python re, matched from the start of the name (Ansible's re.match)
    ("~web0[13]", ["web01", "web03"]),
    ("~(bastion|db)", ["bastion", "db1"]),
    ("~.*4$", ["web04"]),
    ("~par", ["web01", "web02", "web03", "db1"]),
    ("~web.*[1]", ["web01"]),                       # no subscript after a regex
    ("~web[", ["web01", "web02", "web03", "web04"]),  # a lone '[' is dropped
    # subscripts: positions in the group's hosts in Ansible's order
    ("web[0]", ["web01"]),
    ("web[1]", ["web02"]),
    ("web[-1]", ["web04"]),
    ("web[-0]", ["web01"]),
    ("web[1:2]", ["web02", "web03"]),
    ("web[1-2]", ["web02", "web03"]),
    ("web[2:]", ["web03", "web04"]),
    ("web[1-]", ["web02", "web03", "web04"]),
    ("web[00:01]", ["web01", "web02"]),
    ("web[0:100]", ["web01", "web02", "web03", "web04"]),
    ("web[1:99999999999999999999999]", ["web02", "web03", "web04"]),
    ("web[2:0]", ["web03"]),                        # Ansible: [i:0] is [i]
    ("web[3:1]", None),                             # an empty slice
    ("paris[1:]", ["web02", "web03", "db1"]),
    ("europe[0]:zeta", ["web01", "db1"]),
    ("nosuch[0]", None),                            # nothing matched: nothing to index
    # a glob's subscript counts each matching group's hosts (groups in inventory
    # order), then the matching host names: the same host can count twice
    ("*[3]", ["web03"]),
    ("*[12]", ["web02"]),
    ("web*[5]", ["web02"]),
    ("e*[2:4]", ["web03", "db1"]),
    ("*s[1]", ["web02"]),
    ("all[0]", ["bastion"]),
    ("all[-1]", ["db1"]),
    ("ungrouped[0]", ["bastion"]),
    # union, intersection, exclusion, in any order of writing
    ("paris:web", ["web01", "web02", "web03", "web04", "db1"]),
    ("web,bastion", ["bastion", "web01", "web02", "web03", "web04"]),
    ("europe:&web", ["web01", "web02", "web03"]),
    ("&web:europe", ["web01", "web02", "web03"]),
    ("europe,&web", ["web01", "web02", "web03"]),
    ("web:!web02", ["web01", "web03", "web04"]),
    ("!web02:web", ["web01", "web03", "web04"]),
    ("web,!paris", ["web04"]),
    ("web:&paris:!web03", ["web01", "web02"]),
    ("europe:web:&~web:!web0[12]", ["web01", "web02", "web03", "web04"]),
    ("~^w.*:!~.*3$", ["web01", "web02", "web04"]),
    ("!web[0]", ["bastion", "web02", "web03", "web04", "db1"]),
    ("&web[1:]:paris", ["web02", "web03"]),
    # only & / ! terms start from 'all'
    ("!web", ["bastion", "db1"]),
    ("&paris", ["web01", "web02", "web03", "db1"]),
    ("!web:!zeta", ["bastion"]),
    ("!ungrouped", ["web01", "web02", "web03", "web04", "db1"]),
    # a term that matches nothing is fine when others do
    ("nosuch:db1", ["db1"]),
    ("db1:&nosuch*:bastion", None),
    # with a comma, ':' separates nothing: 'web:&paris' is one (unmatched) pattern
    ("web:&paris,db1", ["db1"]),
    ("web,,", ["web01", "web02", "web03", "web04"]),
    (" , : ", None),
    # a limit that reads as one host address is one pattern: host 'web' port 22
    ("web:22", None),
    # stray brackets are dropped when splitting on ':'
    ("web[", ["web01", "web02", "web03", "web04"]),
    ("web]", ["web01", "web02", "web03", "web04"]),
    ("web[1:db1", ["web01", "web02", "web03", "web04", "db1"]),
])
def test_select(site, limit, expected):
    if expected is None:
        assert "selects no host" in error_of(site, limit)
    else:
        assert names(site, limit) == expected


@pytest.mark.parametrize("limit,expected", [
    # web[1] is the second host of group web, never host web1 (issue 16)
    ("web[1]", ["web2"]),
    ("web[0]", ["web1"]),
    ("web1", ["web1"]),
    ("web[!1]", ["web2", "web3"]),                  # a class: not digits only
    ("web[1]*", ["web1"]),                          # a class: the bracket is not last
    ("~web[12]", ["web1", "web2"]),
    ("db[0]", ["db3"]),                             # the group's order, not sorted
    ("db[1:2]", ["db1", "db2"]),
    ("db[-1]", ["db2"]),
    ("db*[0]", ["db3"]),
    # a group with children: its own hosts, then its children's, in order
    ("app[0:3]", ["web1", "web2", "web3", "app1"]),
    ("app[4:]", ["db3", "db1", "db2"]),
    ("app[-1]", ["db2"]),
    ("app:&db[0:1]", ["db3", "db1"]),
    ("*[7]", ["2001:db8::10"]),
    ("*[8]", ["web1"]),
    ("web[0],db[0]", ["web1", "db3"]),
    # an IPv6 address is one pattern (its colons separate nothing)
    ("2001:db8::10", ["2001:db8::10"]),
    ("2001:db8::10,web1", ["web1", "2001:db8::10"]),
    ("v6[0]", ["2001:db8::10"]),
])
def test_subscripts_where_names_look_like_ranges(ambiguous, limit, expected):
    assert names(ambiguous, limit) == expected


@pytest.mark.parametrize("limit", ["web[12]", "web[-4]", "web[99999999999999999999999]"])
def test_a_single_index_past_the_end_is_an_error(ambiguous, limit):
    assert error_of(ambiguous, limit) == (
        f"--limit '{limit}': '{limit}' selects no host: 'web' matches 3 hosts, so "
        f"'{limit[3:]}' is out of range")


def test_selects_nothing(site):
    assert error_of(site, "nosuch") == (
        "--limit 'nosuch' selects no host (inventory has: bastion, web01, web02, web03, "
        "web04, db1)"
    )
    assert error_of(site, "web:!web") == (
        "--limit 'web:!web' selects no host (inventory has: bastion, web01, web02, web03, "
        "web04, db1)"
    )
    assert "selects no host" in error_of(site, "~eb")  # re.match: anchored at the start


def test_long_host_list_is_cut(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    node[01:25]:\n")
    assert error_of(load([str(path)]), "web*") == (
        "--limit 'web*' selects no host (inventory has: node01, node02, node03, node04, "
        "node05, node06, node07, node08, node09, node10, ... (+15 more))"
    )


@pytest.mark.parametrize("limit,message", [
    # departures from Ansible: an empty limit is no "no limit"...
    ("", "--limit '': empty pattern"),
    (",", "--limit ',': empty pattern"),
    (" , ", "--limit ' , ': empty pattern"),
    # ...and an operator must be followed by a pattern (Ansible: a traceback, or the
    # literal name '!web1' for '!!web1')
    ("&", "--limit '&': '&' must be followed by a pattern"),
    ("web:&", "--limit 'web:&': '&' must be followed by a pattern"),
    ("web:!", "--limit 'web:!': '!' must be followed by a pattern"),
    ("web & db", "--limit 'web & db': '&' must be followed by a pattern"),
    ("web:!!web1", "--limit 'web:!!web1': '!' must be followed by a pattern"),
    ("!&web", "--limit '!&web': '!' must be followed by a pattern"),
])
def test_bad_limits(site, limit, message):
    assert error_of(site, limit) == message


def test_bad_regex(site):
    message = error_of(site, "~web(")
    assert message.startswith("--limit '~web(': invalid regular expression 'web(': ")


def test_plain_host_name_beats_a_group_of_the_same_name(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text(textwrap.dedent("""
        all:
          children:
            db:
              hosts: {db1: , db2: }
          hosts:
            db:
        """))
    inventory = load([str(path)])
    assert names(inventory, "db") == ["db"]            # Ansible: a host name is that host
    assert names(inventory, "db*") == ["db", "db1", "db2"]
    assert names(inventory, "all:!db") == ["db"]        # ...but !db / &db use the group
    assert names(inventory, "db[0]") == ["db1"]         # ...and so does a subscript


def test_glob_subscripts_count_host_names_in_definition_order():
    """outside_all.yml defines pg2, pg1 (primary), then pg3; Ansible lists pg3 first
    (monitoring is one level up), but 'pg*' matches no group: its hosts are counted in
    the order they were defined."""
    inventory = load([str(FIXTURES / "limits" / "outside_all.yml")])
    assert names(inventory, None) == ["lone", "mon1", "pg3", "app2", "app1", "pg2", "pg1"]
    assert names(inventory, "pg*[0]") == ["pg2"]
    assert names(inventory, "pg*[-1]") == ["pg3"]
    assert names(inventory, "p*[1:2]") == ["pg2", "pg1"]   # primary's, then the names
    assert names(inventory, "dbs[2]") == ["pg3"]


def test_limit_file(site, tmp_path, monkeypatch):
    retry = tmp_path / "site.retry"
    retry.write_text("web02\n\ndb1\n")
    assert names(site, f"@{retry}") == ["web02", "db1"]
    assert names(site, f"@{retry}:bastion") == ["bastion", "web02", "db1"]
    monkeypatch.chdir(tmp_path)
    assert names(site, "@site.retry:!db1") == ["web02"]


def test_limit_file_lines_are_whole_patterns(site, tmp_path, monkeypatch):
    """Each line is one pattern, with its '&'/'!', never split on ',' or ':'."""
    (tmp_path / "lines.retry").write_bytes(b"web01:db1\r!web02\nweb,paris\n  web03  \r\n")
    monkeypatch.chdir(tmp_path)
    assert names(site, "@lines.retry") == ["web03"]
    assert names(site, "web,@lines.retry") == ["web01", "web03", "web04"]
    assert names(site, "@lines.retry,&paris") == ["web03"]


def test_limit_file_errors(site, tmp_path, monkeypatch):
    missing = tmp_path / "gone.retry"
    assert error_of(site, f"@{missing}") == (
        f"--limit '@{missing}': cannot read limit file '{missing}': No such file or directory"
    )
    assert error_of(site, f"@{tmp_path}") == (
        f"--limit '@{tmp_path}': limit file '{tmp_path}' is not a file")
    os.mkfifo(tmp_path / "fifo")        # no writer: reading it would wait for ever
    assert error_of(site, f"@{tmp_path / 'fifo'}") == (
        f"--limit '@{tmp_path / 'fifo'}': limit file '{tmp_path / 'fifo'}' is not a file")
    (tmp_path / "empty.retry").write_text("\n  \n")
    monkeypatch.chdir(tmp_path)
    assert error_of(site, "@empty.retry") == "--limit '@empty.retry': empty pattern"
    (tmp_path / "latin1.retry").write_bytes(b"caf\xe9\n")
    assert error_of(site, "@latin1.retry").startswith(
        "--limit '@latin1.retry': cannot read limit file 'latin1.retry': 'utf-8' codec")
    (tmp_path / "big.retry").write_text("web01\n" * 10)
    monkeypatch.setattr(limits, "MAX_SOURCE_BYTES", 20)
    assert error_of(site, "@big.retry") == (
        "--limit '@big.retry': limit file 'big.retry' is larger than 20 bytes")


def test_limit_as_a_list_splits_each_item_alone(site):
    assert names(site, ["web:!web02", "db1"]) == ["web01", "web03", "web04", "db1"]


def test_select_returns_the_inventory_entries(site):
    assert site.select("db1")[0] is site.hosts["db1"]
    assert site.select("web[1]")[0] is site.hosts["web02"]


def test_an_inventory_without_member_lists(site):
    """report/waivers.py matches patterns over an Inventory made from HostEntry.groups
    only (its Group objects list no host): subscripts still count the hosts."""
    hosts = {name: HostEntry(name, {}, ["all", "web"], "test") for name in ("w2", "w1")}
    inventory = Inventory(hosts=hosts, groups={"all": Group("all"), "web": Group("web")})
    assert names(inventory, "web[1]") == ["w1"]
    assert names(inventory, "web:!w2") == ["w1"]


# -- splitting, as ansible-core's split_host_pattern (checked against it, 600,000
#    random strings, when this was written) ------------------------------------------

@pytest.mark.parametrize("limit,patterns", [
    ("a,b[1], c[2:3] , d", ["a", "b[1]", "c[2:3]", "d"]),
    ("a:b:c", ["a", "b", "c"]),
    ("web:&prod,db1", ["web:&prod", "db1"]),       # a comma turns ':' off
    ("web[1:2]", ["web[1:2]"]),                    # a host range reads as one address
    ("web[1:2]:db", ["web[1:2]", "db"]),
    ("web[0:1]:db[1]", ["web[0:1]", "db[1]"]),
    ("web[1:]:&prod", ["web[1:]", "&prod"]),
    ("a[b[c]d:e", ["a[b[c]d", "e"]),               # '[' inside a bracket is kept
    ("a[ x:y ]b c", ["a[ x:y ]b", "c"]),           # so are blanks and ':'
    ("web[1:db", ["web", "1", "db"]),              # an unclosed '[' is dropped
    ("web]x", ["web", "x"]),
    ("web:22", ["web:22"]),                        # host:port
    ("10.0.0.1:22", ["10.0.0.1:22"]),
    ("2001:db8::1", ["2001:db8::1"]),
    ("[2001:db8::1]:22", ["[2001:db8::1]:22"]),
    ("::ffff:192.0.2.1", ["::ffff:192.0.2.1"]),
    ("cafe:beef", ["cafe", "beef"]),               # two hex words are no IPv6 address
    ("a::b", ["a::b"]),                            # ... but with '::' they are
    ("@file.retry:web", ["@file.retry", "web"]),
    ("  ", []),
])
def test_split_patterns(limit, patterns):
    assert split_patterns(limit) == patterns


@pytest.mark.parametrize("text,address", [
    ("web1", True), ("web-1.example.com", True), ("_web", True), ("web[01:20]", True),
    ("db-[a:c].x", True), ("web[1:10:2]", True), ("web1:2222", True), ("web_", False),
    ("-web", False), ("web-", False), ("a..b", False), ("web[1]", False),
    ("web[1:]", False), ("web!", False), ("", False), ("web:db", False),
    ("192.0.2.1", True), ("192.0.2.[1:9]", True), ("1:2:3:4:5:6:7:8", True),
    ("1:2:3:4:5:6:7:8:9", False), ("1:2:3:4:5:6:7", False), ("1::8", True),
    ("1:2:3:4:5:6:7::", False), ("1:2:3:4:5:6::", True), ("::2:3:4:5:6:7:8", False),
    ("::", True), ("::1", True), ("[::1]:22", True), ("fe80::[0:ff]", True),
    ("0:0:0:0:0:0:1.2.3.4", True), ("0:0:0:0:0:ffff:1.2.3.4", True),
    ("::FFFF:1.2.3.4", True), ("1::1.2.3.4", False), ("1:2::3::4", False),
    ("g::1", False), ("web:22\n", True),
])
def test_is_address(text, address):
    assert is_address(text) is address


@pytest.mark.parametrize("pattern,expected", [
    ("web[1]", ("web", Subscript(1))),
    ("web[-1]", ("web", Subscript(-1))),
    ("web[1:3]", ("web", Subscript(1, 3))),
    ("web[1-3]", ("web", Subscript(1, 3))),
    ("web[2:]", ("web", Subscript(2, Subscript.END))),
    ("web[2:0]", ("web", Subscript(2))),
    ("web*[0]", ("web*", Subscript(0))),
    ("web[1][2]", ("web[1]", Subscript(2))),
    ("web[:2]", ("web[:2]", None)),
    ("web[-1:]", ("web[-1:]", None)),
    ("web[a]", ("web[a]", None)),
    ("[1]", ("[1]", None)),
    ("~web[1]", ("~web[1]", None)),
    ("web[99999999999999999999]", ("web", Subscript(10**18))),
])
def test_split_subscript(pattern, expected):
    assert split_subscript(pattern) == expected


@pytest.mark.parametrize("subscript,count,positions", [
    (Subscript(0), 3, range(0, 1)),
    (Subscript(-1), 3, range(2, 3)),
    (Subscript(-3), 3, range(0, 1)),
    (Subscript(3), 3, None),
    (Subscript(-4), 3, None),
    (Subscript(1, 5), 3, range(1, 3)),
    (Subscript(1, Subscript.END), 3, range(1, 3)),
    (Subscript(5, Subscript.END), 3, range(3, 3)),
    (Subscript(2, 1), 3, range(2, 2)),
])
def test_subscript_positions(subscript, count, positions):
    assert subscript.positions(count) == positions


@pytest.mark.parametrize("limit", [
    "[" * 200_000, "]" * 200_000, ":" * 200_000, "a[" * 100_000, "a:" * 100_000,
    "[a:" * 70_000, "1:" * 100_000 + "x", "web[" + "1" * 200_000 + "]",
])
def test_splitting_hostile_limits_is_quick(site, limit):
    started = time.monotonic()
    try:
        site.select(limit)
    except InventoryError as exc:
        assert "\n" not in str(exc) and len(str(exc)) <= 400
    assert time.monotonic() - started < 5


def test_many_patterns_over_many_hosts_is_quick(tmp_path):
    path = tmp_path / "big.yml"
    path.write_text("all:\n  children:\n" + "".join(
        f"    g{i}:\n      hosts:\n        h{i}-[0001:1000]:\n" for i in range(20)))
    inventory = load([str(path)])
    chosen = [f"h{i % 20}-{i // 20 + 1:04d}" for i in range(5000)]   # 250 of each group
    limit = ",".join(chosen) + ",g*[-1],*[0:9]"   # + h19-1000, + h0-0001..0010 (chosen)
    started = time.monotonic()
    selected = names(inventory, limit)
    assert time.monotonic() - started < 5
    assert set(selected) == set(chosen) | {"h19-1000"}
