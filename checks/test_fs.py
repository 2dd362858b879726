"""Filesystems: none remounted read-only behind fstab's back, the world-writable
temporary directories mounted with their hardening options (var `fs_baseline`, one item per
rule).

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
                   title="no filesystem remounted read-only; temp mounts hardened")
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
