"""Rollback puts back the runtime state a fix changed, as the fix declared it
(Plan.on_rollback, recorded in the journal), and says precisely what it did not
restore. The plans here are the real fixes' (pure, facts as data); the rollback runs
on this machine (sh in a temporary directory), with a toy fix whose "runtime" is a
file its commands write."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from fleetcheck.facts.base import Command
from fleetcheck.facts.file import FileState
from fleetcheck.facts.service import ServiceState
from fleetcheck.facts.sysctl import Sysctl
from fleetcheck.remediation import PlanContext, RunCommand, WriteFile, engine, lookup
from fleetcheck.remediation.model import Plan
from fleetcheck.remediation.rollback import load_journals, merge, rollback_host

REPO = Path(__file__).resolve().parents[2]


class Facts:
    def __init__(self, **values):
        self.values = values

    def get(self, fact, /, **params):
        return self.values[fact]


def file_state(content: bytes | None) -> FileState:
    if content is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "root", base64.b64encode(content).decode())


def plan(check_id, vars, item, **facts):
    return lookup(check_id)(PlanContext(check_id, "web1", vars, Facts(**facts), item))


def rendered(actions) -> list[str]:
    return [a.command.render() if isinstance(a, RunCommand) else f"{a.operation} {a.name}"
            for a in actions]


# ----------------------------------------------------------- what each fix declares


def test_sysctl_sets_back_exactly_the_value_it_changed():
    p = plan("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": 0}}, "net.ipv4.ip_forward",
             sysctl=Sysctl({"net.ipv4.ip_forward": "1"}), file=file_state(None))
    assert rendered(p.on_rollback) == ["sysctl -w net.ipv4.ip_forward=1"]
    assert p.to_json()["on_rollback"][0]["command"] == "sysctl -w net.ipv4.ip_forward=1"


def test_sysctl_that_only_persists_has_no_runtime_to_restore():
    p = plan("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": 0}}, "net.ipv4.ip_forward",
             sysctl=Sysctl({"net.ipv4.ip_forward": "0"}), file=file_state(None))
    assert [type(a).__name__ for a in p.actions] == ["WriteFile"] and p.on_rollback == []


def test_sshd_validates_and_reloads_from_the_restored_file():
    p = plan("sshd.config", {"sshd": {"PermitRootLogin": "no"}}, "PermitRootLogin",
             file=file_state(b"PermitRootLogin yes\n"))
    assert rendered(p.on_rollback) == ["sshd -t", "reload ssh"]


def test_service_stops_and_disables_what_it_started_and_enabled():
    p = plan("service.running", {"services": ["cron"]}, "cron",
             service=ServiceState("systemd", running=False, enabled=False))
    assert rendered(p.on_rollback) == ["stop cron", "disable cron"]
    p = plan("service.running", {"services": ["cron"]}, "cron",
             service=ServiceState("systemd", running=False, enabled=True))
    assert rendered(p.on_rollback) == ["stop cron"]


# ------------------------------------------------------------- rollback on a "host"


class LocalHost:
    def __init__(self, base: Path):
        self.name = "h1"
        self.vars = {"fleetcheck_lock_dir": str(base / "lock"),
                     "fleetcheck_backup_dir": str(base / "backups")}
        self.command_timeout = 5.0

    def run(self, command):
        res = subprocess.run(["/bin/sh", "-c", command.render()], capture_output=True,
                             text=True)
        return SimpleNamespace(command=command.render(), rc=res.returncode,
                               stdout=res.stdout, stderr=res.stderr)


def toy_plan(conf: Path, state: Path, value: str, undo: bool = True) -> Plan:
    """Write `value` into conf and "reload": the daemon's runtime (the file `state`)
    takes conf's content; after a restore, reload again from the restored conf."""
    before = conf.read_bytes()
    reload = Command("cp -- %s %s", str(conf), str(state))
    p = Plan("demo.conf", "h1", [
        WriteFile("set value", path=str(conf), content=value.encode(), before=before),
        RunCommand("reload", command=reload)])
    if undo:
        p.after_restore(RunCommand("check the restored file", command=Command(
                            "sh -c %s check %s", '! grep -qx bad -- "$1"', str(conf))),
                        RunCommand("reload from the restored file", command=reload))
    return p


def apply(tmp_path, p):
    engine.apply(p, LocalHost(tmp_path), engine.ApplyContext("run-1", tmp_path / "run"
                                                            / "backups" / "h1"))


def rollback(tmp_path):
    (data,) = load_journals(tmp_path / "run").values()
    return rollback_host(LocalHost(tmp_path), merge(data["files"], data["plans"]), "run-1",
                         force=False, plans=data["plans"])


def test_rollback_restores_the_file_then_runs_what_the_fix_declared(tmp_path):
    conf, state = tmp_path / "app.conf", tmp_path / "runtime"
    conf.write_text("old\n")
    state.write_text("old\n")
    apply(tmp_path, toy_plan(conf, state, "new\n"))
    apply(tmp_path, toy_plan(conf, state, "newer\n"))
    assert state.read_text() == "newer\n"
    journal = json.loads((tmp_path / "run" / "backups" / "h1" / "manifest.json").read_text())
    assert [s["summary"] for s in journal["plans"][0]["on_rollback"]] == [
        "check the restored file", "reload from the restored file"]
    outcomes = rollback(tmp_path)
    assert [(o.path, o.status) for o in outcomes] == [
        (str(conf), "restored"), ("demo.conf", "ran"), ("demo.conf", "ran")]
    # the same commands ran once (for the last plan), not again for the first
    assert outcomes[1].detail == "`check the restored file`, `reload from the restored file`"
    assert outcomes[2].detail == "its commands already ran for another fix"
    assert conf.read_text() == "old\n" and state.read_text() == "old\n"


def test_a_file_not_restored_does_not_get_its_commands_run(tmp_path):
    conf, state = tmp_path / "app.conf", tmp_path / "runtime"
    conf.write_text("old\n")
    apply(tmp_path, toy_plan(conf, state, "new\n"))
    conf.write_text("changed by hand\n")
    outcomes = rollback(tmp_path)
    assert [o.status for o in outcomes] == ["refused", "not run"]
    assert outcomes[1].detail == (f"{conf} not restored, so not run: `check the restored "
                                  "file`, `reload from the restored file`")
    assert state.read_text() == "new\n"


def test_a_fix_that_declares_nothing_is_said_not_undone(tmp_path):
    conf, state = tmp_path / "app.conf", tmp_path / "runtime"
    conf.write_text("old\n")
    apply(tmp_path, toy_plan(conf, state, "new\n", undo=False))
    outcomes = rollback(tmp_path)
    assert [o.status for o in outcomes] == ["restored", "not undone"]
    assert outcomes[1].detail == ("the fix ran `reload` and declares nothing to undo it: "
                                  "check by hand")
    assert all(o.ok for o in outcomes)   # its files are back: said, not a failure


def test_a_failing_after_restore_command_stops_the_rest(tmp_path):
    conf, state = tmp_path / "app.conf", tmp_path / "runtime"
    conf.write_text("bad\n")
    p = toy_plan(conf, state, "new\n")   # the restored file does not pass the check
    apply(tmp_path, p)
    (restored, after) = rollback(tmp_path)
    assert restored.status == "restored" and after.status == "failed" and not after.ok
    assert after.detail == ("`check the restored file` failed (exit 1: ); "
                            "not run: `reload from the restored file`")


# ----------------------------------------- the real sysctl fix, in a network namespace

ROUNDTRIP = r"""set -e
mount --make-rprivate /
mount -t tmpfs fleetcheck-test /etc/sysctl.d
cd "$1"
sysctl -n net.ipv4.ip_forward > "$2/before"
"$3" -m pytest --inventory "$2/inv.yml" --reports-dir "$2/reports" -q -p no:randomly \
    -p no:cacheprovider -k "sysctl and not baseline" --remediate > "$2/run.out" 2>&1 || true
sysctl -n net.ipv4.ip_forward > "$2/fixed"
cat /etc/sysctl.d/99-fleetcheck.conf > "$2/persisted"
run=$(basename "$(readlink -f "$2/reports/last")")
"$3" -m fleetcheck rollback "$run" --reports-dir "$2/reports" > "$2/rollback.out" 2>&1 \
    && echo 0 > "$2/rc" || echo $? > "$2/rc"
sysctl -n net.ipv4.ip_forward > "$2/after"
ls -A /etc/sysctl.d > "$2/left"
"""


@pytest.mark.root("unshare a network and a mount namespace")
def test_sysctl_fix_then_rollback_sets_the_kernel_value_back(tmp_path):
    """net.ipv4.ip_forward of a fresh network namespace (0), /etc/sysctl.d a tmpfs of
    a private mount namespace: this machine's own values and files are not touched."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is missing")
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n    localhost: {ansible_connection: local, "
        f"fleetcheck_backup_dir: {tmp_path}/hostbackups, fleetcheck_lock_dir: {tmp_path}/lock}}\n"
        "  vars:\n    sysctl: {net.ipv4.ip_forward: 1}\n")
    subprocess.run(["unshare", "-m", "-n", "sh", "-c", ROUNDTRIP, "roundtrip", str(REPO),
                    str(tmp_path), sys.executable], check=True, timeout=120)

    def read(name):
        return (tmp_path / name).read_text().strip()

    assert (read("before"), read("fixed"), read("after")) == ("0", "1", "0"), read("run.out")
    assert read("persisted").endswith("net.ipv4.ip_forward = 1")
    assert read("rc") == "0", read("rollback.out")
    assert read("rollback.out").splitlines() == [
        "localhost /etc/sysctl.d/99-fleetcheck.conf: removed",
        "localhost sysctl.value[net.ipv4.ip_forward]: ran: "
        "`sysctl -w net.ipv4.ip_forward=0 (its value before the fix)`, "
        # the kernel resets it when forwarding changes: the fix set the baseline's 0
        # after ip_forward, the rollback the namespace's 1
        "`sysctl -w net.ipv4.conf.all.accept_redirects=1 (its value before the fix)`"]
    assert read("left") == ""
