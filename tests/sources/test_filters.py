"""--where filters on host vars and the offline mark (fleetcheck.selection.filters)."""

from __future__ import annotations

import pytest

from fleetcheck.selection import filters
from fleetcheck.inventory import HostEntry, InventoryError


def host(name, groups=("all",), **values):
    return HostEntry(name=name, vars=values, groups=list(groups), source="inv.yml")


HOSTS = [
    host("c1", ("all", "compute"), role="compute", env=11, online=True, tags=["gpu", "a100"],
         dns={"master": "ns1"}),
    host("c2", ("all", "compute"), role="compute", env="12", online="false"),
    host("s1", ("all", "storage"), role="storage", env=11, fleetcheck_offline=True),
    host("w1", ("all",), role="web-front", env=11.0, online=None),
]


@pytest.mark.parametrize("wheres,expected", [
    (["role=compute"], ["c1", "c2"]),
    (["role!=compute"], ["s1", "w1"]),
    (["role=compute", "env=11"], ["c1"]),              # AND
    (["env=11"], ["c1", "s1", "w1"]),                  # 11, 11 and 11.0; not "12"
    (["env=12"], ["c2"]),                              # a string var "12"
    (["online=true"], ["c1"]),                         # bool var, yes/no words
    (["online=no"], []),                               # "false" is a string var in c2
    (["online!=true"], ["c2", "s1", "w1"]),            # missing or null: != holds
    (["tags=gpu"], ["c1"]),                            # list: any element
    (["dns.master=ns1"], ["c1"]),                      # dotted path into dict vars
    (["role=*front"], ["w1"]),                         # glob
    (["name=c*", "role!=storage"], ["c1", "c2"]),
    (["group=storage"], ["s1"]),
    ([" role = compute "], ["c1", "c2"]),
    (["role=comp"], []),
])
def test_where(wheres, expected):
    if not expected:
        with pytest.raises(InventoryError, match=r"selects no host \(of 4: c1, c2, s1, w1\)"):
            filters.select(HOSTS, wheres)
        return
    assert [h.name for h in filters.select(HOSTS, wheres)] == expected


@pytest.mark.parametrize("text", ["role", "=x", "!=x", "", "  "])
def test_bad_where(text):
    with pytest.raises(InventoryError, match=r"^--where .*: expected KEY=VALUE or KEY!=VALUE$"):
        filters.select(HOSTS, [text])


def test_value_may_hold_equals_signs():
    (w,) = [filters.parse("opts=a=b")]
    assert (w.key, w.op, w.value) == ("opts", "=", "a=b")


def test_offline():
    assert [filters.is_offline(h) for h in HOSTS] == [False, True, True, False]
    with pytest.raises(InventoryError, match=r"^inv\.yml: host 'x': online: expected a boolean"):
        filters.is_offline(host("x", online="maybe"))


def test_derived_connection_values():
    hosts = [host("a", ansible_host="192.0.2.1", ansible_become=True, ansible_port=2222),
             host("b")]
    assert [h.name for h in filters.select(hosts, ["become=true"])] == ["a"]
    assert [h.name for h in filters.select(hosts, ["port=22"])] == ["b"]
    assert [h.name for h in filters.select(hosts, ["address=192.0.2.*"])] == ["a"]
