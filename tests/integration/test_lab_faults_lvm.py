"""The LVM area's lab faults (lab/faults/lvm.py), each seen by a probe on the host and
gone once healed, and capacity.iostat run for real on every lab host.

The lab's kernel has no device-mapper: no LV can be active and the hosts have no PV,
so each host reads real captured reports (lvm.report_dir) and a fault puts there the
report an admin's action leaves. Neither fault is fixable here (lvchange has no LV to
act on): the lvchange plan is proven by tests/unit/test_lvm.py, and it refuses on
captures (asserted below). iostat has no fault (a device cannot be made busy safely
in a shared lab; the busy case is a unit test on a captured sample): it runs here
over the hosts' real /proc/diskstats and passes."""

from __future__ import annotations

import pytest
from fleet import audit

pytestmark = pytest.mark.integration

LVM_DIR = "/etc/fleetcheck-lab/lvm"


def test_vg_full(healthy, ssh):
    ssh.toggles("web1", "vg-full", f"grep -o '\"vg_free\":\"[0-9]*\"' {LVM_DIR}/vgs.json",
                '"vg_free":"75497472"', '"vg_free":"0"')


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
