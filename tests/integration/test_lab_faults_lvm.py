"""The LVM area's lab faults (lab/faults/lvm.py), each seen by a probe on the host and
gone once healed, and capacity.iostat run for real on every lab host.

files1 has real LVM on two loop devices (metadata only: the lab's kernel has no
device-mapper, its lvm.conf says activation = 0): vg-full is a real lvcreate, pv-missing
a disk's node gone, each read back with the real vgs. The other hosts read real
captured reports (lvm.report_dir); lv-inactive puts there the report `lvchange -an`
leaves. None is fixable here (lvchange has no LV it could activate): the lvchange plan
is proven by tests/unit/test_lvm.py, and it refuses on captures (asserted below).
iostat has no fault (a device cannot be made busy safely in a shared lab; the busy
case is a unit test on a captured sample): it runs here over the hosts' real
/proc/diskstats and passes."""

from __future__ import annotations

import pytest
from fleet import audit

pytestmark = pytest.mark.integration

LVM_DIR = "/etc/fleetcheck-lab/lvm"


VGS = "vgs --noheadings --units b --nosuffix --separator : -o {} fcvg 2>/dev/null"


def test_vg_full(healthy, ssh):
    # 120 MiB of PVs, data 32M and logs 16M: 72 MiB free, then none
    ssh.toggles("files1", "vg-full", VGS.format("vg_free"), "75497472", "0")


def test_pv_missing(healthy, ssh):
    ssh.toggles("files1", "pv-missing", VGS.format("pv_count,vg_missing_pv_count"),
                "2:0", "2:1")


def test_files1_disks_are_real_and_pristine_after_a_reset(healthy, ssh):
    """Loop devices backed by the lab's own files, seen by lvm2 as fcvg's PVs; a reset
    host gets fresh disks (a fault's LV is gone with them)."""
    from lab.core import _loops_of

    loops = _loops_of(healthy.disks)
    assert len(loops) == 2 and all(p.startswith(str(healthy.disks)) for p in loops.values())
    pvs = ssh.out("files1", "pvs --noheadings -o pv_name,vg_name 2>/dev/null").split()
    assert pvs == [word for dev in loops for word in (dev, "fcvg")], pvs
    healthy.fault("files1", "vg-full")
    healthy.reset("files1")
    assert ssh.out("files1", VGS.format("vg_free")).strip() == "75497472"
    assert ("files1", "vg-full") not in healthy.faults


def test_lv_inactive_is_idempotent(healthy, ssh):
    probe = f"grep -c '\"thin-5\", \"vg_name\":\"vg-1\", \"lv_attr\":\"twi---tz--\"' " \
            f"{LVM_DIR}/lvs.json || true"
    healthy.fault("web1", "lv-inactive")
    healthy.fault("web1", "lv-inactive")
    assert ssh.out("web1", probe).strip() == "1", "applied twice: one inactive pool"
    healthy.heal("web1", "lv-inactive")
    ssh.toggles("web1", "lv-inactive", probe, "0", "1")


def test_lv_inactive_is_not_fixed_on_a_capture(healthy, tmp_path):
    healthy.fault("web1", "lv-inactive")
    try:
        rc, records, out = audit(tmp_path, "-k", "lvm", "--remediate", "--limit", "web1")
        mine = {r["check_id"]: r for r in records if r["host"] == "web1"}
        assert mine["lvm.lv_active"]["outcome"] == "failed", out
        # refused, with its reason in the record (results.json)
        assert "report_dir is set" in str(mine["lvm.lv_active"]), mine["lvm.lv_active"]
    finally:
        healthy.heal("web1", "lv-inactive")


def test_iostat_runs_and_passes_on_every_host(healthy, tmp_path):
    rc, records, out = audit(tmp_path, "-k", "iostat")
    judged = {r["host"]: r["outcome"] for r in records if r["check_id"] == "capacity.iostat"}
    assert judged == {name: "passed" for name in healthy.hosts}, out
