"""The LVM area's lab faults (lvm.*). The lab's kernel has no device-mapper (no LV can
be active, and vgs/lvs inside a host would need the loop devices in its namespaces),
so every host reads real captured reports (the lab inventory's lvm.report_dir):
vgs and pvs of two loop-device PVs captured on this machine (fleetcheck's fixtures
lvm_vgs/lvm_pvs firecracker-loop-*), lvs of a Kubernetes node's thin pools
(lvm_lvs/deckhouse-thin-pools: every visible LV active). A fault puts on the host the
report an admin's action leaves: the VG filled up (the capture after `lvcreate -l
100%FREE`), a thin pool deactivated (its lv_attr as `lvchange -an` leaves it). Not
fixable here: lvchange has no LV to act on; the fix's plan is unit-tested
(tests/unit/test_lvm.py) and refuses on captures."""

from __future__ import annotations

from .base import ANY, CAPTURES, Fault

LVM_DIR = "/etc/fleetcheck-lab/lvm"
ACTIVE_POOL = '"lv_name":"thin-5", "vg_name":"vg-1", "lv_attr":"twi-a-tz--"'
INACTIVE_POOL = '"lv_name":"thin-5", "vg_name":"vg-1", "lv_attr":"twi---tz--"'

FAULTS = {
    "vg-full": Fault(ANY, "the volume group fcvg is filled up (lvcreate -l 100%FREE): the "
                     "host's vgs report shows no free extent", "lvm.vg_free", False),
    "lv-inactive": Fault(ANY, "the declared thin pool vg-1/thin-5 is deactivated (lvchange "
                         "-an): the host's lvs report shows it inactive", "lvm.lv_active",
                         False),
}


def _capture(name: str) -> str:
    return (CAPTURES / name).read_text()


def host_files(lab, h) -> dict[str, str]:
    """The healthy reports every host reads."""
    return {f"{LVM_DIR}/vgs.json": _capture("lvm_vgs/firecracker-loop-healthy.txt"),
            f"{LVM_DIR}/pvs.json": _capture("lvm_pvs/firecracker-loop-healthy.txt"),
            f"{LVM_DIR}/lvs.json": _capture("lvm_lvs/deckhouse-thin-pools.txt")}


def _vg_full(lab, h, heal):
    lab.put_file(h.name, f"{LVM_DIR}/vgs.json",
                 _capture("lvm_vgs/firecracker-loop-healthy.txt" if heal
                          else "lvm_vgs/firecracker-loop-full.txt"))


def _lv_inactive(lab, h, heal):
    text = _capture("lvm_lvs/deckhouse-thin-pools.txt")
    assert text.count(ACTIVE_POOL) == 1, "the capture changed: thin-5 not found once"
    lab.put_file(h.name, f"{LVM_DIR}/lvs.json",
                 text if heal else text.replace(ACTIVE_POOL, INACTIVE_POOL))
