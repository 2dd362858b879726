"""LVM (LPIC-2 204.3), from lvm2's JSON reports (`vgs`, `lvs -a`, `pvs --reportformat
json`, explicit fields, sizes in bytes): free space per volume group (lvm.vg_free),
logical volumes active (lvm.lv_active), thin pools' data and metadata (lvm.thin),
classic snapshots filling up (lvm.snapshots) and physical volumes gone (lvm.pv_missing).

Five checks rather than findings inside two: each risk has its own severity and its
own remedy (a VG short of room is capacity planning, low until it is critical; a full
thin pool or a missing PV is an outage, high), and a site may waive or turn off one
(`lvm.<key>: null`) without losing the others. Not applicable where lvm2 is not
installed or no volume group exists. Var `lvm` (fleetcheck.facts.lvm.VARS)."""

import fnmatch

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts.lvm import settings
from fleetcheck.facts.lvm_lvs import STATES
from fleetcheck.thresholds import CRIT, evaluate

GIB = 1024 ** 3


def _report(facts, name, what, evidence):
    """The report fact; not applicable where lvm2 is not installed."""
    report = facts.get(name)
    if not report.installed:
        pytest.skip("lvm2 is not installed (no vgs/lvs/pvs)")
    evidence.add(source="captured reports (lvm.report_dir)" if report.capture
                 else f"{what} --reportformat json")
    return report


def _judge(measured, thresholds, crit_severity):
    """(severity, text) of each breach: a warning low, a critical the given severity."""
    pairs = {k: {lv: x for lv, x in v.items() if x is not None}
             for k, v in thresholds.items() if isinstance(v, dict)}
    usable = {k: v for k, v in pairs.items() if ("warn" in v and "crit" in v)
              or (v and any(isinstance(x, str) for x in v.values()))}
    levels, breaches = evaluate(measured, usable)
    return levels, [(crit_severity if levels[k] == CRIT else "low", text)
                    for k, text in zip([k for k in levels if levels[k] != "ok"], breaches)]


@pytest.mark.check("lvm.vg_free", severity="medium",
                   facts=[when_set("lvm", "lvm_vgs", key="vg_free")],
                   title="free space per volume group within thresholds",
                   compare={"volume groups": (None, "vgs"), "read from": (None, "source")})
def test_vg_free(host, facts, evidence):
    """Free space of every volume group (`vgs`: vg_free of vg_size) against
    `lvm.vg_free.free_pct` and `free_gib` (lower is worse; per VG by glob in
    `lvm.vg_free.vgs`): a VG without room cannot take a snapshot for a backup, a
    pvmove off a failing disk, or an lvextend when a filesystem fills up. A warning is
    low, a critical breach medium. Advice: vgextend with a new PV, or lvreduce what is
    over-allocated."""
    conf = settings(host.vars, "vg_free")
    if conf is None:
        pytest.skip("VG free space is not judged (lvm.vg_free is null)")
    report = _report(facts, "lvm_vgs", "vgs", evidence)
    if not report.vgs:
        pytest.skip("no volume group")
    per_vg, problems = {}, []
    for vg in report.vgs:
        thresholds = {k: v for k, v in conf.items() if k != "vgs"}
        for pattern, override in (conf.get("vgs") or {}).items():
            if fnmatch.fnmatchcase(vg.name, str(pattern)) and isinstance(override, dict):
                thresholds.update(override)   # a null threshold: not judged on it
        measured = {"free_pct": vg.free_pct, "free_gib": round(vg.free / GIB, 2)}
        levels, found = _judge(measured, thresholds, "medium")
        per_vg[vg.name] = dict(measured, size_gib=round(vg.size / GIB, 2), levels=levels)
        problems += [(sev, f"{vg.name}: {text}") for sev, text in found]
    evidence.add(vgs=per_vg)
    if problems:
        evidence.advice = "vgextend VG /dev/NEWPV (pvcreate it first), or lvreduce an " \
                          "over-allocated LV (shrink its filesystem first)"
    evidence.judge(problems)


@pytest.mark.check("lvm.lv_active", severity="medium",
                   facts=[when_set("lvm", "lvm_lvs", key="lv_active")],
                   title="logical volumes active (every one, or the declared ones)",
                   compare={"logical volumes": ("declared", "states"),
                            "read from": (None, "source")})
def test_lv_active(host, facts, evidence):
    """Every logical volume active (`lvs -a`: lv_attr's state letter; `lvm.lv_active.all`,
    hidden LVs `[name]`, those flagged activation-skip and `lvm.lv_active.ignore` left
    out) and each of `lvm.lv_active.declared` (VG/LV) present and active. Inactive
    (not activated at boot: a VG left out of auto_activation_volume_list, a late PV) is
    medium; suspended, a device without its table, or a state device-mapper did not
    report is high: I/O to it hangs or the LV cannot be used. --remediate activates the
    declared inactive LVs (`lvchange -ay -- VG/LV`), never a capture's."""
    conf = settings(host.vars, "lv_active")
    if conf is None:
        pytest.skip("LV activation is not judged (lvm.lv_active is null)")
    report = _report(facts, "lvm_lvs", "lvs -a", evidence)
    declared = [str(d) for d in conf.get("declared") or ()]
    ignore = [str(g) for g in conf.get("ignore") or ()]
    judged = {lv.full_name: lv for lv in report.lvs if lv.full_name in declared or (
        conf.get("all", True) and not lv.hidden and not lv.skip_activation
        and lv.state != "h" and not any(fnmatch.fnmatchcase(lv.full_name, g) for g in ignore))}
    if not judged and not declared:
        pytest.skip("no logical volume to judge")
    evidence.add(states={name: STATES[lv.state] for name, lv in judged.items()},
                 declared=declared)
    problems = [("medium", f"{name} is declared and does not exist")
                for name in declared if name not in judged]
    for name, lv in judged.items():
        if lv.active:
            continue
        problems.append(("medium" if lv.state == "-" else "high",
                         f"{name} is {STATES[lv.state]}"))
    if any(lv.state == "-" for lv in judged.values()):
        evidence.advice = "lvchange -ay VG/LV (and check why boot did not: lvm.conf " \
                          "auto_activation_volume_list, the PV's arrival)"
    evidence.judge(problems)


@pytest.mark.check("lvm.thin", severity="high", facts=[when_set("lvm", "lvm_lvs", key="thin")],
                   title="thin pools' data and metadata use within thresholds",
                   compare={"thin pools": (None, "pools"), "read from": (None, "source")})
def test_thin(host, facts, evidence):
    """Data and metadata use of every thin pool (`lvs`: data_percent, metadata_percent of
    the LVs of type t) against `lvm.thin.data_pct` and `metadata_pct`: a pool out of
    data space errors (or queues) every write of every thin LV in it, and full metadata
    can leave the pool unusable until thin_repair. The pool's own health letter (out of
    data space, metadata read-only, failed) is high whatever the numbers. A warning is
    low, a critical breach high."""
    conf = settings(host.vars, "thin")
    if conf is None:
        pytest.skip("thin pools are not judged (lvm.thin is null)")
    report = _report(facts, "lvm_lvs", "lvs -a", evidence)
    pools = [lv for lv in report.lvs if lv.thin_pool]
    if not pools:
        pytest.skip("no thin pool")
    per_pool, problems = {}, []
    flags = {"D": "out of data space", "M": "metadata read only", "F": "failed"}
    for pool in pools:
        measured = {"data_pct": pool.data_pct, "metadata_pct": pool.metadata_pct}
        levels, found = _judge(measured, conf, "high")
        per_pool[pool.full_name] = dict(measured, levels=levels, state=STATES[pool.state])
        problems += [(sev, f"{pool.full_name}: {text}") for sev, text in found]
        if pool.health in flags:
            problems.append(("high", f"{pool.full_name}: {flags[pool.health]}"))
    evidence.add(pools=per_pool)
    if problems:
        evidence.advice = "lvextend -L +SIZE VG/POOL (data) or lvextend --poolmetadatasize " \
                          "+SIZE VG/POOL; thin_pool_autoextend_threshold in lvm.conf"
    evidence.judge(problems)


@pytest.mark.check("lvm.snapshots", severity="medium",
                   facts=[when_set("lvm", "lvm_lvs", key="snapshots")],
                   title="classic snapshots not filling up or invalid",
                   compare={"snapshots": (None, "snapshots"),
                            "read from": (None, "source")})
def test_snapshots(host, facts, evidence):
    """COW space used by every classic snapshot (`lvs`: data_percent of the LVs of type
    s) against `lvm.snapshots.used_pct`: a snapshot whose COW area fills up is
    invalidated and what it held is lost (a backup reading it fails). An invalid one
    (state I/S) or one whose merge failed is high. Thin snapshots use their pool's
    space: lvm.thin judges it."""
    conf = settings(host.vars, "snapshots")
    if conf is None:
        pytest.skip("snapshots are not judged (lvm.snapshots is null)")
    report = _report(facts, "lvm_lvs", "lvs -a", evidence)
    snaps = [lv for lv in report.lvs if lv.cow_snapshot]
    if not snaps:
        pytest.skip("no classic snapshot")
    per_snap, problems = {}, []
    for snap in snaps:
        if snap.state in "ISmM":
            problems.append(("high", f"{snap.full_name} (of {snap.origin or '?'}): "
                             f"{STATES[snap.state]}"))
        levels, found = _judge({"used_pct": snap.data_pct}, conf, "medium")
        per_snap[snap.full_name] = {"origin": snap.origin, "used_pct": snap.data_pct,
                                    "levels": levels, "state": STATES[snap.state]}
        problems += [(sev, f"{snap.full_name}: {text}") for sev, text in found]
    evidence.add(snapshots=per_snap)
    if problems:
        evidence.advice = "lvextend -L +SIZE VG/SNAP, or lvremove it once the backup is " \
                          "done; snapshot_autoextend_threshold in lvm.conf"
    evidence.judge(problems)


def _pvs(host, item):
    if settings(host.vars, "pv_missing") is not False:
        yield "lvm_pvs"


@pytest.mark.check("lvm.pv_missing", severity="high", facts=[_pvs],
                   title="no physical volume of a volume group is missing",
                   compare={"missing PVs (their VG)": (None, "missing"),
                            "PVs": (None, "pvs")})
def test_pv_missing(host, facts, evidence):
    """Every physical volume a VG's metadata names is present (`pvs`: pv_missing, the
    `m` of pv_attr, `[unknown]` names): with one gone the VG is partial, LVs on it
    cannot be activated (or run degraded, for raid/mirror), and a vgreduce
    --removemissing loses what they held. High. `lvm.pv_missing: false` turns it off."""
    if settings(host.vars, "pv_missing") is False:
        pytest.skip("missing PVs are not judged (lvm.pv_missing is false)")
    report = _report(facts, "lvm_pvs", "pvs", evidence)
    if not report.pvs:
        pytest.skip("no physical volume")
    missing = report.missing
    evidence.add(pvs={pv.name if not pv.missing else f"{pv.name} #{i}": pv.vg
                      for i, pv in enumerate(report.pvs)},
                 missing=[pv.vg for pv in missing])
    if missing:
        evidence.advice = "find the disk (dmesg, cabling, multipath); pvscan --cache; " \
                          "vgreduce --removemissing only once its data is given up"
    evidence.judge([("high", f"a PV of VG {pv.vg} is missing (pv_name {pv.name})")
                     for pv in missing])
