"""Software RAID (md): every array active, complete and not rebuilding."""

import pytest


def _state(array) -> dict:
    return {
        "level": array.level, "state": array.state,
        "disks": f"{array.disks_active}/{array.disks_total}",
        "failed": array.disks_failed, "down": array.disks_down, "spare": array.disks_spare,
        "sync_action": array.sync_action, "sync_percent": array.sync_percent,
        "sync_finish_min": array.sync_finish_min,
    }


@pytest.mark.check("raid.md_healthy", severity="critical",
                   title="md RAID arrays are active, complete and not rebuilding")
def test_md_healthy(host, facts, evidence):
    md = facts.mdstat
    if not md.present:
        pytest.skip("no md driver: /proc/mdstat is absent")
    if not md.arrays:
        pytest.skip("no md arrays")
    broken, busy = [], []
    for array in md.arrays:
        evidence[array.name] = _state(array)
        if array.state != "active":
            broken.append(f"{array.name} is {array.state}")
        elif array.degraded:
            broken.append(f"{array.name} ({array.level}) degraded: "
                          f"{array.disks_active}/{array.disks_total} active, "
                          f"{array.disks_failed} failed")
        elif array.sync_action:
            done = "pending" if array.sync_percent is None else f"{array.sync_percent}%"
            eta = "" if array.sync_finish_min is None else f", ETA {array.sync_finish_min} min"
            busy.append(f"{array.name} {array.sync_action} {done}{eta}")
    if broken:
        evidence.advice = "mdadm --detail /dev/<array>; replace the failed member"
        pytest.fail("; ".join(broken + busy), pytrace=False)
    if busy:
        evidence.severity = "medium"  # a warning: redundancy is being restored or checked
        pytest.fail("; ".join(busy), pytrace=False)
