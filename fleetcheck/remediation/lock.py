"""The per-host lock of a fix: a directory on the host (/run/fleetcheck.lock, or the
var fleetcheck_lock_dir) whose `owner` file says who holds it. A lock whose holder is
known to be gone is taken over at once, with a one-line warning; a live one is waited
on for --lock-timeout seconds, then refused.

The owner record, `key=value` lines (times are the host's own clock, epoch seconds):

    run=20261121T140512Z-3fa2      the run that holds it
    controller=admin1              the controller's host name
    controller_boot=<boot id>      the controller's /proc/sys/kernel/random/boot_id
    pidns=4026531836               the controller process's pid namespace
    pid=4242 pid_start=912345      its pid and start time (/proc/PID/stat field 22)
    lease=120                      seconds the heartbeat may stay silent
    token=<random hex>             names this holding (a takeover and a release check it)
    boot_id=<boot id>              the host's boot id when the lock was taken
    since=... heartbeat=...        when it was taken, when the holder last said it is alive

Stale (taken over) when: the host's boot id changed (the host rebooted); or the holder
is a process of this same controller (host name, boot id and pid namespace equal) that
is gone, has another start time (its pid reused) or is this very process (a lock it
could not release); or its heartbeat is older than its lease. The holder refreshes the
heartbeat between the steps of a fix; no single step is longer than the host's
command timeout, so the lease is twice the longer of --lock-timeout and the command
timeout. A record of an older fleetcheck (no token) is never judged: it is waited on.

Taking over is one script on the host: `mkdir LOCK/takeover.<token>` (only one
contender gets it, and only while LOCK still holds that token), then LOCK is renamed
aside and a new lock made. A new lock is built beside (owner file written) and renamed
into place, so a lock directory never exists without its owner.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command

LOCK_DIR = "/run/fleetcheck.lock"
HELD = 75          # the lock is held (by another run, or being taken over)
NO_PARENT = 76     # the lock directory's parent does not exist
NO_PERMISSION = 77  # this user may not create the lock (not root, no become)


class LockError(Exception):
    """The lock cannot be had: held past the timeout, or a clear error on the host."""


def lock_dir(host) -> str:
    return str(host.vars.get("fleetcheck_lock_dir", LOCK_DIR))


def sh(script: str, *args: Any) -> Command:
    return Command("sh -c %s fleetcheck" + " %s" * len(args), script, *args)


# Make the lock: $1 lock dir, $2 the owner record's controller part (the host adds
# boot_id, since, heartbeat), $3 token. Exit 0: taken; HELD, with the host's clock,
# its boot id and the holder's record on stdout; NO_PARENT; NO_PERMISSION (a user
# who may not write in the parent: one line, at once, never read as "held"); 1 with
# the error.
_TAKE = r"""
p=$(dirname -- "$1")
[ -d "$p" ] || { echo "lock directory's parent $p does not exist" >&2; exit 76; }
now=$(date +%s); boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
n="$1.new.$3"
denied="cannot create $1: permission denied; run as root or set ansible_become"
{ [ -w "$p" ] && [ -x "$p" ]; } || { echo "$denied" >&2; exit 77; }
e=$(mkdir -- "$n" 2>&1) || { case "$e" in *"ermission denied"*) echo "$denied" >&2; exit 77;; esac
  echo "cannot take the lock $1: ${e#mkdir: }" >&2; exit 1; }
printf '%s\nboot_id=%s\nsince=%s\nheartbeat=%s\n' "$2" "$boot" "$now" "$now" > "$n/owner" ||
  { rm -rf -- "$n"; echo "cannot write the lock's owner record in $p" >&2; exit 1; }
mv -T -- "$n" "$1" 2>/dev/null && exit 0
rm -rf -- "$n"
echo "now=$now"; echo "host_boot=$boot"
echo "--owner--"; cat -- "$1/owner" 2>/dev/null
exit 75
"""
ACQUIRE_SCRIPT = "set -u" + _TAKE

# Take over a stale lock: $1 lock dir, $2 owner part, $3 new token, $4 the stale token.
TAKEOVER_SCRIPT = r"""set -u
m="$1/takeover.$4"
if ! mkdir -- "$m" 2>/dev/null; then
  # another run is taking it over; a mutex left by a run that died doing so expires
  age=$(( $(date +%s) - $(stat -c %Y -- "$m" 2>/dev/null || date +%s) ))
  [ "$age" -gt 30 ] && rmdir -- "$m" 2>/dev/null
  exit 75
fi
if ! grep -qx "token=$4" "$1/owner" 2>/dev/null; then rmdir -- "$m"; exit 75; fi
rm -rf -- "$1.stale.$4"; mv -T -- "$1" "$1.stale.$4" || exit 75
rm -rf -- "$1.stale.$4"
""" + _TAKE

# Refresh the heartbeat of our own lock: $1 lock dir, $2 token. HELD when not ours.
BEAT_SCRIPT = r"""set -u
grep -qx "token=$2" "$1/owner" 2>/dev/null || { cat -- "$1/owner" 2>/dev/null; exit 75; }
sed "s/^heartbeat=.*/heartbeat=$(date +%s)/" "$1/owner" > "$1/owner.$2" &&
  mv -f -- "$1/owner.$2" "$1/owner"
"""

# Release our own lock only: $1 lock dir, $2 token.
RELEASE_SCRIPT = r"""set -u
grep -qx "token=$2" "$1/owner" 2>/dev/null || exit 0
mv -T -- "$1" "$1.released.$2" && rm -rf -- "$1.released.$2"
"""


@dataclass(frozen=True)
class Me:
    """This controller process, as an owner record names it."""

    controller: str
    controller_boot: str
    pidns: str
    pid: int
    pid_start: str

    @classmethod
    def here(cls) -> Me:
        return cls(_safe(socket.gethostname()), _read("/proc/sys/kernel/random/boot_id"),
                   _pidns(), os.getpid(), process_start(os.getpid()) or "unknown")


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read().strip() or "unknown"
    except OSError:
        return "unknown"


def _pidns() -> str:
    try:
        return re.sub(r"\D", "", os.readlink("/proc/self/ns/pid")) or "unknown"
    except OSError:
        return "unknown"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._:-]", "_", text)[:200] or "unknown"


def process_start(pid: int) -> str | None:
    """The start time of `pid` (clock ticks after boot), None when no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None   # field 22 of stat(5)


def parse_owner(text: str) -> dict[str, str] | None:
    """The owner record as a dict; None for a record without a token (an older
    fleetcheck's one-line owner, or none at all)."""
    record = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[a-z_]+", key):
            record[key] = value.strip()
    return record if re.fullmatch(r"[0-9a-f]{8,64}", record.get("token", "")) else None


def stale_reason(record: dict[str, str], host_now: int, host_boot: str,
                 me: Me) -> str | None:
    """Why the lock of `record` is stale (its holder is gone), or None while it may be
    alive. Pure: `host_now` and `host_boot` are read on the host, `me` is this process."""
    boot = record.get("boot_id", "")
    if boot and host_boot != "unknown" and boot != host_boot:
        return "the host rebooted since it was taken"
    here = (record.get("controller") == me.controller
            and record.get("controller_boot") == me.controller_boot
            and record.get("pidns") == me.pidns and me.controller_boot != "unknown")
    if here:
        pid = int(record["pid"]) if record.get("pid", "").isdigit() else None
        if pid is None:
            return None
        if pid == me.pid and record.get("pid_start") == me.pid_start:
            return "this process holds it from a fix it could not finish"
        start = process_start(pid)
        if start is None:
            return f"its process {pid} on this controller is gone"
        if start != record.get("pid_start"):
            return f"its process {pid} on this controller is gone (the pid was reused)"
    try:
        beat, lease = int(record["heartbeat"]), int(record["lease"])
    except (KeyError, ValueError):
        return None
    if host_now - beat > lease:
        return f"its heartbeat is {host_now - beat}s old (lease {lease}s)"
    return None


def describe(record: dict[str, str] | None, raw: str) -> str:
    if record is None:
        return raw.strip().splitlines()[0] if raw.strip() else "an unknown run"
    return (f"run {record.get('run', '?')} from {record.get('controller', '?')} "
            f"pid {record.get('pid', '?')}")


def lease_for(lock_timeout: float, command_timeout: float) -> int:
    return int(2 * max(lock_timeout, command_timeout, 1.0))


class HostLock:
    """The lock of one host for one run: acquire() (returns the takeover warnings),
    beat() between the steps of a fix, release()."""

    def __init__(self, host, run_id: str, timeout: float, lease: int, me: Me | None = None,
                 run=None, sleep=time.sleep):
        self.host = host
        self.run_id = run_id
        self.timeout = timeout
        self.lease = lease
        self.me = me or Me.here()
        self.token = secrets.token_hex(8)
        self.path = lock_dir(host)
        self._run = run or host.run       # the engine passes its own (a cut is not a failure)
        self._sleep = sleep
        self._last_beat = 0.0
        self.held = False

    def owner_part(self) -> str:
        me = self.me
        return "\n".join([f"run={self.run_id}", f"controller={me.controller}",
                          f"controller_boot={me.controller_boot}", f"pidns={me.pidns}",
                          f"pid={me.pid}", f"pid_start={me.pid_start}",
                          f"lease={self.lease}", f"token={self.token}"])

    def acquire(self) -> list[str]:
        warnings: list[str] = []
        deadline = time.monotonic() + self.timeout
        script, args = ACQUIRE_SCRIPT, (self.path, self.owner_part(), self.token)
        holder = "an unknown run"
        taken_over = ""   # the warning, once a stale lock is being taken over
        while True:
            res = self._run(sh(script, *args))
            if res.rc == 0:
                self.held = True
                self._last_beat = time.monotonic()
                if script is TAKEOVER_SCRIPT:
                    warnings.append(taken_over)
                return warnings
            if res.rc == NO_PERMISSION:
                raise LockError(res.stderr.strip().splitlines()[-1] if res.stderr.strip()
                                else f"cannot create {self.path}: permission denied; "
                                "run as root or set ansible_become")
            if res.rc == NO_PARENT:
                raise LockError(res.stderr.strip() or f"the parent of {self.path} does not exist")
            if res.rc != HELD:
                raise LockError(f"cannot take the lock {self.path}: "
                                f"{res.stderr.strip()[-300:] or f'exit {res.rc}'}")
            facts, _, raw = res.stdout.partition("--owner--\n")
            seen = dict(line.split("=", 1) for line in facts.splitlines() if "=" in line)
            record = parse_owner(raw)
            if raw.strip():
                holder = describe(record, raw)
            why = None
            if record is not None and seen.get("now", "").isdigit():
                why = stale_reason(record, int(seen["now"]), seen.get("host_boot", ""), self.me)
            if why is not None:
                taken_over = f"took over the stale lock {self.path} of {holder}: {why}"
                script = TAKEOVER_SCRIPT
                args = (self.path, self.owner_part(), self.token, record["token"])
                continue
            script, args = ACQUIRE_SCRIPT, (self.path, self.owner_part(), self.token)
            if time.monotonic() >= deadline:
                raise LockError(
                    f"host is locked by another fleetcheck run ({holder}); "
                    f"waited {self.timeout:g}s. If no run is active, remove {self.path} "
                    "on the host.")
            self._sleep(1.0)

    def beat(self, force: bool = False) -> None:
        """Refresh the heartbeat (at most every quarter lease unless forced); raises
        LockError when the lock is no longer ours."""
        if not self.held or (not force and time.monotonic() - self._last_beat < self.lease / 4):
            return
        res = self._run(sh(BEAT_SCRIPT, self.path, self.token))
        if res.rc != 0:
            self.held = False
            raise LockError(f"the lock {self.path} is no longer this run's "
                            f"({describe(parse_owner(res.stdout), res.stdout)} holds it)")
        self._last_beat = time.monotonic()

    def release(self) -> None:
        if self.held:
            self.held = False
            self._run(sh(RELEASE_SCRIPT, self.path, self.token))
