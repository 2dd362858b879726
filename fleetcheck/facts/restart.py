"""Processes still running deleted (upgraded) libraries or executables, in one round trip:
needrestart's batch mode where it is installed, else a bounded scan of /proc/*/maps.

An upgrade replaces a library by renaming the new file over the old one (dpkg's
`.dpkg-new`, rpm's `;XXXXXXXX`): a daemon started before keeps the old, now deleted,
inode mapped and runs the unpatched code until it is restarted. The kernel shows such a
mapping in /proc/PID/maps with ` (deleted)` after its path.

- needrestart (Debian, Ubuntu; `needrestart -b -r l`: batch mode, list only, it never
  restarts anything in batch mode). Its lines, as README.batch.md and the program
  (v3.6, Debian 12) print them: `NEEDRESTART-VER: 3.6`, `NEEDRESTART-KCUR: <running
  kernel>`, `NEEDRESTART-KEXP: <expected kernel>` (absent when unknown),
  `NEEDRESTART-KSTA: N` (0 unknown, 1 no pending upgrade, 2 ABI compatible upgrade
  pending, 3 version upgrade pending), `NEEDRESTART-UCSTA/UCCUR/UCEXP` (microcode),
  one `NEEDRESTART-SVC: cron.service` per service to restart (a SysV script name
  without systemd), `NEEDRESTART-CONT: LXC web1` (containers), `NEEDRESTART-SESS: root
  @ session #28017` (user sessions) and, when not run as root, `NEEDRESTART-PID:
  name=1,2`. needrestart also finds mappings whose file was replaced without being
  deleted (inode compare) and stale interpreters (python, perl): it knows more than
  the scan.
- the scan (no needrestart): one `grep -H ' (deleted)$' /proc/[0-9]*/maps` and one awk
  (no command per process): executable mappings (`x` in the permissions, inode not 0)
  of deleted files under /usr, /lib*, /bin, /sbin or /opt, i.e. shared libraries and
  executables (not memfd, /dev/shm, /tmp or /run files, JIT code or SysV segments).
  The scan's own ancestors (the audit's connection: its sshd session) are left out:
  they end with the connection. For each process, in pid order: its comm
  (/proc/PID/comm, first line), its parent, its systemd cgroup (the `0::` line of
  cgroup v2, else `name=systemd`), and at most MAX_PATHS of its deleted paths with
  their count; at most MAX_PROCESSES processes, with the count of all.

Our own lines (the scan's), one field per tab, the free text last:

    fleetcheck-restart: scan of /proc/*/maps
    processes=2
    process<TAB>PID<TAB>PPID<TAB>NPATHS<TAB>COMM
    cgroup<TAB>PID<TAB>/system.slice/cron.service
    path<TAB>PID<TAB>/usr/lib/x86_64-linux-gnu/libssl.so.3
    fleetcheck-restart: end

A process's service is the system unit of its cgroup (`cron.service`: the last
`.service` component, not one under user.slice: a user's own unit); a process in a
session, a user unit or a container scope has none. A host without systemd's cgroups
(SysV, the lab's containers) names none: the check matches the comm (see
`service_name`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_int

NAME = "restart"
MAX_PROCESSES = 50     # processes reported in full (their count is always given)
MAX_PATHS = 5          # deleted paths shown per process
MAX_LIST = 200         # needrestart's services, containers, sessions kept
MAX_FIELD = 4096       # a path (PATH_MAX) or a line of needrestart
MARK_NEEDRESTART = "fleetcheck-restart: needrestart -b -r l"
MARK_SCAN = "fleetcheck-restart: scan of /proc/*/maps"
MARK_END = "fleetcheck-restart: end"

AWK = r"""BEGIN {
  # the scan's own ancestors, up to the one whose parent is PID 1 (a daemon: sshd)
  p = self
  while (p > 1 && !(p in mine)) {
    f = "/proc/" p "/stat"; line = ""
    if ((getline line < f) <= 0) break
    close(f); sub(/^.*\) /, "", line); split(line, st, " ")
    if (st[2] + 0 <= 1) break
    mine[p] = 1; p = st[2] + 0
  }
}
{
  colon = index($0, ":"); split(substr($0, 1, colon - 1), part, "/"); pid = part[3]
  if (pid in mine) next
  rest = substr($0, colon + 1); split(rest, m, " ")
  if (m[2] !~ /x/ || m[5] == "0") next
  path = rest; sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", path)
  sub(/ \(deleted\)$/, "", path); gsub(/[^ -~]/, "?", path)
  if (path !~ /^\/(usr\/|lib|bin\/|sbin\/|opt\/)/) next
  if ((pid SUBSEP path) in seen) next
  seen[pid, path] = 1
  if (!(pid in count)) { order[++procs] = pid; count[pid] = 0 }
  count[pid]++
  if (procs <= maxp && count[pid] <= maxf) paths[pid, count[pid]] = path
}
END {
  print "processes=" procs + 0
  for (i = 1; i <= procs && i <= maxp; i++) {
    pid = order[i]
    comm = ""; f = "/proc/" pid "/comm"; getline comm < f; close(f); gsub(/[^ -~]/, "?", comm)
    ppid = 0; line = ""; f = "/proc/" pid "/stat"
    if ((getline line < f) > 0) { sub(/^.*\) /, "", line); split(line, st, " "); ppid = st[2] + 0 }
    close(f)
    printf "process\t%s\t%d\t%d\t%s\n", pid, ppid, count[pid], comm
    cg = ""; f = "/proc/" pid "/cgroup"
    while ((getline line < f) > 0) {
      if (line ~ /^0::/) { cg = substr(line, 4); break }
      if (line ~ /^[0-9]+:name=systemd:/) cg = substr(line, index(line, "d:") + 2)
    }
    close(f); gsub(/[^ -~]/, "?", cg)
    if (cg != "") printf "cgroup\t%s\t%s\n", pid, cg
    for (j = 1; j <= count[pid] && j <= maxf; j++) printf "path\t%s\t%s\n", pid, paths[pid, j]
  }
  print "fleetcheck-restart: end"
}
"""

SCRIPT = f"""PATH="$PATH:/usr/sbin:/sbin"
if command -v needrestart >/dev/null 2>&1; then
  echo '{MARK_NEEDRESTART}'
  LC_ALL=C needrestart -b -r l || exit
  echo '{MARK_END}'
  exit 0
fi
echo '{MARK_SCAN}'
LC_ALL=C grep -H ' (deleted)$' /proc/[0-9]*/maps 2>/dev/null |
  LC_ALL=C awk -v self=$$ -v maxp={MAX_PROCESSES} -v maxf={MAX_PATHS} "$1"
"""


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck %s", SCRIPT, AWK)


@dataclass
class StaleProcess:
    """A process with deleted executable mappings (the scan)."""

    pid: int
    ppid: int
    comm: str                   # the kernel's name of it (15 characters at most)
    paths_total: int            # its deleted files (paths: the first MAX_PATHS)
    paths: list[str] = field(default_factory=list)
    cgroup: str | None = None   # its systemd cgroup path; None: no systemd hierarchy
    unit: str | None = None     # its system service (cron.service), from the cgroup


@dataclass
class Restart:
    source: str                                  # needrestart | scan
    processes: list[StaleProcess] = field(default_factory=list)   # the scan's
    processes_total: int = 0                     # scan: all found; needrestart: services
    services: list[str] = field(default_factory=list)   # NEEDRESTART-SVC, as printed
    containers: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    version: str | None = None                   # NEEDRESTART-VER
    kernel_running: str | None = None            # NEEDRESTART-KCUR
    kernel_expected: str | None = None           # NEEDRESTART-KEXP
    kernel_status: int | None = None             # NEEDRESTART-KSTA (0..3)

    @property
    def kernel_pending(self) -> bool:
        """needrestart says a newer kernel is installed (KSTA 2: same ABI, 3: version)."""
        return self.kernel_status in (2, 3)


def unit_of(cgroup: str | None) -> str | None:
    """The system service of a systemd cgroup path: its last `.service` component, none
    under user.slice (a user's own units, or a session) or in a `.scope`."""
    if not cgroup or cgroup.startswith("/user.slice"):
        return None
    parts = [p for p in cgroup.split("/") if p]
    units = [p for p in parts if p.endswith(".service")]
    if not units or parts[-1].endswith(".scope"):
        return None
    return units[-1]


def in_systemd(cgroup: str | None) -> bool:
    """The cgroup is one of systemd's (a slice, scope or service is named in it)."""
    return any(p.endswith((".slice", ".scope", ".service"))
               for p in (cgroup or "").split("/"))


def _text(value: str, where: str, what: str) -> str:
    if not value or len(value) > MAX_FIELD or not value.isprintable():
        raise ParseError(f"{where}: {what} must be printable, 1 to {MAX_FIELD} characters, "
                         f"got {shown(value)}")
    return value


def parse(text: str) -> Restart:
    lines = text.splitlines()
    if not lines or lines[0] not in (MARK_NEEDRESTART, MARK_SCAN):
        raise ParseError(f"line 1: expected {MARK_NEEDRESTART!r} or {MARK_SCAN!r}, got "
                         f"{shown(lines[0] if lines else '')}")
    if lines[-1] != MARK_END:
        raise ParseError(f"line {len(lines)}: no {MARK_END!r} line at the end (truncated "
                         "output?)")
    body = list(enumerate(lines[1:-1], start=2))
    if lines[0] == MARK_NEEDRESTART:
        return _needrestart(body)
    return _scan(body, len(lines))


# needrestart's batch keys -> the field of Restart they fill (lists: one line each)
_SINGLE = {"VER": "version", "KCUR": "kernel_running", "KEXP": "kernel_expected"}
_LISTS = {"SVC": "services", "CONT": "containers", "SESS": "sessions"}
_IGNORED = {"UCSTA", "UCCUR", "UCEXP", "PID"}


def _needrestart(body: Iterable[tuple[int, str]]) -> Restart:
    out = Restart("needrestart")
    seen: set[str] = set()
    for n, line in body:
        key, sep, value = line.partition(": ")
        name = key.removeprefix("NEEDRESTART-")
        if not sep or name == key or name not in (*_SINGLE, *_LISTS, *_IGNORED, "KSTA"):
            raise ParseError(f"line {n}: expected 'NEEDRESTART-KEY: value', got {shown(line)}")
        value = _text(value.strip(), f"line {n}", f"NEEDRESTART-{name}")
        if name in _LISTS:
            found = getattr(out, _LISTS[name])
            if name == "SVC":
                out.processes_total += 1
            if len(found) < MAX_LIST:
                found.append(value)
            continue
        if name in _IGNORED:
            continue
        if name in seen:
            raise ParseError(f"line {n}: NEEDRESTART-{name} given twice")
        seen.add(name)
        if name == "KSTA":
            out.kernel_status = to_int(value, f"line {n}: NEEDRESTART-KSTA")
            if out.kernel_status > 3:
                raise ParseError(f"line {n}: NEEDRESTART-KSTA is 0 to 3, got {value}")
        else:
            setattr(out, _SINGLE[name], value)
    if out.version is None:
        raise ParseError("line 2: no NEEDRESTART-VER line: not needrestart -b output")
    return out


def _scan(body: Iterable[tuple[int, str]], last: int) -> Restart:
    out = Restart("scan")
    by_pid: dict[int, StaleProcess] = {}
    total = None
    for n, line in body:
        where = f"line {n}"
        if line.startswith("processes="):
            if total is not None:
                raise ParseError(f"{where}: processes= given twice")
            total = to_int(line[len("processes="):], f"{where}: processes=")
            continue
        kind, _, rest = line.partition("\t")
        if kind == "process":
            fields = rest.split("\t", 3)
            if len(fields) != 4:
                raise ParseError(f"{where}: expected process PID PPID NPATHS COMM, got "
                                 f"{shown(line)}")
            pid = to_int(fields[0], f"{where}: pid")
            if pid in by_pid:
                raise ParseError(f"{where}: process {pid} given twice")
            if len(by_pid) == MAX_PROCESSES:
                raise ParseError(f"{where}: more than {MAX_PROCESSES} processes")
            # a comm may be empty (the process ended during the scan)
            comm = fields[3]
            if len(comm) > 64 or not comm.isprintable():
                raise ParseError(f"{where}: not a process name: {shown(comm)}")
            proc = StaleProcess(pid, to_int(fields[1], f"{where}: ppid"), comm,
                                to_int(fields[2], f"{where}: paths"))
            if proc.paths_total == 0:
                raise ParseError(f"{where}: process {pid} with no deleted path")
            by_pid[pid] = proc
            out.processes.append(proc)
            continue
        if kind not in ("cgroup", "path"):
            raise ParseError(f"{where}: expected processes=, process, cgroup or path, got "
                             f"{shown(line)}")
        pid_text, sep, value = rest.partition("\t")
        proc = by_pid.get(to_int(pid_text, f"{where}: pid")) if sep else None
        if proc is None:
            raise ParseError(f"{where}: a {kind} line of no process listed before it: "
                             f"{shown(line)}")
        value = _text(value, where, f"the {kind}")
        if not value.startswith("/"):
            raise ParseError(f"{where}: the {kind} must be an absolute path, got "
                             f"{shown(value)}")
        if kind == "cgroup":
            if proc.cgroup is not None or proc.paths:
                raise ParseError(f"{where}: the cgroup of {proc.pid} given twice or late")
            proc.cgroup, proc.unit = value, unit_of(value)
        else:
            if len(proc.paths) >= min(MAX_PATHS, proc.paths_total):
                raise ParseError(f"{where}: more paths for {proc.pid} than it has "
                                 f"({proc.paths_total}) or than are shown ({MAX_PATHS})")
            proc.paths.append(value)
    if total is None:
        raise ParseError(f"line {last}: no processes= line")
    if total < len(out.processes) or (total > len(out.processes)
                                      and len(out.processes) < MAX_PROCESSES):
        raise ParseError(f"line {last}: processes={total} but {len(out.processes)} listed")
    for proc in out.processes:
        if len(proc.paths) != min(MAX_PATHS, proc.paths_total):
            raise ParseError(f"line {last}: process {proc.pid} has {len(proc.paths)} "
                             f"path lines of {proc.paths_total} (truncated?)")
    out.processes_total = total
    return out


@dataclass
class Finding:
    """One process (the scan) or one service (needrestart) running deleted code."""

    service: str | None         # the service it belongs to, as the check names it
    pid: int | None = None
    comm: str | None = None
    paths: list[str] = field(default_factory=list)
    systemd: bool = False       # named by systemd (a unit), not guessed from the comm


def service_base(name: str) -> str:
    """`cron.service` -> `cron`: how the inventory names a service."""
    return name.removesuffix(".service")


def findings(fact: Restart) -> list[Finding]:
    """The processes or services the fact reports, each with its service name: the
    systemd unit of its cgroup; on a host without systemd cgroups none (see
    `service_name`); a process in a session, user unit or container: none."""
    if fact.source == "needrestart":
        return [Finding(service_base(s), systemd=s.endswith(".service"))
                for s in fact.services]
    return [Finding(service_base(p.unit) if p.unit else None, p.pid, p.comm, p.paths,
                    systemd=in_systemd(p.cgroup)) for p in fact.processes]


def service_name(finding: Finding, restartable: Iterable[str],
                 processes: Mapping[str, Any] | None = None) -> str | None:
    """The name in `restartable` (the inventory's) that this finding belongs to, else
    None. A unit matches its name (`cron` or `cron.service`). Without systemd the
    process is matched by its comm: the service's name, its name and `d` (ssh: sshd,
    smb: smbd) or the var service_processes' process for it; never on a systemd host,
    where a process outside a service (a login session) must not pass for one."""
    for name in restartable:
        base = service_base(str(name))
        if finding.service is not None:
            if finding.service == base:
                return str(name)
            continue
        if finding.systemd or not finding.comm:
            continue
        process = str((processes or {}).get(name) or "")
        if finding.comm in (base, base + "d", process):
            return str(name)
    return None
