"""A user who may not create the host's lock (not root, no become) gets one line at
once, never a wait on a lock that does not exist. The "host" is this machine; the
lock scripts run as the real user `nobody` (runuser), the lock directory under a
root-owned 0755 directory."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from fleetcheck.remediation import WriteFile, engine, lock
from fleetcheck.remediation.model import Plan

pytestmark = pytest.mark.root("runuser, to run the lock script as the user nobody")


class NobodyHost:
    """What the lock and the engine need of a FleetHost: each command runs here as
    the user nobody, as the local backend runs it with ansible_become: false."""

    def __init__(self, base: Path):
        self.name = "h1"
        self.vars = {"fleetcheck_lock_dir": str(base / "fleetcheck.lock"),
                     "fleetcheck_backup_dir": str(base / "backups")}
        self.command_timeout = 5.0

    def run(self, command):
        rendered = command.render()
        res = subprocess.run(["runuser", "-u", "nobody", "--", "/bin/sh", "-c", rendered],
                             capture_output=True, text=True, cwd="/")
        return SimpleNamespace(command=rendered, rc=res.returncode, stdout=res.stdout,
                               stderr=res.stderr)


@pytest.fixture
def root_dir():
    base = Path(tempfile.mkdtemp(prefix="fleetcheck-lock-"))
    base.chmod(0o755)   # root's, readable by nobody, not writable
    yield base
    shutil.rmtree(base)


def test_permission_denied_is_one_line_at_once(root_dir):
    host = NobodyHost(root_dir)
    held = lock.HostLock(host, "run-1", timeout=30.0, lease=60)
    start = time.monotonic()
    with pytest.raises(lock.LockError) as err:
        held.acquire()
    assert time.monotonic() - start < 5      # not the 30 s lock timeout
    assert str(err.value) == (f"cannot create {root_dir}/fleetcheck.lock: permission denied; "
                              "run as root or set ansible_become")
    assert not list(root_dir.iterdir())


def test_a_fix_as_nobody_fails_at_once_and_changes_nothing(root_dir, tmp_path):
    conf = root_dir / "app.conf"
    conf.write_text("a\n")
    plan = Plan("demo.conf", "h1", [WriteFile("add", path=str(conf), content=b"a\nb\n",
                                               before=b"a\n")])
    start = time.monotonic()
    with pytest.raises(engine.ApplyFailed) as err:
        engine.apply(plan, NobodyHost(root_dir),
                     engine.ApplyContext("run-1", tmp_path / "backups" / "h1", lock_timeout=30))
    assert time.monotonic() - start < 5
    assert "permission denied; run as root or set ansible_become" in str(err.value)
    assert "locked by another" not in str(err.value)
    assert conf.read_text() == "a\n"


def test_root_still_takes_the_lock(root_dir):
    class RootHost(NobodyHost):
        def run(self, command):
            res = subprocess.run(["/bin/sh", "-c", command.render()], capture_output=True,
                                 text=True)
            return SimpleNamespace(rc=res.returncode, stdout=res.stdout, stderr=res.stderr)

    held = lock.HostLock(RootHost(root_dir), "run-1", timeout=1.0, lease=60)
    held.acquire()
    assert (root_dir / "fleetcheck.lock" / "owner").exists()
    held.release()
    assert not (root_dir / "fleetcheck.lock").exists()
