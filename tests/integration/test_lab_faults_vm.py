"""The vm area's lab faults (lab/faults/vm.py) on app1, the lab's hypervisor: each seen
by virsh on the host and gone once healed; the guests are real QEMU processes (on
QEMU's TCG) booting Debian's kernel, with no network."""

from __future__ import annotations

import os

import pytest

from lab.faults import vm

pytestmark = pytest.mark.integration

VIRSH = "virsh -q -c qemu:///system"


def test_the_guests_run_real_kernels(healthy, ssh):
    running = sorted(ssh.out("app1", f"{VIRSH} list --name --state-running").split())
    assert running == ["guest1"]
    assert sorted(ssh.out("app1", f"{VIRSH} list --name --all").split()) == ["guest1", "guest2",
                                                                       "guest3"]
    argv = ssh.out("app1", "cat /proc/$(cat /run/libvirt/qemu/guest1.pid)/cmdline | "
                           "tr '\\0' ' '")
    assert "qemu-system-x86_64" in argv and "-kernel /boot/vmlinuz-" in argv, argv
    # QEMU's TCG (lab/faults/vm.py DOMAIN_TYPE: nested KVM pauses a guest now and then)
    kvm = vm.DOMAIN_TYPE == "kvm" and os.path.exists("/dev/kvm")
    assert f"-accel {'kvm' if kvm else 'tcg'}" in argv, argv
    # the guest runs (its vCPU has used CPU time), and has one NIC on a tap attached
    # to nothing
    cpu = ssh.out("app1", f"{VIRSH} dominfo guest1 | sed -n 's/^CPU time: *//p'")
    assert float(cpu.strip().rstrip("s")) > 0, cpu
    assert ssh.out("app1", f"{VIRSH} domiflist guest1").split()[:2] == ["fcg1", "ethernet"]
    assert "master" not in ssh.out("app1", "ip -o link show dev fcg1")


def test_guest_shut_off(healthy, ssh):
    ssh.toggles("app1", "guest-shut-off", f"{VIRSH} domstate guest1", "running", "shut off")


def test_guest_paused(healthy, ssh):
    ssh.toggles("app1", "guest-paused", f"{VIRSH} domstate guest1", "running", "paused")


def test_guest_autostart_unset(healthy, ssh):
    probe = f"{VIRSH} dominfo guest1 | sed -n 's/^Autostart: *//p'"
    ssh.toggles("app1", "guest-autostart-unset", probe, "enable", "disable")


def test_guest_undeclared_running(healthy, ssh):
    ssh.toggles("app1", "guest-undeclared-running", f"{VIRSH} domstate guest3", "shut off",
                "running")


def test_dry_run_of_the_guests_fixes_changes_nothing(healthy, ssh, tmp_path):
    """The three vm fixes planned on a broken hypervisor, with --dry-run: each is a
    would-fix naming what it would do to the guest, and neither a guest's state, its
    autostart nor a file under libvirt's directories changes (vm.undeclared's fix is
    on here: the inventory's vm.undeclared.shutdown)."""
    import yaml
    from fleet import LAB_INV, audit, variant

    for fault in ("guest-shut-off", "guest-autostart-unset", "guest-undeclared-running"):
        healthy.fault("app1", fault)
    inv = variant(tmp_path, healthy)
    data = yaml.safe_load(inv.read_text())
    data["all"]["children"]["hypervisors"]["vars"]["vm"]["undeclared"] = {"shutdown": True}
    inv.write_text(yaml.safe_dump(data))
    assert LAB_INV != inv
    state = (f"{VIRSH} list --all; for g in guest1 guest2 guest3; do {VIRSH} dominfo $g "
             "| grep -E '^(State|Autostart)'; done; find /etc/libvirt /var/lib/libvirt "
             "-xdev -type f -print0 | sort -z | xargs -0 sha256sum")
    before = ssh.out("app1", state)
    rc, records, out = audit(tmp_path, "--limit", "app1", "--remediate", "--dry-run",
                             "-k", "vm", inventory=inv)
    would = {r["check_id"]: r for r in records if r["outcome"] == "would-fix"}
    assert set(would) == {"vm.guests", "vm.autostart", "vm.undeclared"}, out
    plans = {c: " ".join(a["summary"] for a in r["plan"]["actions"])
             for c, r in would.items()}
    assert "guest1" in plans["vm.guests"] and "guest3" in plans["vm.undeclared"], plans
    assert ssh.out("app1", state) == before
    assert ssh.run("app1", "test -e /run/fleetcheck.lock").returncode != 0
    assert rc == 1, out
