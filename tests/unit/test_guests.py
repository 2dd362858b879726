"""`python -m fleetcheck guests` (fleetcheck/guests.py): the columns, the rows of real
captured guests (the lab's KVM capture, libvirt's test driver with hostile names),
running and configured, the hosts left out, and one line per problem. The hosts are
asked through `ask`, replaced here by the parsed captures (no host is contacted: the
lab test, tests/integration/test_guests_on_lab.py, asks the lab's real hypervisor)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetcheck import guests
from fleetcheck.facts import vm
from fleetcheck.inventory import InventoryError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "facts" / "vm_guests"
LAB = vm.parse((FIXTURES / "lab-app1-assembled.txt").read_text())
HOSTILE = vm.parse((FIXTURES / "test-driver-hostile-names.txt").read_text())
NONE = vm.parse((FIXTURES / "not-installed.txt").read_text())
DOWN = vm.parse((FIXTURES / "no-hypervisor.txt").read_text())


class Entry:
    def __init__(self, name, vars=None):
        self.name, self.vars, self.refused = name, vars or {}, None


def test_default_columns_sets_and_unknown_ones():
    assert guests.columns(None, []) == list(guests.DEFAULT_COLUMNS)
    assert guests.columns("@cport", []) == ["label", "host", "state", "console", "cport"]
    assert guests.columns("label,@net,label", []) == ["label", "host", "state", "mac",
                                                      "address", "nics"]
    inv = [Entry("kvm1", {"fleetcheck_guest_columns": {"ops": "label, cport",
                                                       "cport": ["label"]}})]
    assert guests.columns("@ops", inv) == ["label", "cport"]
    assert guests.columns("@cport", inv) == ["label"]    # the inventory's set wins
    with pytest.raises(InventoryError, match="unknown guest column 'ram'"):
        guests.columns("label,ram", [])
    with pytest.raises(InventoryError, match="no column set @nope"):
        guests.columns("@nope", [])


def test_the_lab_guests_running_and_configured():
    rows = [guests.guest_row("app1", g, configured=False) for g in LAB.guests]
    assert [(r["label"], r["type"], r["state"], r["mac"], r["cport"], r["autostart"])
            for r in rows] == [
        ("guest1", "kvm", "running", "52:54:00:fc:00:01", 5900, True),
        ("guest2", "kvm", "paused", "52:54:00:fc:00:02", 5901, False),
        ("guest3", "kvm", "shut off", "52:54:00:fc:00:03", None, False)]
    assert rows[0]["console"] == "vnc:5900" and rows[0]["id"] == 1
    assert rows[0]["memory_mib"] == 96 and rows[0]["nics"] == "ethernet"
    configured = [guests.guest_row("app1", g, configured=True) for g in LAB.guests]
    # as configured: autoport consoles have no port yet, no id, no address
    assert [(r["cport"], r["id"], r["address"]) for r in configured] == [("auto", None, None)] * 3


def test_hostile_guest_names_are_cells_not_syntax():
    rows = [guests.guest_row("kvm1", g, configured=False) for g in HOSTILE.guests]
    evil = next(r for r in rows if r["label"].startswith("-rf"))
    text = guests.hosttable.render([{"label": evil["label"]}], ["label"], "csv")
    assert text.splitlines()[1] == '"-rf; $(reboot) \'x\' ""y"""'
    web = next(r for r in rows if r["label"] == "web server 01")
    assert web["nics"] == "bridge:br0 network:default" and web["console"] == "spice:5930"


def test_table_asks_every_host_and_says_what_it_left_out(monkeypatch):
    answers = {"kvm1": (LAB, None), "kvm2": (HOSTILE, None), "db1": (NONE, None),
               "client": (DOWN, None), "kvm3": (DOWN, None),
               "gone": (None, "connect timeout after 10s")}
    monkeypatch.setattr(guests, "ask", lambda entry, options: answers[entry.name])
    hosts = [Entry(n) for n in answers]
    hosts[4].vars = {"vm": {"guests": [{"name": "x", "state": "running"}]}}
    rows, problems, none = guests.table(hosts, False, options=None)
    assert [r["host"] for r in rows] == ["kvm1"] * 3 + ["kvm2"] * len(HOSTILE.guests)
    assert [r["label"] for r in rows[:3]] == ["guest1", "guest2", "guest3"]
    # no virsh, and a virsh without a daemon where no guest is declared: left out;
    # a declared hypervisor that does not answer and an unreachable host: one line each
    assert none == 2
    assert problems[0].startswith("kvm3: virsh (qemu:///system): ") and len(problems) == 2
    assert problems[1] == "gone: connect timeout after 10s"


def test_json_has_the_chosen_columns_only(monkeypatch, capsys):
    monkeypatch.setattr(guests, "ask", lambda entry, options: (LAB, None))

    class Chosen:
        hosts = {"app1": Entry("app1")}
        notes = []

    monkeypatch.setattr("fleetcheck.selection.select", lambda args: Chosen)

    class Args:
        inventory, columns, configured, format = [], "label,state", False, "json"
        ssh_accept_new, connect_timeout = False, None

    assert guests.main(Args) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"label": "guest1", "state": "running"}, {"label": "guest2", "state": "paused"},
        {"label": "guest3", "state": "shut off"}]
    Args.columns = "nope"
    assert guests.main(Args) == 4
    assert "unknown guest column 'nope'" in capsys.readouterr().err
