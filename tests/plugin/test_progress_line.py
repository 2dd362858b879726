"""The progress line on a real terminal (fleetcheck.report.progress): pytest runs in a
subprocess whose output is a pseudo-terminal (the pty module), with and without -n 2;
the same run into a pipe has no progress line, byte for byte pytest's own output.

One host, slow-1, gathers until the others' checks are through: its declared fact
reads a FIFO that the last check of host b writes (so no timing decides it, on a busy
machine too); meanwhile the others' checks report (each sleeps a little), and the line
names slow-1 among the hosts gathering. The run's conftest.py lowers SLOW_AFTER, the
seconds before a gathering host is named, for that. The pure parts (counts, the
slowest, the width, when the line is off) are tests/unit/test_progress.py."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

INV = """
all:
  vars:
    ticks: [t0, t1, t2, t3, t4, t5]
    fifo: {fifo}
    wait_for: /etc/hostname
  hosts:
    a: {{ansible_connection: local}}
    b: {{ansible_connection: local}}
    slow-1: {{ansible_connection: local, wait_for: {fifo}}}
"""

CHECKS = """
import errno
import os
import time
import pytest

def waited(host, item):
    return [("file", {"path": host.vars["wait_for"]})]

@pytest.mark.check("demo.wait", facts=[waited])
def test_wait(host, facts):
    assert facts.get("file", path=host.vars["wait_for"]).exists

def release(fifo):
    \"\"\"slow-1's gathering reads the FIFO: write it once that reader is there.\"\"\"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            time.sleep(0.05)     # no reader yet
            continue
        os.write(fd, b"x")
        os.close(fd)
        return

@pytest.mark.check("demo.tick", facts=[], items="ticks")
def test_tick(host, item):
    time.sleep(0.15)
    if host.name == "b" and item == "t5":
        release(host.vars["fifo"])
    assert host.name != "b", "b is bad"
"""

CONFTEST = """
from fleetcheck.report import progress
progress.SLOW_AFTER = 0.3
"""

TESTS = 3 * (1 + 6)
COLUMNS = 120
LINE = re.compile(rb"\rfleetcheck: (\d)/3 hosts done, (\d+)/%d checks" % TESTS)


def run(pytester, *args: str, tty: bool = True, **env: str) -> bytes:
    """pytest's output, everything it wrote to its stdout and stderr."""
    fifo = pytester.path / "gate.fifo"
    os.mkfifo(fifo)
    pytester.makefile(".yml", inv=INV.format(fifo=fifo))
    pytester.makepyfile(test_demo=CHECKS, conftest=CONFTEST)
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("PYTEST_") and k not in ("NO_COLOR", "PY_COLORS")}
    environ.update({"TERM": "xterm", "COLUMNS": str(COLUMNS), **env})
    argv = [sys.executable, "-m", "pytest", "--inventory", "inv.yml", "-p",
            "no:cacheprovider", *args]
    if not tty:
        done = subprocess.run(argv, cwd=pytester.path, env=environ, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        return done.stdout
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    proc = subprocess.Popen(argv, cwd=pytester.path, env=environ, stdin=slave,
                            stdout=slave, stderr=slave)
    os.close(slave)
    out, deadline = b"", time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:    # EIO: the child's side is closed
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        proc.wait(timeout=30)
    return out


def colourless(out: bytes) -> bytes:
    return re.sub(rb"\x1b\[[0-9;]*m", b"", out)


def assert_progress(out: bytes) -> None:
    lines = LINE.findall(out)
    assert lines, out
    assert lines[0] == (b"0", b"0")                       # drawn at the first test
    assert any(int(done) > 0 for done, _ in lines)        # hosts done as their tests end
    assert [int(n) for _, n in lines] == sorted(int(n) for _, n in lines)
    assert re.search(rb"checks, \d+ failed", out)          # b's findings, as they come
    assert re.search(rb"; gathering: slow-1 \(\d s\)", out)
    # pytest's own progress is not written: no file name and dots, no percentage
    assert b"test_demo.py ." not in out and b"%]" not in out
    # erased at the end (spaces over it), and pytest's summary on a clean line after
    last = out.rindex(b"\rfleetcheck: ")
    erase = re.compile(rb"\r( +)\r\r\n").search(out, last)
    assert erase is not None, out[last:last + 300]
    drawn = out[last + 1:erase.start()]
    assert len(erase.group(1)) >= len(drawn.rstrip(b" ")) and b"\n" not in drawn
    assert b"\x1b" not in drawn                       # no colour, no escape sequence
    rest = out[erase.end():]
    assert b"hosts done" not in rest
    assert b"= fleetcheck summary =" in rest and b"  [medium] demo.tick[t0]  b is bad" in rest
    assert re.search(rb"\d+ failed, \d+ passed", rest)    # pytest's counts, as ever
    # the short summary's words are pytest's again (pytest_report_teststatus)
    assert b"\nFAILED test_demo.py::test_tick[b-t0] - b is bad" in colourless(rest)


def assert_pytests_own(out: bytes) -> None:
    assert b"hosts done" not in out and b"\rfleetcheck" not in out
    assert b"= fleetcheck summary =" in out


def test_on_a_terminal_the_line_says_hosts_done_and_the_slowest(pytester):
    assert_progress(run(pytester))


def test_without_a_terminal_the_output_is_pytests(pytester):
    out = run(pytester, tty=False)
    assert_pytests_own(out)
    assert b"\r" not in out                      # nothing rewritten in place
    assert re.search(rb"\ntest_demo\.py [.F]+ +\[100%\]\n", out)   # the dots, as ever


def test_under_xdist_the_controller_draws_it(pytester):
    out = run(pytester, "-n", "2")
    assert_progress(out)
    assert b"2 workers [%d items]" % TESTS in out


def test_under_xdist_without_a_terminal_the_output_is_pytests(pytester):
    out = run(pytester, "-n", "2", tty=False)
    assert_pytests_own(out)
    assert b"\r" not in out and b"[100%]" in out


def test_quiet_keeps_pytests_dots(pytester):
    """So do -v, -s, TERM=dumb and the others of why_not_shown (tests/unit)."""
    out = run(pytester, "-q")
    assert_pytests_own(out)
    assert re.search(rb"(?:^|\n)[.F]{%d} +\[100%%\]\r\n" % TESTS, colourless(out))
