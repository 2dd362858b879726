"""`python -m fleetcheck guests` against the lab's real hypervisor (app1: libvirtd and
three KVM guests, lab/faults/vm.py): the running table and the configured one with
the chosen columns, a fault seen in the table, and the hosts that are no hypervisor
left out (every lab host has virsh, only app1 runs libvirtd)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from fleet import LAB_INV, REPO

pytestmark = pytest.mark.integration


def guests(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fleetcheck", "guests", "--inventory",
                           str(LAB_INV), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_the_running_guests_with_chosen_columns(healthy):
    res = guests("--columns", "label,type,state,host,mac,cport,autostart", "--format", "csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["label"], r["state"], r["host"], r["mac"], r["autostart"]) for r in rows] == [
        ("guest1", "running", "app1", "52:54:00:fc:00:01", "true"),
        ("guest2", "shut off", "app1", "52:54:00:fc:00:02", "false"),
        ("guest3", "shut off", "app1", "52:54:00:fc:00:03", "false")]
    assert rows[0]["type"] in ("kvm", "qemu") and rows[0]["cport"] == "5900"
    assert rows[1]["cport"] == "" and "4 hosts left out: no hypervisor" in res.stderr


def test_configured_and_a_fault_in_the_table(healthy):
    res = guests("--configured", "--columns", "@config,uuid", "--format", "json",
                 "--limit", "app1")
    assert res.returncode == 0, res.stderr
    configured = json.loads(res.stdout)
    assert [(g["label"], g["vcpus"], g["memory_mib"], g["cport"]) for g in configured] == [
        ("guest1", 1, 96, "auto"), ("guest2", 1, 96, "auto"), ("guest3", 1, 96, "auto")]
    assert configured[0]["uuid"] == "a9f1c2de-0001-4c6b-9a55-f1ee7c0de001"
    healthy.fault("app1", "guest-paused")
    res = guests("--columns", "label,state,reason", "--limit", "app1")
    assert res.stdout.splitlines()[1].split() == ["guest1", "paused", "user"], res.stdout
