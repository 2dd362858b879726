"""The kernel area's lab faults (lab/faults/kernel.py), each seen by a probe on the host
and gone once healed. The hosts share this machine's kernel: the module list, the taint
and the command line are the captures each host reads (the lab inventory's kernel vars);
the modprobe.d blacklist is kmod's own reading of the host's files."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

KERNEL_DIR = "/etc/fleetcheck-lab/kernel"


def test_kernel_not_rebooted(healthy, ssh):
    ssh.toggles("web1", "kernel-not-rebooted",
                "test -e /lib/modules/99.0.0-1-lab/modules.dep && echo yes || echo no",
                "no", "yes")


def test_module_blacklist_removed(healthy, ssh):
    ssh.toggles("web1", "module-blacklist-removed",
                "modprobe --showconfig | grep -c '^blacklist cramfs$' || true", "1", "0")


def test_module_loaded_is_idempotent(healthy, ssh):
    loaded = f"grep -c '^usb_storage ' {KERNEL_DIR}/modules || true"
    healthy.fault("web1", "module-loaded")
    healthy.fault("web1", "module-loaded")
    assert ssh.out("web1", loaded).strip() == "1", "applied twice: one line"
    healthy.heal("web1", "module-loaded")
    ssh.toggles("web1", "module-loaded", loaded, "0", "1")


def test_module_missing(healthy, ssh):
    ssh.toggles("web1", "module-missing", f"grep -c '^dm_mod ' {KERNEL_DIR}/modules || true",
                "1", "0")


def test_kernel_oops(healthy, ssh):
    ssh.toggles("web1", "kernel-oops", f"cat {KERNEL_DIR}/tainted", "0", "128")


def test_cmdline_mitigations_off(healthy, ssh):
    count = f"grep -o ' mitigations=off' {KERNEL_DIR}/cmdline | wc -l"
    healthy.fault("web1", "cmdline-mitigations-off")
    healthy.fault("web1", "cmdline-mitigations-off")
    assert ssh.out("web1", count).strip() == "1", "applied twice: one parameter"
    healthy.heal("web1", "cmdline-mitigations-off")
    ssh.toggles("web1", "cmdline-mitigations-off", count, "0", "1")
