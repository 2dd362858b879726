"""What report.html shows of a record beside its raw JSON (fleetcheck.report.details,
html.section_data): the check marker's compare= declaration, the evidence rows, the
plan in words, the host summary."""

from __future__ import annotations

import types

import pytest

from fleetcheck import checkmeta
from fleetcheck.facts.system import System, uptime_text
from fleetcheck.report import details, html
from fleetcheck.report.records import Record


class Node:
    nodeid = "checks/test_x.py::test_x"

    def __init__(self, **kwargs):
        self.mark = pytest.mark.check("a.b", **kwargs).mark

    def get_closest_marker(self, name):
        return self.mark


def test_compare_is_kept_in_its_order():
    meta = checkmeta.from_node(Node(compare={"value": ("expected", "actual"),
                                             "listening": (None, "sockets")}))
    assert meta.compare == (("value", "expected", "actual"), ("listening", None, "sockets"))
    assert checkmeta.from_node(Node()).compare is None


@pytest.mark.parametrize("compare, words", [
    ({}, "is not a non-empty mapping"),
    ([("value", "expected", "actual")], "is not a non-empty mapping"),
    ({"": ("a", "b")}, "label '' is not a non-empty string"),
    ({"value": "actual"}, "'value': 'actual' is not an (expected key, actual key) pair"),
    ({"value": ("a", "b", "c")}, "is not an (expected key, actual key) pair"),
    ({"value": ("a", 3)}, "is not an (expected key, actual key) pair"),
    ({"value": ("", "b")}, "is not an (expected key, actual key) pair"),
    ({"value": (None, None)}, "(None, None) names no evidence key"),
])
def test_a_bad_compare_fails_collection_with_one_line(compare, words):
    with pytest.raises(pytest.fail.Exception) as info:
        checkmeta.from_node(Node(compare=compare))
    assert str(info.value.msg).startswith("checks/test_x.py::test_x: compare= of a.b: ")
    assert words in str(info.value.msg)


def test_compact_values():
    assert details.compact(None) == "none"
    assert details.compact(True) == "yes" and details.compact(False) == "no"
    assert details.compact(0) == "0" and details.compact("") == '""'
    assert details.compact(list(range(20))) == "0, 1, 2, 3, 4, 5, 6, 7 and 12 more"
    assert details.compact({"a": 1, "sha256": "ff" * 32, "b": [1, 2]}) == "a: 1, b: (1, 2)"
    assert details.compact([]) == "(empty)"
    long = details.compact("x" * 1000)
    assert len(long) == details.MAX_TEXT and long.endswith("\u2026")


def test_rows_pair_expected_and_actual_and_keep_internal_fields_out():
    evidence = {"key": "net.ipv4.ip_forward", "expected": "0", "actual": "1",
                "file_sha256": "ab" * 32, "_raw": "x", "advice": "sysctl -w ...",
                "listening": ["tcp/22 sshd", "udp/123 chronyd"]}
    compare = [["value", "expected", "actual"], ["absent", "nowhere", None]]
    rows = details.evidence_rows(evidence, compare, "failed")
    assert rows == [
        ["value", "0", "1", "failed"],
        ["key", "", "net.ipv4.ip_forward", ""],          # not declared: actual side only
        ["listening", "", "tcp/22 sshd, udp/123 chronyd", ""],
    ]
    same = details.evidence_rows({"expected": 0, "actual": "0"}, compare, "passed")
    assert same == [["value", "0", "0", "as expected"]]
    # no declaration (a user's check): every key as found
    assert details.evidence_rows({"motd": "hi"}, None, "failed") == [["motd", "", "hi", ""]]


def test_rows_are_bounded():
    rows = details.evidence_rows({f"k{i}": i for i in range(40)}, None, "passed")
    assert len(rows) == details.MAX_ROWS
    assert rows[-1][0] == f"{40 - details.MAX_ROWS + 1} more"


def test_plan_in_words():
    plan = {"status": "would-fix", "summary": "set net.ipv4.ip_forward = 0",
            "actions": [{"kind": "WriteFile", "summary": "write /etc/sysctl.d/90.conf",
                         "path": "/etc/sysctl.d/90.conf", "sha256_before": None,
                         "sha256_after": "cd" * 32},
                        {"kind": "RunCommand", "summary": "apply", "command": "sysctl -p x",
                         "ok": [0]},
                        {"kind": "Service", "summary": "reload", "service": "ssh",
                         "operation": "reload"}],
            "diffs": {"/etc/sysctl.d/90.conf": "--- a\n+++ b\n-x = 1\n+x = 0\n"},
            "warnings": ["w1"], "refused": False}
    view = details.plan_view(plan)
    assert view["actions"] == [["write /etc/sysctl.d/90.conf", "writes /etc/sysctl.d/90.conf"],
                               ["apply", "runs sysctl -p x"],
                               ["reload", "reload service ssh"]]
    assert view["status"] == "would-fix" and view["notes"] == ["warning: w1"]
    assert "sha256" not in repr(view)
    assert details.plan_view(None) is None


def test_host_summary_from_the_cache_only():
    found = System(kernel="6.1.0-26-amd64", uptime_seconds=93784.5,
                   distribution="Debian GNU/Linux 12 (bookworm)", os_id="debian",
                   version_id="12")
    host = types.SimpleNamespace(facts=types.SimpleNamespace(
        peek=lambda fact: found if fact == "system" else None))
    assert details.host_summary(host) == {
        "kernel": "6.1.0-26-amd64", "distribution": "Debian GNU/Linux 12 (bookworm)",
        "uptime": "1 day 2 h", "uptime_seconds": 93784.5}
    nothing = types.SimpleNamespace(facts=types.SimpleNamespace(peek=lambda fact: None))
    assert details.host_summary(nothing) is None
    assert [uptime_text(s) for s in (30, 600, 7200 + 300, 3 * 86400)] == \
        ["30 s", "10 min", "2 h 5 min", "3 days 0 h"]


def test_section_data_carries_rows_plan_advice_description_and_host_facts():
    state = types.SimpleNamespace(
        hosts={"web1": None, "db1": None}, started=0.0, run_status=None,
        metadata=lambda: {"run_id": "r1"},
        checks={"sysctl.value": {"description": "Each key <has> its value.",
                                 "compare": [["value", "expected", "actual"]]}},
        host_facts={"web1": {"host": "web1", "kernel": "6.1", "distribution": "Debian",
                             "uptime": "2 h 0 min", "uptime_seconds": 7200.0}},
        records={
            "a": Record(host="web1", check_id="sysctl.value", test_id="t", nodeid="a",
                        severity="medium", title="t", outcome="failed", message="m",
                        evidence={"key": "k", "expected": "0", "actual": "1",
                                  "advice": "run sysctl"}, item="k"),
            "b": Record(host="db1", check_id="demo.x", test_id="t", nodeid="b",
                        severity="low", title="t", outcome="passed")})
    data = html.section_data(state)
    web1, = [r for r in data["records"] if r["h"] == "web1"]
    assert web1["x"] == [["value", "0", "1", "failed"], ["key", "", "k", ""]]
    assert web1["adv"] == "run sysctl" and web1["e"]["advice"] == "run sysctl"  # raw kept
    assert "pv" not in web1
    db1, = [r for r in data["records"] if r["h"] == "db1"]
    assert "x" not in db1 and "adv" not in db1
    assert data["checks"] == {"sysctl.value": {"description": "Each key <has> its value."}}
    assert data["host_facts"] == {"web1": {"kernel": "6.1", "distribution": "Debian",
                                           "uptime": "2 h 0 min", "uptime_seconds": 7200.0}}
    assert "<" not in html.script_json(data)
