"""Software RAID (md): every array active, complete and not rebuilding, and the arrays
the inventory declares (var `raid: {arrays: [{name: md0, level: raid1, devices: 2}]}`)
present as declared.

Degraded (critical) means what the kernel means: the array lacks redundancy (a `_`
slot, fewer active disks than raid disks), or is inactive. A faulty device outside a
complete active set (`[5/5] [UUUUU]` beside `sdh1[5](F)`) is a failed spare: a warning
(medium) to remove and replace it. An IMSM/DDF container (`super external:imsm`) is
inactive by nature and is not a finding; the arrays inside it are checked as any."""

import pytest


def _state(array) -> dict:
    return {
        "level": array.level, "state": array.state,
        "disks": f"{array.disks_active}/{array.disks_total}",
        "failed": array.disks_failed, "down": array.disks_down, "spare": array.disks_spare,
        "sync_action": array.sync_action, "sync_percent": array.sync_percent,
        "sync_finish_min": array.sync_finish_min,
        "failed_spares": array.failed_spares,
        "failed_devices": [m.name for m in array.members if m.role == "faulty"],
        "container": array.container, "member_of": array.member_of,
        "metadata": array.metadata,
    }


def _against_declared(md, declared) -> tuple[list[str], list[str]]:
    """(missing arrays: critical, level or member count other than declared: high)."""
    present = {a.name: a for a in md.arrays}
    missing, different = [], []
    for want in declared:
        name = str(want["name"]).removeprefix("/dev/")
        array = present.get(name)
        if array is None:
            missing.append(f"{name} is missing")
            continue
        if want.get("level") and array.level != want["level"]:
            different.append(f"{name} is {array.level}, declared {want['level']}")
        if want.get("devices") and array.disks_total != int(want["devices"]):
            different.append(f"{name} has {array.disks_total} members, "
                             f"declared {want['devices']}")
    return missing, different


@pytest.mark.check("raid.md_healthy", severity="critical", facts=["mdstat"],
                   title="md RAID arrays are active, complete and not rebuilding",
                   compare={"arrays": ("declared", None)})
def test_md_healthy(host, facts, evidence):
    """`/proc/mdstat` (var `raid.mdstat_path`): every array active and not degraded, as
    the kernel counts it (`/sys/block/mdX/md/degraded`: a `_` slot, fewer active disks
    than raid disks) or inactive (critical); the arrays of `raid.arrays` present with
    their declared level and member count (high); a resync, recovery or check running,
    and a faulty device outside a complete active set (`[5/5] [UUUUU]` beside
    `sdh1[5](F)`: a *failed spare*, to remove and replace) are medium; an IMSM/DDF
    container (`super external:imsm`) is inactive by nature and no finding, the arrays
    inside it are checked like any. Not applicable without the md driver or arrays
    (unless some are declared)."""
    declared = host.vars.get("raid", {}).get("arrays") or []
    md = facts.mdstat
    evidence["declared"] = [str(a.get("name")) for a in declared]
    if not md.present and not declared:
        pytest.skip("no md driver: /proc/mdstat is absent")
    if not md.arrays and not declared:
        pytest.skip("no md arrays")
    broken, busy, spares = [], [], []
    for array in md.arrays:
        evidence[array.name] = _state(array)
        if array.container:
            continue  # an IMSM/DDF container: inactive is its normal state
        if array.state != "active":
            broken.append(f"{array.name} is {array.state}")
        elif array.degraded:
            broken.append(f"{array.name} ({array.level}) degraded: "
                          f"{array.disks_active}/{array.disks_total} active, "
                          f"{array.disks_failed} failed")
        else:
            if array.sync_action:
                done = "pending" if array.sync_percent is None else f"{array.sync_percent}%"
                eta = ("" if array.sync_finish_min is None
                       else f", ETA {array.sync_finish_min} min")
                busy.append(f"{array.name} {array.sync_action} {done}{eta}")
            if array.failed_spares:
                faulty = ", ".join(m.name for m in array.members if m.role == "faulty")
                spares.append(f"{array.name} ({array.level}) complete "
                              f"({array.disks_active}/{array.disks_total}) but lists "
                              f"{array.failed_spares} failed spare(s) outside the active "
                              f"set: {faulty}")
    missing, different = _against_declared(md, declared)
    problems = broken + missing + different + busy + spares
    if broken or missing:
        evidence.advice = "cat /proc/mdstat; mdadm --detail /dev/<array>; replace the failed member"
    elif different:
        evidence.severity = "high"
        evidence.advice = "mdadm --detail /dev/<array>: was the array rebuilt differently?"
    elif busy or spares:
        # a warning: redundancy is being restored or checked, or a failed device that
        # no longer holds a slot waits to be removed and replaced
        evidence.severity = "medium"
        if spares:
            evidence.advice = ("mdadm /dev/<array> --remove failed; replace the disk and "
                               "mdadm /dev/<array> --add /dev/<new> (a new spare)")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
