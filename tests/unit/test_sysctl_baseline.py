"""sysctl.baseline: its items (null off, a key declared in `sysctl` left to
sysctl.value), the keys the fact reads, the embedded defaults, and its fix (with the
key the kernel resets when forwarding changes)."""

from __future__ import annotations

from pathlib import Path

import yaml

from fleetcheck import checkmeta
from fleetcheck.facts import sysctl as fact
from fleetcheck.facts.sysctl import Sysctl
from tests.unit.test_plans import file_state, plan

ROOT = Path(__file__).resolve().parents[2]
BASELINE_META = checkmeta.CheckMeta("sysctl.baseline", "medium", "t", items="sysctl_baseline",
                                    items_except="sysctl", facts=("sysctl",))


def test_items_skip_null_keys_and_the_ones_the_host_declares():
    hostvars = {"sysctl_baseline": {"net.ipv4.ip_forward": 0, "kernel.kptr_restrict": None,
                                    "net.ipv4.tcp_syncookies": 1},
                "sysctl": {"net.ipv4.ip_forward": 1}}
    assert checkmeta.host_items(BASELINE_META, hostvars) == ["net.ipv4.tcp_syncookies"]


def test_the_check_marker_reads_items_except():
    import checks.test_sysctl as module

    class Node:
        nodeid = "checks/test_sysctl.py::test_sysctl_baseline"

        @staticmethod
        def get_closest_marker(name):
            return next(m for m in module.test_sysctl_baseline.pytestmark if m.name == name)

    meta = checkmeta.from_node(Node())
    assert (meta.items, meta.items_except, meta.facts) == ("sysctl_baseline", "sysctl",
                                                           ("sysctl",))


def test_the_fact_reads_declared_and_baseline_keys_once_without_nulls():
    hostvars = {"sysctl": {"net.ipv4.ip_forward": 1},
                "sysctl_baseline": {"net.ipv4.ip_forward": 0, "fs.suid_dumpable": 0,
                                    "kernel.kptr_restrict": None}}
    assert fact.command(hostvars).render() == \
        "sysctl -e -- net.ipv4.ip_forward fs.suid_dumpable"


def test_the_embedded_baseline_is_valid_and_hardening():
    data = yaml.safe_load((ROOT / "fleetcheck/data/local.yml").read_text())
    baseline = data["all"]["vars"]["sysctl_baseline"]
    assert baseline["net.ipv4.ip_forward"] == 0
    assert baseline["kernel.randomize_va_space"] == 2
    for key, value in baseline.items():
        assert fact.values.sysctl_key(key) == key
        assert fact.persisted_value(value) in ("0", "1", "2")


def test_baseline_fix_persists_and_sets_the_baseline_value():
    key = "net.ipv4.conf.all.accept_redirects"
    p = plan("sysctl.baseline", {"sysctl_baseline": {key: 0}}, key,
             sysctl=Sysctl({key: "1"}), file=file_state(None))
    assert [a.summary for a in p.actions] == [
        f"persist {key} = 0 in /etc/sysctl.d/99-fleetcheck.conf", f"sysctl -w {key}=0"]
    assert [a.summary for a in p.on_rollback] == [f"sysctl -w {key}=1 (its value before the fix)"]


def test_baseline_fix_refuses_a_key_turned_off():
    key = "kernel.kptr_restrict"
    p = plan("sysctl.baseline", {"sysctl_baseline": {key: None}}, key,
             sysctl=Sysctl({key: "0"}), file=file_state(None))
    assert p.refused and "does not set" in p.reason


def test_forwarding_off_sets_accept_redirects_again():
    """The kernel sets conf.all.accept_redirects to !forwarding (devinet.c): the fix of
    ip_forward puts the baseline's value back after it (seen on the lab's hosts)."""
    redirects = "net.ipv4.conf.all.accept_redirects"
    p = plan("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": 0},
                              "sysctl_baseline": {redirects: 0}}, "net.ipv4.ip_forward",
             sysctl=Sysctl({"net.ipv4.ip_forward": "1", redirects: "0"}), file=file_state(None))
    commands = [a.command.render() for a in p.actions if hasattr(a, "command")]
    assert commands == ["sysctl -w net.ipv4.ip_forward=0", f"sysctl -w {redirects}=0"]
    assert [a.command.render() for a in p.on_rollback] == [
        "sysctl -w net.ipv4.ip_forward=1", f"sysctl -w {redirects}=0"]


def test_no_companion_when_no_var_sets_it():
    p = plan("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": 0}}, "net.ipv4.ip_forward",
             sysctl=Sysctl({"net.ipv4.ip_forward": "1"}), file=file_state(None))
    assert len(p.actions) == 2
