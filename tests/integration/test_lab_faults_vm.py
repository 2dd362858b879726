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
