"""--limit: Ansible's host pattern grammar over tests/fixtures/inventory/site.yml.

site.yml: bastion (ungrouped); europe > paris = web01-03, db1; web = web01-04;
zeta = alpha = db1.
"""

import textwrap
from pathlib import Path

import pytest

from fleetcheck.inventory import InventoryError, load

SITE = str(Path(__file__).resolve().parent.parent / "fixtures" / "inventory" / "site.yml")
EVERYONE = ["bastion", "web01", "web02", "web03", "db1", "web04"]


@pytest.fixture(scope="module")
def site():
    return load([SITE])


def names(inventory, limit):
    return [host.name for host in inventory.select(limit)]


def error_of(inventory, limit):
    with pytest.raises(InventoryError) as info:
        inventory.select(limit)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("limit,expected", [
    # everything
    (None, EVERYONE),
    ("all", EVERYONE),
    ("*", EVERYONE),
    # plain host names; results always come back in inventory order
    ("db1", ["db1"]),
    ("db1,bastion", ["bastion", "db1"]),
    ("db1:bastion", ["bastion", "db1"]),
    (" db1 , bastion ", ["bastion", "db1"]),
    # groups, with their child groups
    ("paris", ["web01", "web02", "web03", "db1"]),
    ("europe", ["web01", "web02", "web03", "db1"]),
    ("ungrouped", ["bastion"]),
    ("web", ["web01", "web02", "web03", "web04"]),
    ("zeta", ["db1"]),
    # globs (fnmatch, case-sensitive) over group and host names
    ("web0?", ["web01", "web02", "web03", "web04"]),
    ("web0[12]", ["web01", "web02"]),
    ("web?[14]", ["web01", "web04"]),
    ("*1", ["web01", "db1"]),
    ("eur*", ["web01", "web02", "web03", "db1"]),
    ("WEB*", None),
    # regexes: Python re, matched from the start of the name (Ansible's re.match)
    ("~web0[13]", ["web01", "web03"]),
    ("~(bastion|db)", ["bastion", "db1"]),
    ("~.*4$", ["web04"]),
    ("~par", ["web01", "web02", "web03", "db1"]),
    # union, intersection, exclusion, in any order of writing
    ("paris:web", ["web01", "web02", "web03", "db1", "web04"]),
    ("web,bastion", ["bastion", "web01", "web02", "web03", "web04"]),
    ("europe:&web", ["web01", "web02", "web03"]),
    ("&web:europe", ["web01", "web02", "web03"]),
    ("europe,&web", ["web01", "web02", "web03"]),
    ("web:!web02", ["web01", "web03", "web04"]),
    ("!web02:web", ["web01", "web03", "web04"]),
    ("web,!paris", ["web04"]),
    ("web:&paris:!web03", ["web01", "web02"]),
    ("europe:web:&~web:!web0[12]", ["web03", "web04"]),
    # only & / ! terms start from 'all'
    ("!web", ["bastion", "db1"]),
    ("&paris", ["web01", "web02", "web03", "db1"]),
    ("!web:!zeta", ["bastion"]),
    # a term that matches nothing is fine when others do
    ("nosuch:db1", ["db1"]),
    ("db1:&nosuch*:bastion", None),
])
def test_select(site, limit, expected):
    if expected is None:
        assert "selects no host" in error_of(site, limit)
    else:
        assert names(site, limit) == expected


def test_selects_nothing(site):
    assert error_of(site, "nosuch") == (
        "--limit 'nosuch' selects no host (inventory has: bastion, web01, web02, web03, db1, "
        "web04)"
    )
    assert error_of(site, "web:!web") == (
        "--limit 'web:!web' selects no host (inventory has: bastion, web01, web02, web03, "
        "db1, web04)"
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
    ("", "--limit '': empty pattern"),
    (" , : ", "--limit ' , : ': empty pattern"),
    ("web:&", "--limit 'web:&': '&' must be followed by a pattern"),
    ("web:!", "--limit 'web:!': '!' must be followed by a pattern"),
    ("web:!!web1", "--limit 'web:!!web1': '!' must be followed by a pattern"),
])
def test_bad_limits(site, limit, message):
    assert error_of(site, limit) == message


def test_bad_regex(site):
    message = error_of(site, "~web[")
    assert message.startswith("--limit '~web[': invalid regular expression 'web[': ")


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
    assert names(inventory, "db*") == ["db1", "db2", "db"]
    assert names(inventory, "all:!db") == ["db"]        # ...but !db / &db use the group


def test_limit_file(site, tmp_path, monkeypatch):
    retry = tmp_path / "site.retry"
    retry.write_text("web02\n\ndb1\n# a comment\n")
    assert names(site, f"@{retry}") == ["web02", "db1"]
    assert names(site, f"@{retry}:bastion") == ["bastion", "web02", "db1"]
    monkeypatch.chdir(tmp_path)
    assert names(site, "@site.retry:!db1") == ["web02"]


def test_missing_limit_file(site, tmp_path):
    missing = tmp_path / "gone.retry"
    assert error_of(site, f"@{missing}") == (
        f"--limit '@{missing}': cannot read limit file '{missing}': No such file or directory"
    )


def test_select_returns_the_inventory_entries(site):
    assert site.select("db1")[0] is site.hosts["db1"]
