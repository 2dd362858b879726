"""The LVM area's lab faults (lvm.*).

files1 (the file server) has real LVM: two 64 MiB loop devices the lab attaches for
it (lab/core.py _attach_disks, fresh at each start), made PVs of the volume group
fcvg with two LVs (data 32M, logs 16M) by its boot step. The lab's kernel has no
device-mapper, so files1's lvm.conf says `activation = 0`: lvm2 does every metadata
operation (pvcreate, vgcreate, lvcreate, lvremove, the reports) and activates
nothing. So lvm.vg_free and lvm.pv_missing are judged there on what the real vgs and
pvs say, and its faults are what an admin's action or a lost disk leaves: the VG
filled up by a real `lvcreate -l 100%FREE`, a PV gone (its disk's device node
removed, as a pulled disk leaves the host). No LV can be active there, so files1 does
not judge lvm.lv_active (the lab inventory turns it off).

The other hosts read real captured reports (the lab inventory's lvm.report_dir): vgs
and pvs of the same two loop-device PVs (fleetcheck's fixtures lvm_vgs/lvm_pvs
firecracker-loop-*), lvs of a Kubernetes node's thin pools (lvm_lvs/deckhouse-thin-
pools: every visible LV active); lv-inactive puts there the lvs report `lvchange -an`
leaves. Not fixable: the fix's plan is unit-tested (tests/unit/test_lvm.py) and
refuses on captures; vg-full and pv-missing have no safe fix (more room is a new
disk, a lost PV a replaced one)."""

from __future__ import annotations

from .base import CAPTURES, Fault

LVM_DIR = "/etc/fleetcheck-lab/lvm"
ACTIVE_POOL = '"lv_name":"thin-5", "vg_name":"vg-1", "lv_attr":"twi-a-tz--"'
INACTIVE_POOL = '"lv_name":"thin-5", "vg_name":"vg-1", "lv_attr":"twi---tz--"'

VG = "fcvg"
DISK_MIB = (64, 64)
LVS = (("data", "32M"), ("logs", "16M"))
DEVICES = "/etc/fleetcheck-lab/devices"   # `b|c NAME MAJOR MINOR` (lab/core.py)
# lvm2 without udev and without device-mapper: devices found by scanning /dev (only the
# lab's loop devices), metadata operations only
LVM_CONF = """# fleetcheck lab (lab/faults/lvm.py): no udev, no device-mapper in this kernel
devices {
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
    global_filter = [ "a|^/dev/loop[0-9]+$|", "r|.*|" ]
    use_devicesfile = 0
}
global {
    activation = 0
}
activation {
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}
"""
# files1's boot: its fresh disks become the PVs of fcvg with the LVs of LVS
BOOT = f"""# lab/faults/lvm.py: fcvg on the host's loop-device disks
set -- $(awk '$1 == "b" {{print "/dev/" $2}}' {DEVICES})
if [ $# -gt 0 ] && ! vgs {VG} >/dev/null 2>&1; then
  pvcreate -q "$@" && vgcreate -q {VG} "$@" && {' && '.join(
      f'lvcreate -q -y -an -Zn -L {size} -n {name} {VG}' for name, size in LVS)}
fi
"""
FILL = "fill"   # the LV vg-full creates

FAULTS = {
    "vg-full": Fault("fileservers", f"the volume group {VG} is filled up: lvcreate -l "
                     f"100%FREE -n {FILL} {VG} (real lvm2, on the host's loop-device PVs)",
                     "lvm.vg_free", False),
    "pv-missing": Fault("fileservers", f"the second PV of {VG} is gone: its disk's device "
                        "node is removed, as a pulled disk leaves the host (vgs: "
                        "vg_missing_pv_count 1)", "lvm.pv_missing", False),
    "lv-inactive": Fault("web", "the declared thin pool vg-1/thin-5 is deactivated (lvchange "
                         "-an): the host's lvs report shows it inactive", "lvm.lv_active",
                         False),
}


def _capture(name: str) -> str:
    return (CAPTURES / name).read_text()


def disks(h) -> list[int]:
    """files1's two disks (MiB); no other host has one."""
    return list(DISK_MIB) if h.has("fileservers") else []


def host_files(lab, h) -> dict[str, str]:
    """files1: its lvm.conf and boot step; the others: the healthy reports they read."""
    if disks(h):
        return {"/etc/lvm/lvm.conf": LVM_CONF, "/etc/fleetcheck-lab/boot.d/lvm.sh": BOOT}
    return {f"{LVM_DIR}/vgs.json": _capture("lvm_vgs/firecracker-loop-healthy.txt"),
            f"{LVM_DIR}/pvs.json": _capture("lvm_pvs/firecracker-loop-healthy.txt"),
            f"{LVM_DIR}/lvs.json": _capture("lvm_lvs/deckhouse-thin-pools.txt")}


def _vg_full(lab, h, heal):
    if heal:
        lab.sh(h.name, f"! lvs {VG}/{FILL} >/dev/null 2>&1 || lvremove -q -y {VG}/{FILL}")
    else:
        lab.sh(h.name, f"lvs {VG}/{FILL} >/dev/null 2>&1 || "
                       f"lvcreate -q -y -an -Zn -l 100%FREE -n {FILL} {VG}")


def _pv_missing(lab, h, heal):
    """The second disk's node goes (heal: it is made again as the devices file says)."""
    disks = [line.split()[1:] for line in lab.read_file(h.name, DEVICES).splitlines()
             if line.startswith("b ")]
    dev, major, minor = disks[1]
    if heal:
        lab.sh(h.name, f"[ -b /dev/{dev} ] || mknod -m 660 /dev/{dev} b {major} {minor}")
    else:
        lab.sh(h.name, f"rm -f /dev/{dev}")


def _lv_inactive(lab, h, heal):
    text = _capture("lvm_lvs/deckhouse-thin-pools.txt")
    assert text.count(ACTIVE_POOL) == 1, "the capture changed: thin-5 not found once"
    lab.put_file(h.name, f"{LVM_DIR}/lvs.json",
                 text if heal else text.replace(ACTIVE_POOL, INACTIVE_POOL))
