"""Filesystems (LPIC-2 203): every fstab filesystem mounted (fs.mounted), swap as
declared (fs.swap), the automounter's maps (fs.automount), the disks' SMART health
(fs.smart), and (fs.read_only) none remounted read-only behind fstab's back, the
world-writable temporary directories mounted with their hardening options (var
`fs_baseline`, one item per rule).

    fs_baseline:
      remounted_ro: {ignore: []}           # mount points (globs) not judged
      mount_options:
        severity: low
        require_separate: false            # true: a mount point on / fails (CIS 1.1.2.1)
        mounts: {/tmp: [nodev, nosuid, noexec], /dev/shm: [nodev, nosuid, noexec]}

No fix: remounting read-write a filesystem the kernel stopped writing after errors
would write over the damage (it needs fsck, and often a disk), and changing the
options of a mounted /tmp under running programs (or in fstab, for the next boot) is
a change to plan, not to apply in passing.
"""

import fnmatch

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts import automount as automount_fact
from fleetcheck.facts import smart as smart_fact
from fleetcheck.facts import swaps as swaps_fact
from fleetcheck.facts.fs_common import settings as _settings
from fleetcheck.facts.fstab_verify import VAR as MOUNTED_VAR
from fleetcheck.facts.fstab_verify import VARS as MOUNTED_VARS
from fleetcheck.facts.fstab_verify import judged_fstab
from fleetcheck.facts.mounts import normal_target, settings


def _remounted_ro(host, mounts, conf, evidence):
    """Each fstab filesystem that fstab mounts read-write (no `ro`) and is mounted
    read-only now (`ro`, or ext4's `emergency_ro`): the kernel remounted it after I/O
    or filesystem errors (errors=remount-ro), or someone did by hand; either way the
    programs writing there are failing. Swap and entries that are not mounted are not
    judged (a `noauto` one is not mounted on purpose)."""
    ignore = [normal_target(p) for p in conf.get("ignore") or []]
    judged, broken = {}, []
    for entry in mounts.fstab:
        target = normal_target(entry.target)
        if entry.fstype == "swap" or not target.startswith("/") or entry.read_only:
            continue
        if any(fnmatch.fnmatchcase(target, p) for p in ignore):
            continue
        live = mounts.mounted(target)
        judged[target] = "not mounted" if live is None else ",".join(live.options)
        if live is not None and live.read_only:
            broken.append(target)
    evidence.add(fstab_read_write=judged, ignored=ignore)
    evidence.advice = "dmesg | grep -i -e error -e remount; fsck from a rescue system"
    assert not broken, (f"mounted read-only, though fstab mounts read-write: "
                        f"{', '.join(broken)}")


def _mount_options(host, mounts, conf, evidence):
    """Each declared mount point (`mounts`) is mounted with its options: CIS 1.1.2
    wants nodev, nosuid and noexec on /tmp, /var/tmp and /dev/shm, the directories
    every user may write, so a file dropped there cannot be a device, a setuid binary
    or a program run from there. Low by default (`severity`): hardening, not an
    outage. A mount point that is no filesystem of its own (/tmp on /, the stock
    Debian and RHEL install) has no options of its own to judge: reported, failed
    only with `require_separate: true` (CIS wants a separate /tmp; many boxes
    reasonably don't)."""
    evidence.severity = conf.get("severity") or "low"
    require_separate = conf.get("require_separate") is True
    found, problems = {}, []
    for point, wanted in (conf.get("mounts") or {}).items():
        if wanted is None:
            continue
        live = mounts.mounted(point)
        if live is None:
            found[point] = "not a separate filesystem"
            if require_separate:
                problems.append(f"{point} is not a separate filesystem")
            continue
        missing = [o for o in wanted if o not in live.options]
        found[point] = {"options": live.options, "missing": missing}
        if missing:
            problems.append(f"{point} is mounted without {','.join(missing)}")
    evidence.add(mounts=found, require_separate=require_separate)
    evidence.advice = "mount -o remount,nodev,nosuid,noexec POINT; the same options in fstab"
    assert not problems, "; ".join(problems)


RULES = {"remounted_ro": _remounted_ro, "mount_options": _mount_options}


@pytest.mark.check("fs.read_only", severity="high", items="fs_baseline", facts=["mounts"],
                   title="no filesystem remounted read-only; temp mounts hardened",
                   compare={"read-write in fstab": (None, "fstab_read_write"),
                            "mount options": ("require_separate", "mounts")})
def test_fs(host, facts, item, evidence):
    """One item per rule of the var `fs_baseline` (a rule null: not judged). `remounted_ro`
    (high): a filesystem fstab mounts read-write is mounted read-only. `mount_options`
    (low by default): the declared mount points have their options. Live mounts and
    fstab from `findmnt -J -l` (fleetcheck/facts/mounts.py)."""
    rule = RULES.get(item)
    if rule is None:
        pytest.fail(f"fs_baseline.{item} is not a rule of fs.read_only (known: "
                    f"{', '.join(RULES)})", pytrace=False)
    conf = settings(host.vars, item)
    if conf is None:
        pytest.skip(f"rule fs_baseline.{item} is null")
    evidence.add(rule=item)
    rule(host, facts.mounts, conf, evidence)


# -- fs.mounted, fs.swap, fs.automount, fs.smart (LPIC-2 203) --------------------------

# fstab's type and the kernel's for the same filesystem
_SAME_FSTYPE = {"nfs": {"nfs", "nfs4"}, "nfs4": {"nfs", "nfs4"}}


@pytest.mark.check("fs.mounted", severity="high", facts=[when_set(MOUNTED_VAR, "mounts")],
                   title="every fstab filesystem is mounted, with its fstab options",
                   compare={"fstab entries": ("options_judged", "fstab"),
                            "left out": (None, "ignored")})
def test_fs_mounted(host, facts, evidence):
    """Each /etc/fstab entry that is not `noauto` (nor swap) is mounted (high: what
    should land on that filesystem is written into the directory beneath it, on the
    root filesystem, or is missing: a backup disk, an NFS share), as the fstab type
    (medium), with the fstab options of var `fs_mounted.options` that the kernel shows
    (ro, nodev, nosuid, noexec, noatime: low, ro medium). A rw entry mounted read-only
    is fs.read_only's finding, not this one. A systemd automount point (autofs at the
    target, x-systemd.automount) counts as mounted. From `findmnt -J` and `findmnt
    --fstab -J` (fleetcheck/facts/mounts.py). --remediate mounts an unmounted entry
    (`mount -- PATH`) once `findmnt --verify` finds no error in fstab."""
    conf = _settings(host.vars, MOUNTED_VAR, MOUNTED_VARS)
    if conf is None:
        pytest.skip("fstab's mounts are not judged (fs_mounted is null)")
    mounts = facts.mounts
    judged_options = list(conf.get("options") or [])
    judged, problems = {}, []
    for target, entry in judged_fstab(mounts, conf):
        live = mounts.mounted(target)
        if live is None:
            judged[target] = "not mounted"
            problems.append(("high", f"{target} is not mounted (fstab: {entry.source} "
                             f"{entry.fstype})"))
            continue
        if live.fstype == "autofs" and "x-systemd.automount" in entry.options:
            judged[target] = "systemd automount point"
            continue
        judged[target] = {"fstype": live.fstype, "options": live.options}
        wanted = entry.fstype
        if wanted not in ("auto", "none") and "," not in wanted and "bind" not in entry.options \
                and live.fstype not in _SAME_FSTYPE.get(wanted, {wanted}):
            problems.append(("medium", f"{target} is mounted as {live.fstype}, fstab says "
                             f"{wanted}"))
        missing = [o for o in judged_options if o in entry.options and o not in live.options]
        if missing:
            problems.append(("medium" if "ro" in missing else "low",
                             f"{target} is mounted without {','.join(missing)} (in fstab)"))
    if not judged:
        pytest.skip("no fstab entry to judge (none, or only swap, noauto and ignored ones)")
    evidence.add(fstab=judged, ignored=list(conf.get("ignore") or []),
                 options_judged=judged_options)
    if any(v == "not mounted" for v in judged.values()):
        evidence.advice = "findmnt --verify; mount PATH (dmesg if it fails)"
    evidence.judge(problems)


@pytest.mark.check("fs.swap", severity="medium", facts=[when_set(swaps_fact.VAR, "swaps")],
                   title="swap active as declared (fstab entries, devices, total)",
                   compare={"swap": ("path", "active"),
                            "total (MiB)": (None, "total_mib"),
                            "in fstab": (None, "fstab")})
def test_fs_swap(host, facts, evidence):
    """/proc/swaps against what the host declares: every /etc/fstab swap entry that is
    not `noauto` active (sources evaluated: UUID=, /dev/mapper/* as the kernel names
    them) with its `pri=` (low), each device of `fs_swap.devices` active with its
    priority, at least one area when `fs_swap.required`, and at least
    `fs_swap.min_total_mb` in all (medium: a host without its swap is killed by the
    OOM killer where it used to page out). Not applicable where nothing is declared
    and fstab has no swap (the default: swap is a choice). `fs_swap.path` reads a
    captured /proc/swaps instead (the lab: swap is the shared kernel's). --remediate
    runs `swapon` for an fstab entry that is not active, never on a capture."""
    conf = swaps_fact.settings(host.vars)
    if conf is None:
        pytest.skip("swap is not judged (fs_swap is null)")
    sw = facts.swaps
    devices = dict(conf.get("devices") or {})
    fstab = [e for e in (sw.fstab or []) if not e.noauto] if conf.get("fstab") else []
    minimum = conf.get("min_total_mb")
    if not (conf.get("required") or devices or fstab or minimum):
        pytest.skip("no swap declared (fs_swap) and none in fstab")
    evidence.add(active={a.path: {"type": a.type, "size_kib": a.size_kib,
                                  "used_kib": a.used_kib, "priority": a.priority}
                         for a in sw.active},
                 total_mib=sw.total_kib // 1024, path=conf.get("path"),
                 fstab={e.source: e.device for e in fstab})
    problems = []
    if conf.get("required") and not sw.active:
        problems.append(("medium", "no swap is active"))
    wanted = [(path, prio, f"declared swap {path}") for path, prio in devices.items()]
    wanted += [((e.source, e.device), e.priority, f"fstab swap {e.source}") for e in fstab]
    for names, prio, what in wanted:
        area = sw.area(*(names if isinstance(names, tuple) else (names,)))
        if area is None:
            problems.append(("medium", f"{what} is not active"))
        elif prio is not None and area.priority != prio:
            problems.append(("low", f"{what} has priority {area.priority}, declared {prio}"))
    if minimum and sw.total_kib < minimum * 1024:
        problems.append(("medium", f"{sw.total_kib // 1024} MiB of swap active, at least "
                         f"{minimum} MiB declared"))
    if problems:
        evidence.advice = "swapon --show; swapon -a (fstab); mkswap a missing area first"
    evidence.judge(problems)


@pytest.mark.check("fs.automount", severity="medium",
                   facts=[when_set(automount_fact.VAR, "automount")],
                   title="autofs runs, its maps read and the declared keys resolve",
                   compare={"mount points": ("declared", "mount_points"),
                            "automount daemon": (None, "daemon"),
                            "messages": (None, "messages")})
def test_fs_automount(host, facts, evidence):
    """autofs as `automount -m` reads it (every map of /etc/auto.master and its
    includes, without the daemon): each mount point's map is read (a missing map file,
    a program map not executable, a directory service down: medium), each key of var
    `fs_automount.maps` (mount point -> keys) is in its map with a location to mount
    (an entry of options alone fails at mount time), and the automount daemon runs
    when the master map has a mount point (`fs_automount.running`, high: nothing under
    it mounts). Not applicable where autofs is not installed and nothing is declared.
    No fix: a map is the admin's data."""
    conf = automount_fact.settings(host.vars)
    if conf is None:
        pytest.skip("autofs is not judged (fs_automount is null)")
    am = facts.automount
    maps = {mp: keys for mp, keys in (conf.get("maps") or {}).items() if keys is not None}
    if not am.installed:
        if maps:
            pytest.fail(f"autofs is not installed, maps are declared for "
                        f"{', '.join(maps)}", pytrace=False)
        pytest.skip("autofs is not installed (no automount)")
    if not am.mounts and not maps:
        pytest.skip("autofs is installed; its master map has no mount point")
    evidence.add(mount_points={m.path: m.failed or [s.maps for s in m.sources]
                               for m in am.mounts},
                 daemon=am.pids, messages=am.messages, declared=maps)
    problems = [("medium", f"{m.path}: {m.failed}") for m in am.mounts if m.failed]
    for point, keys in maps.items():
        mount = am.mount(point)
        if mount is None:
            problems.append(("medium", f"{point} is not a mount point of the master map"))
            continue
        if mount.failed:
            continue
        for key in keys:
            entry = mount.entry(str(key))
            if entry is None:
                problems.append(("medium", f"{point}: key {key} is not in its map"))
            elif automount_fact.location_of(entry) is None:
                problems.append(("medium", f"{point}: key {key} has no location to "
                                 f"mount ({entry!r})"))
    if conf.get("running") and am.mounts and am.pids == []:
        problems.append(("high", "the automount daemon is not running: nothing under "
                         f"{', '.join(m.path for m in am.mounts)} mounts"))
    if problems:
        evidence.advice = "automount -m; the map files; service autofs reload"
    evidence.judge(problems)


@pytest.mark.check("fs.smart", severity="high", facts=[when_set(smart_fact.VAR, "smart")],
                   title="every disk's SMART health, bad sectors and temperature",
                   compare={"disks": (None, "disks"), "left out": (None, "ignored")})
def test_fs_smart(host, facts, evidence):
    """`smartctl -H -A -j` of each disk `smartctl --scan` finds: the overall-health self
    assessment FAILED (critical: the disk predicts its own failure), pending or
    offline-uncorrectable sectors above `fs_smart.pending_max` (high: data unreadable
    now), reallocated sectors above `fs_smart.reallocated_max` (medium: the disk is
    remapping), NVMe critical warnings (high) and media errors (medium), the
    temperature at `fs_smart.temperature` warn (low) or crit (high). Not applicable
    where smartctl is not installed or sees no disk (a VM, a container). `fs_smart.path`
    reads captured JSON instead (the lab). No fix: a failing disk is replaced."""
    conf = smart_fact.settings(host.vars)
    if conf is None:
        pytest.skip("SMART is not judged (fs_smart is null)")
    sm = facts.smart
    if not sm.installed:
        pytest.skip("smartctl (smartmontools) is not installed")
    ignore = set(conf.get("ignore") or [])
    disks = [d for d in sm.disks if d.name not in ignore]
    if not disks:
        pytest.skip("smartctl sees no disk here (virtual disks, a container)")
    temp = dict(VARS_TEMPERATURE, **(conf.get("temperature") or {}))
    evidence.add(disks={d.name: {"model": d.model, "serial": d.serial, "passed": d.passed,
                                 "reallocated": d.reallocated, "pending": d.pending,
                                 "offline_uncorrectable": d.offline_uncorrectable,
                                 "temperature": d.temperature,
                                 "nvme_media_errors": d.nvme_media_errors}
                        for d in disks}, ignored=sorted(ignore))
    problems = []
    for d in disks:
        name = f"{d.name} ({d.model})" if d.model else d.name
        if d.passed is False:
            problems.append(("critical", f"{name}: SMART overall-health FAILED"))
        if d.passed is None and d.exit_status & 2:
            problems.append(("low", f"{name}: smartctl could not open it"
                             + (f" ({d.messages[0]})" if d.messages else "")))
        for count, limit, sev, what in (
                (d.pending, conf["pending_max"], "high", "pending sectors"),
                (d.offline_uncorrectable, conf["pending_max"], "high",
                 "offline-uncorrectable sectors"),
                (d.reallocated, conf["reallocated_max"], "medium", "reallocated sectors"),
                (d.nvme_media_errors, conf["media_errors_max"], "medium", "media errors")):
            if count is not None and count > limit:
                problems.append((sev, f"{name}: {count} {what}"))
        if d.nvme_critical_warning:
            problems.append(("high", f"{name}: NVMe critical warning "
                             f"0x{d.nvme_critical_warning:02x}"))
        if d.temperature is not None:
            if d.temperature >= temp["crit"]:
                problems.append(("high", f"{name}: {d.temperature} C (crit {temp['crit']})"))
            elif d.temperature >= temp["warn"]:
                problems.append(("low", f"{name}: {d.temperature} C (warn {temp['warn']})"))
    if problems:
        evidence.advice = "smartctl -a DEVICE; back up, then replace the disk"
    evidence.judge(problems)


VARS_TEMPERATURE = smart_fact.VARS[smart_fact.VAR]["properties"]["temperature"]["default"]
