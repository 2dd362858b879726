"""updates.applied and services still running deleted (upgraded) libraries: the restart
fact (needrestart's batch lines, the /proc/*/maps scan: its awk on crafted maps lines and
the whole command on this machine), how a finding is matched to a service the inventory
marks restartable, the check's findings and severities (the worst finding's), and the
fix's restarts (only the named services, after the upgrade).

Captured and documented outputs are in tests/fixtures/facts/restart/ (test_facts_fixtures)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from fleetcheck.facts import ParseError, apt, restart
from fleetcheck.facts.pkgstate import PkgState, update_settings
from fleetcheck.facts.restart import Finding, findings, in_systemd, service_name, unit_of
from fleetcheck.facts.service import ServiceState
from fleetcheck.fixtures import Evidence
from fleetcheck.inventory.hostvars import check_var
from fleetcheck.remediation import PlanContext, Service, lookup

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "facts"
SCAN = (FIX / "restart" / "debian12_scan_deleted_lib_and_exe.txt").read_text()
CAPPED = (FIX / "restart" / "debian12_scan_capped.txt").read_text()
NEEDRESTART = (FIX / "restart" / "doc_needrestart_sysv_kernel_pending.txt").read_text()
HEAD, END = restart.MARK_SCAN + "\n", restart.MARK_END + "\n"
NR_HEAD = restart.MARK_NEEDRESTART + "\n"

# A systemd host (hand-written in the scan's format: cgroup v2 paths as systemd names
# them): cron and a login session's bash on an old libc, a user's own unit, a container.
SYSTEMD = (HEAD + "processes=4\n"
           "process\t611\t1\t2\tcron\n"
           "cgroup\t611\t/system.slice/cron.service\n"
           "path\t611\t/usr/lib/x86_64-linux-gnu/libc.so.6\n"
           "path\t611\t/usr/lib/x86_64-linux-gnu/libpam.so.0.85.1\n"
           "process\t2001\t1990\t1\tcron\n"
           "cgroup\t2001\t/user.slice/user-0.slice/session-4.scope\n"
           "path\t2001\t/usr/lib/x86_64-linux-gnu/libc.so.6\n"
           "process\t2101\t2100\t1\tpipewire\n"
           "cgroup\t2101\t/user.slice/user-1000.slice/user@1000.service/session.slice/"
           "pipewire.service\n"
           "path\t2101\t/usr/lib/x86_64-linux-gnu/libc.so.6\n"
           "process\t3001\t2999\t1\tnginx\n"
           "cgroup\t3001\t/system.slice/docker-4f1c.scope\n"
           "path\t3001\t/usr/lib/x86_64-linux-gnu/libssl.so.3\n" + END)


def _check_module():
    spec = importlib.util.spec_from_file_location("fleetcheck_checks_updates",
                                                  ROOT / "checks" / "test_updates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECK = _check_module()


# ------------------------------------------------------------------ the fact


def test_the_capture_has_the_deleted_library_and_the_deleted_executable():
    fact = restart.parse(SCAN)
    assert fact.source == "scan" and fact.processes_total == 2
    assert [(p.comm, p.paths, p.unit) for p in fact.processes] == [
        ("sleep", ["/usr/local/lib/fleetcheck-capture/libz.so.1"], None),
        ("fcdemod", ["/usr/local/sbin/fcdemod"], None)]
    assert not in_systemd(fact.processes[0].cgroup)   # '0::/': no systemd


def test_the_capped_capture_counts_what_it_does_not_show():
    fact = restart.parse(CAPPED)
    assert fact.processes_total == 54 and len(fact.processes) == restart.MAX_PROCESSES
    first = fact.processes[0]
    assert first.paths_total == 7 and len(first.paths) == restart.MAX_PATHS


@pytest.mark.parametrize("cgroup, unit", [
    ("/system.slice/cron.service", "cron.service"),
    ("/system.slice/ssh.service", "ssh.service"),
    ("/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service"),
    ("/system.slice/docker.service/sub", "docker.service"),     # a delegated subtree
    ("/user.slice/user-0.slice/session-4.scope", None),
    ("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", None),
    ("/system.slice/docker-4f1c.scope", None),
    ("/init.scope", None),
    ("/", None),
    (None, None),
])
def test_the_unit_of_a_cgroup(cgroup, unit):
    assert unit_of(cgroup) == unit


def test_needrestart_batch_lines():
    fact = restart.parse(NEEDRESTART)
    assert (fact.source, fact.services, fact.kernel_status) == ("needrestart",
                                                                ["cron", "ssh"], 3)
    assert fact.kernel_pending and fact.processes_total == 2
    assert [f.service for f in findings(fact)] == ["cron", "ssh"]
    units = restart.parse(NR_HEAD + "NEEDRESTART-VER: 3.6\nNEEDRESTART-KSTA: 1\n"
                          "NEEDRESTART-SVC: cron.service\nNEEDRESTART-PID: vim=42\n" + END)
    (finding,) = findings(units)
    assert (finding.service, finding.systemd, units.kernel_pending) == ("cron", True, False)


@pytest.mark.parametrize("text, message", [
    ("", "line 1: expected"),
    (HEAD + "processes=1\n", "no 'fleetcheck-restart: end' line"),
    (HEAD + END, "no processes= line"),
    (HEAD + "processes=1\n" + END, "processes=1 but 0 listed"),
    (HEAD + "processes=1\npath\t5\t/usr/lib/a.so\n" + END, "line 3: a path line of no process"),
    (HEAD + "processes=1\nprocess\t5\t1\t2\tx\npath\t5\t/usr/lib/a.so\n" + END,
     "process 5 has 1 path lines of 2"),
    (HEAD + "processes=1\nprocess\t5\t1\t1\tx\npath\t5\t/a\npath\t5\t/b\n" + END,
     "line 5: more paths for 5"),
    (HEAD + "processes=1\nprocess\t5\t1\t1\tx\npath\t5\tusr/lib/a.so\n" + END,
     "must be an absolute path"),
    (HEAD + "processes=2\nprocess\t5\t1\t1\tx\npath\t5\t/a\nprocess\t5\t1\t1\tx\n" + END,
     "line 5: process 5 given twice"),
    (HEAD + "processes=1\nprocess\t5\t1\t0\tx\n" + END, "process 5 with no deleted path"),
    (HEAD + "processes=1\nprocess\t5\t1\t1\tx\tz\x01\npath\t5\t/a\n" + END,
     "line 3: not a process name"),
    (NR_HEAD + "NEEDRESTART-KSTA: 1\n" + END, "no NEEDRESTART-VER line"),
    (NR_HEAD + "NEEDRESTART-VER: 3.6\nNEEDRESTART-KSTA: 4\n" + END, "line 3: NEEDRESTART-KSTA"),
    (NR_HEAD + "NEEDRESTART-VER: 3.6\nNEEDRESTART-VER: 3.6\n" + END, "line 3: NEEDRESTART-VER"),
    (NR_HEAD + "NEEDRESTART-VER: 3.6\nNEEDRESTART-FOO: 1\n" + END, "line 3: expected"),
])
def test_garbage_is_a_parse_error_naming_the_line(text, message):
    with pytest.raises(ParseError, match="line") as info:
        restart.parse(text)
    assert message in str(info.value)


def test_more_processes_than_the_cap_is_not_the_scans_output():
    lines = [f"process\t{p}\t1\t1\tx\npath\t{p}\t/usr/lib/a.so\n"
             for p in range(1, restart.MAX_PROCESSES + 2)]
    with pytest.raises(ParseError, match="more than 50 processes"):
        restart.parse(HEAD + "processes=51\n" + "".join(lines) + END)


def test_needrestart_lists_are_bounded():
    text = NR_HEAD + "NEEDRESTART-VER: 3.6\n" + "NEEDRESTART-SVC: a.service\n" * 5000 + END
    fact = restart.parse(text)
    assert len(fact.services) == restart.MAX_LIST and fact.processes_total == 5000


def _awk(maps_lines: str, self_pid: int = 1) -> str:
    res = subprocess.run(["awk", "-v", f"self={self_pid}", "-v", "maxp=50", "-v", "maxf=5",
                          restart.AWK], input=maps_lines, capture_output=True, text=True,
                         env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin")},
                         timeout=30)
    assert res.returncode == 0, res.stderr
    return restart.MARK_SCAN + "\n" + res.stdout


@pytest.mark.skipif(shutil.which("awk") is None, reason="no awk")
def test_the_scan_keeps_only_deleted_code_under_the_system_directories():
    """The awk of the command on maps lines as `grep -H` gives them (this test's own pid,
    so its comm and cgroup are real): executable mappings of deleted files under /usr,
    /lib*, /bin, /sbin, /opt, each path once; not data, memfd, /tmp, /dev/shm, inode 0."""
    pid = os.getpid()
    pre = f"/proc/{pid}/maps:"
    row = "7f00-7f01 {perm} 00000000 fe:00 {inode}                    {path} (deleted)\n"
    lines = "".join(pre + row.format(perm=perm, inode=inode, path=path) for perm, inode, path in [
        ("r--p", 11, "/usr/lib/x86_64-linux-gnu/libssl.so.3"),     # its data: not code
        ("r-xp", 11, "/usr/lib/x86_64-linux-gnu/libssl.so.3"),
        ("r-xp", 11, "/usr/lib/x86_64-linux-gnu/libssl.so.3"),     # again: once
        ("r-xp", 12, "/usr/sbin/cron"),
        ("r-xp", 13, "/lib/x86_64-linux-gnu/libpam.so.0"),
        ("r-xp", 14, "/opt/app/bin/app with blank"),
        ("r-xp", 15, "/memfd:jit"),
        ("r-xp", 16, "/tmp/orcexec.abc"),
        ("r-xp", 17, "/dev/shm/x"),
        ("r-xp", 0, "/usr/lib/zero-inode.so"),
        ("rw-s", 18, "/usr/lib/locale/locale-archive"),
    ])
    fact = restart.parse(_awk(lines))
    (proc,) = fact.processes
    assert proc.pid == pid and proc.comm and proc.paths_total == 4
    assert proc.paths == ["/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/sbin/cron",
                          "/lib/x86_64-linux-gnu/libpam.so.0", "/opt/app/bin/app with blank"]


@pytest.mark.skipif(shutil.which("awk") is None, reason="no awk")
def test_the_scan_leaves_out_its_own_ancestors_and_caps_its_lists():
    """Processes that are the scan's ancestors (the audit's own connection) are not
    reported, up to the one whose parent is PID 1 (a daemon such as sshd is)."""
    me = os.getpid()
    line = f"/proc/{me}/maps:7f-80 r-xp 0 fe:00 9 /usr/lib/libc.so.6 (deleted)\n"
    child = subprocess.Popen(["sleep", "30"])
    try:
        # the scan run as this process's child: this process is one of its ancestors
        text = _awk(line, self_pid=child.pid)
    finally:
        child.kill()
        child.wait()
    assert restart.parse(text).processes_total == (0 if os.getppid() != 1 else 1)
    many = "".join(f"/proc/{p}/maps:7f-80 r-xp 0 fe:00 9 /usr/lib/libc.so.{n} (deleted)\n"
                   for p in range(10**6, 10**6 + 60) for n in range(7))
    fact = restart.parse(_awk(many))
    assert fact.processes_total == 60 and len(fact.processes) == 50
    assert all(p.paths_total == 7 and len(p.paths) == 5 for p in fact.processes)


@pytest.mark.skipif(shutil.which("sh") is None, reason="no sh")
def test_the_command_runs_and_parses_here():
    res = subprocess.run(["sh", "-c", restart.command({}).render()], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert restart.parse(res.stdout).source in ("scan", "needrestart")


# ------------------------------------------------------------------ matching services


def _scan_finding(comm, systemd=False, service=None):
    return Finding(service, 7, comm, ["/usr/lib/x.so"], systemd)


def test_a_unit_matches_its_name_and_a_session_never_by_its_comm():
    found = findings(restart.parse(SYSTEMD))
    assert [f.service for f in found] == ["cron", None, None, None]
    assert [service_name(f, ["cron"]) for f in found] == ["cron", None, None, None]
    assert service_name(found[0], ["cron.service"]) == "cron.service"
    assert service_name(found[0], ["ssh"]) is None


def test_without_systemd_the_comm_names_the_service():
    assert service_name(_scan_finding("cron"), ["ssh", "cron"]) == "cron"
    assert service_name(_scan_finding("sshd"), ["ssh"]) == "ssh"     # NAME + d
    assert service_name(_scan_finding("ganesha.nfsd"), ["nfs-ganesha"],
                        {"nfs-ganesha": "ganesha.nfsd"}) == "nfs-ganesha"
    assert service_name(_scan_finding("bash"), ["ssh", "cron"]) is None
    assert service_name(_scan_finding(""), [""]) is None


# ------------------------------------------------------------------ the check


class Facts:
    """Facts as data, by name (params ignored); an Exception value is raised."""

    def __init__(self, **values):
        self.values = values
        self.asked = []

    def get(self, name, /, **params):
        self.asked.append(name)
        value = self.values[name]
        if isinstance(value, Exception):
            raise value
        return value

    def __getattr__(self, name):
        if name.startswith("_") or name in ("values", "asked"):
            raise AttributeError(name)
        return self.get(name)


def pkgstate(**kw):
    base = dict(now=1_000_000, manager="apt", lists_mtime=1_000_000 - 3600,
                running_kernel="6.1.0-26-amd64", installed_kernels=["6.1.0-26-amd64"])
    base.update(kw)
    return PkgState(**base)


def apt_sim(name="lab_healthy"):
    return apt.parse((FIX / "apt" / f"{name}.txt").read_text())


CLEAN = HEAD + "processes=0\n" + END


def judge(updates=None, restart_text=CLEAN, **facts):
    values = dict(pkgstate=pkgstate(), apt=apt_sim())
    values["restart"] = (restart.parse(restart_text) if isinstance(restart_text, str)
                         else restart_text)
    values.update(facts)
    fake = Facts(**values)
    host = SimpleNamespace(vars={"updates": updates if updates is not None else {}},
                           facts=fake)
    evidence = Evidence()
    try:
        CHECK.test_updates_applied(host, fake, evidence)
        message = None
    except (AssertionError, pytest.fail.Exception) as exc:   # Evidence.judge fails
        message = str(exc)
    return message, evidence, fake


def test_a_clean_host_passes_and_reads_the_restart_fact():
    message, evidence, fake = judge()
    assert message is None and evidence.severity is None
    assert "restart" in fake.asked and evidence["deleted_libs_total"] == 0


def test_a_service_on_a_deleted_library_is_medium_with_its_evidence():
    message, evidence, _ = judge({"restart_services": ["cron"]}, SYSTEMD)
    assert evidence.severity == "medium"
    assert "4 process(es) still run deleted (upgraded) libraries: cron (pid 611)" in message
    first = evidence["deleted_libs"][0]
    assert first == {"service": "cron", "pid": 611, "comm": "cron", "restartable": "cron",
                     "paths": ["/usr/lib/x86_64-linux-gnu/libc.so.6",
                               "/usr/lib/x86_64-linux-gnu/libpam.so.0.85.1"]}
    assert evidence["deleted_libs"][1]["restartable"] is None   # the session's cron
    assert evidence["deleted_libs_source"] == "scan"


def test_the_capture_fails_the_check():
    message, evidence, _ = judge({}, SCAN)
    assert evidence.severity == "medium" and "sleep (pid 26172), fcdemod (pid 26173)" in message


def test_check_deleted_libs_false_turns_it_off():
    message, evidence, fake = judge({"check_deleted_libs": False}, SCAN)
    assert message is None and "restart" not in fake.asked
    host = SimpleNamespace(vars={"updates": {"check_deleted_libs": False}}, facts=fake)
    assert "restart" not in [r if isinstance(r, str) else r[0]
                             for r in CHECK._reads(host, None)]
    host.vars = {"updates": {}}
    assert "restart" in list(CHECK._reads(host, None))


def test_the_severity_is_the_worst_findings():
    message, evidence, _ = judge({}, SCAN, apt=apt_sim("lab_security_update"))
    assert evidence.severity == "high" and "security update" in message
    message, evidence, _ = judge({}, apt=apt_sim("debian12_117_upgrades"))
    assert evidence.severity == "high"                          # 71 are security ones
    message, evidence, _ = judge({}, pkgstate=pkgstate(lists_mtime=1_000_000 - 30 * 86400))
    assert evidence.severity == "low" and "30 days old" in message
    message, evidence, _ = judge({}, pkgstate=pkgstate(lists_mtime=None))
    assert evidence.severity == "low" and "never updated" in message
    message, evidence, _ = judge({}, pkgstate=pkgstate(reboot_required=True))
    assert evidence.severity == "medium"
    message, evidence, _ = judge({}, pkgstate=pkgstate(
        lists_mtime=1_000_000 - 30 * 86400, reboot_required=True))
    assert evidence.severity == "medium"    # reboot (medium) over stale lists (low)


def test_other_updates_above_the_budget_are_low():
    sim = apt.AptSimulation(upgrades=[apt.AptUpgrade(f"p{i}", "1", "2", "amd64",
                                                     [apt.AptRelease("Debian", "12",
                                                                     "stable")])
                                      for i in range(3)], upgraded=3)
    message, evidence, _ = judge({"max_pending": 2}, apt=sim)
    assert evidence.severity == "low" and "3 pending update(s) (tolerated: 2)" in message
    assert judge({"max_pending": 3}, apt=sim)[0] is None


def test_needrestart_kernel_status_is_a_reboot_due():
    message, evidence, _ = judge({}, NEEDRESTART)
    assert "needrestart: the running kernel 6.1.0-9-amd64 is not the newest installed " \
           "(6.1.0-26-amd64): reboot" in message
    assert "2 service(s) still run deleted (upgraded) libraries: cron, ssh" in message
    assert evidence.severity == "medium" and evidence["needrestart_kernel_status"] == 3


def test_a_restart_fact_that_fails_is_a_finding_not_a_crash():
    from fleetcheck.facts import FactError
    message, evidence, _ = judge({}, FactError("`needrestart` exited 255: Can't locate"))
    assert "cannot tell which processes run deleted libraries" in message
    assert evidence.severity == "medium" and "exited 255" in evidence["deleted_libs_error"]


# ------------------------------------------------------------------ the vars


def test_the_vars_are_declared_and_their_names_are_checked_at_load():
    assert check_var("updates", {"restart_services": ["cron", "ssh"],
                                 "check_deleted_libs": False}) is None
    assert "updates.restart_services[0]" in check_var("updates",
                                                      {"restart_services": ["-x"]})
    assert "updates.restart_services" in check_var("updates", {"restart_services": "cron"})
    assert "check_deleted_libs" in check_var("updates", {"check_deleted_libs": "no"})
    conf = update_settings({"updates": {}})
    assert conf["check_deleted_libs"] is True and conf["restart_services"] == []


# ------------------------------------------------------------------ the fix


def plan(updates, restart_text=SYSTEMD, service=None, **facts):
    values = dict(pkgstate=pkgstate(), apt=apt_sim(),
                  restart=restart.parse(restart_text),
                  service=service or ServiceState("systemd", running=True, enabled=True))
    values.update(facts)
    ctx = PlanContext("updates.applied", "web1", {"updates": updates}, Facts(**values))
    return lookup("updates.applied")(ctx)


def test_the_fix_restarts_only_the_named_services_that_run_deleted_libraries():
    p = plan({"restart_services": ["cron", "ssh"]})
    (action,) = p.actions
    assert isinstance(action, Service) and (action.name, action.operation) == ("cron",
                                                                               "restart")
    assert "pid 611" in action.summary


def test_the_fix_restarts_after_the_upgrade():
    p = plan({"auto_apply": True, "restart_services": ["cron"]},
             apt=apt_sim("lab_security_update"))
    assert [type(a).__name__ for a in p.actions] == ["RunCommand", "Service"]
    assert "upgrade" in p.actions[0].command.render()


def test_the_fix_refuses_what_the_inventory_does_not_name():
    p = plan({"restart_services": ["ssh"]})
    assert p.refused and "not in updates.restart_services" in p.reason
    assert "cron (pid 611)" in p.reason and "pipewire (pid 2101)" in p.reason
    p = plan({})          # no upgrade allowed, nothing restartable: as before
    assert p.refused and "auto_apply" in p.reason and "restart_services" in p.reason


def test_the_fix_restarts_sysv_services_by_comm_and_refuses_one_without_a_script():
    p = plan({"restart_services": ["fcdemod"]}, SCAN,
             service=ServiceState("sysv", running=True, enabled=True, known=True))
    assert [(a.name, a.operation) for a in p.actions] == [("fcdemod", "restart")]
    p = plan({"restart_services": ["fcdemod"]}, SCAN,
             service=ServiceState("sysv", running=True, enabled=True, known=False))
    assert p.refused and "no init script" in p.reason and "sleep (pid 26172)" in p.reason


def test_sshd_is_restarted_only_where_the_inventory_names_it():
    sysv = ServiceState("sysv", running=True, enabled=True, known=True)
    p = plan({"restart_services": ["cron"]}, NEEDRESTART, service=sysv)
    assert [a.name for a in p.actions] == ["cron"]
    p = plan({"restart_services": ["cron", "ssh"]}, NEEDRESTART, service=sysv)
    assert [a.name for a in p.actions] == ["cron", "ssh"]


def test_the_fix_with_nothing_stale_or_turned_off_does_nothing():
    p = plan({"restart_services": ["cron"]}, CLEAN)
    assert p.refused and p.reason == "nothing to upgrade or restart"
    p = plan({"restart_services": ["cron"], "check_deleted_libs": False})
    assert p.refused and "auto_apply" in p.reason


@pytest.mark.parametrize("services", ["cron", [["cron"]], ["-x"], ["a/b"], ["a\nb"], [3.5],
                                      {"cron": True}])
def test_hostile_restart_services_are_refused(services):
    p = plan({"restart_services": services})
    assert p.refused and "restart_services" in p.reason and not p.actions
