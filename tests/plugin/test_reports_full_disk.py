"""A full reports directory: the run writes what fits, says what it could not, leaves
no truncated file and no traceback, and a run that would pass exits 3.

The full disk is real: a 64 KiB tmpfs mounted for the test (root, as `make test` runs)
and filled but for a few KiB, so results.json, report.html and junit.xml do not fit.
"""

import os
import subprocess

import pytest

CHECKS = """
import pytest

@pytest.mark.check("demo.ok", severity="high", title="always passes")
def test_ok(host):
    assert host.name
"""

INV = """
all:
  hosts:
    a: {ansible_connection: local}
    b: {ansible_connection: local}
"""


@pytest.fixture
def full_dir(tmp_path):
    where = tmp_path / "reports"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "fleetcheck-test", str(where)],
                   check=True)
    try:
        fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 1024):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        # leave room for the run directory, not for the reports in it
        os.truncate(where / "filler", os.path.getsize(where / "filler") - 2048)
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.mark.root("mount a tmpfs")
def test_full_reports_dir_says_what_it_could_not_write(pytester, full_dir):
    pytester.makefile(".yml", inv=INV)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "--reports-dir",
                                        str(full_dir))
    out = res.stdout.str() + res.stderr.str()
    assert "Traceback" not in out and "INTERNALERROR" not in out
    assert res.ret == 3, out          # the checks passed, the reports are incomplete
    for name in ("results.json", "junit.xml", "report.html"):
        assert f"ERROR: reports incomplete: {name} not written: No space left on device" \
            in out, out
    run_dir = next(p for p in full_dir.iterdir() if p.is_dir())
    # nothing truncated left behind: every report file is either whole or absent
    assert sorted(p.name for p in run_dir.iterdir()) == []
    # the summary still reached the terminal
    res.stdout.fnmatch_lines(["*fleetcheck summary*", "a  1 passed", "b  1 passed",
                              "reports (INCOMPLETE, see below): *"])
    assert "Generated html report" not in out
