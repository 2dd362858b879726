"""Owner, group and mode of system files, one record per path, and world-writable
files under /etc (vars `files_permissions` and `files_world_writable`, set in the
embedded local.yml under `all: vars:` for every host; null turns a path or the scan
off). Every path and directory is read in one command (the `files` fact).

    files_permissions:
      /etc/shadow: {owner: root, group: [shadow, root], mode: "0640", required: true}
    files_world_writable: [/etc]

Why a baseline of owner, allowed groups and a *maximum* mode: one rule must pass both
families' defaults and catch what either gets wrong. Debian ships /etc/shadow as
root:shadow 0640 (unix_chkpwd and screen lockers read it through the group shadow),
RHEL as root:root 0000; the CIS benchmarks for both say "0640 or more restrictive,
root:root or root:shadow". A mode is judged bit by bit: a bit beyond the maximum is
a finding, fewer bits always pass (RHEL's 0000, a hardened 0600).
"""

import pytest

from fleetcheck.facts.files import exposes, octal, problems, rules, scanned_dirs


@pytest.mark.check("files.permissions", severity="high", items="files_permissions",
                   facts=["files"],
                   title="system file has its owner, group and at most its mode",
                   compare={"permissions": ("baseline", "mode"),
                            "owner": (None, "owner"),
                            "group": (None, "group"),
                            "exists": (None, "exists")})
def test_files_permissions(host, facts, item, evidence):
    """Each path of `files_permissions` (by default the account databases and their
    backups, sudoers, sshd_config, the cron files and directories, after CIS's "Ensure
    permissions on ... are configured") has its owner, one of its groups and no mode
    bit beyond its maximum; a symbolic link is a finding (its target is not followed);
    a path that does not exist is not applicable unless `required`. The defaults
    accept Debian's and RHEL's own modes: CIS asks 0600 for sshd_config and
    /etc/crontab and 0700 for the cron directories, stricter than both distributions
    ship: tighten them in the inventory.

    High when someone the baseline keeps out gains access: a wrong owner, others (or
    a wrong group) who may write, or may read a file that gives others nothing
    (/etc/shadow's hashes: offline cracking); medium otherwise (a backup file a bit
    too open, a setgid directory, a symbolic link, a missing required file)."""
    rule = rules(host.vars).get(item)
    if rule is None:
        pytest.skip(f"files_permissions[{item}] is not set")
    state = facts.files.paths.get(item)
    evidence.add(path=item, exists=bool(state and state.exists),
                 kind=state.kind if state else None,
                 owner=state.owner if state else None, group=state.group if state else None,
                 mode=octal(state.mode) if state else None,
                 baseline={"owner": rule.owner, "group": list(rule.groups),
                           "max_mode": octal(rule.mode), "required": rule.required})
    if not (state and state.exists) and not rule.required:
        pytest.skip(f"{item} does not exist on this host (not required)")
    wrong = problems(rule, state)
    if wrong and not exposes(rule, state):
        evidence.severity = "medium"
    assert not wrong, f"{item}: {'; '.join(wrong)}"


@pytest.mark.check("files.world_writable", severity="high", facts=["files"],
                   title="no world-writable file under /etc",
                   compare={"world-writable files": (None, "files"),
                            "scanned": (None, "scanned"),
                            "missing dirs": (None, "missing")})
def test_files_world_writable(host, facts, evidence):
    """No regular file under the directories of `files_world_writable` (by default
    /etc; one file system, symbolic links not followed) is writable by others (CIS:
    "Ensure world writable files and directories are secured"). High: files under /etc
    are read by daemons and scripts running as root, so anyone who may write one may
    as a rule become root. A directory that does not exist is not judged."""
    dirs = scanned_dirs(host.vars)
    if not dirs:
        pytest.skip("no directories declared (var files_world_writable)")
    found = facts.files
    listed = [{"path": f.path if f.path is not None else "(name not printable)",
               "mode": octal(f.mode), "owner": f.owner, "group": f.group}
              for f in found.world_writable]
    evidence.add(scanned=found.scanned, missing=found.missing_dirs, files=listed,
                 truncated=found.truncated)
    more = f" (more than {len(listed)} under {', '.join(found.truncated)})" \
        if found.truncated else ""
    assert not listed, (f"{len(listed)} world-writable file(s){more}: "
                        + ", ".join(f"{f['path']} {f['mode']}" for f in listed[:10]))
