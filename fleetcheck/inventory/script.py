"""Inventory scripts: an executable inventory file is run as Ansible runs one,
``SCRIPT --list``, and its standard output read as dynamic-inventory JSON.

The script runs in its own process group with stdin closed; when it outlives its
timeout, or prints more than MAX_SOURCE_BYTES, the whole group is killed. Every
failure is one line (exit code and the last line of stderr, a timeout, too much
output, output that is not JSON).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from .dynamic import RefusedJSON, loads
from .errors import MAX_SOURCE_BYTES, InventoryError, one_line

DEFAULT_TIMEOUT = 30.0
CHUNK = 1 << 16
STDERR_KEPT = 64 * 1024  # the end of stderr is enough for its last line


def is_script(path: str) -> bool:
    """An executable regular file starting with '#!' (an executable YAML file written
    without a shebang is read as YAML, as a checkout with odd modes expects)."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def run_script(path: str, timeout: float = DEFAULT_TIMEOUT,
               max_bytes: int | None = None) -> Any:
    """The JSON the script prints for ``--list`` (at most ``max_bytes`` of it, by
    default MAX_SOURCE_BYTES)."""
    max_bytes = MAX_SOURCE_BYTES if max_bytes is None else max_bytes
    try:
        proc = run_bounded([os.path.abspath(path), "--list"], timeout, max_bytes)
    except OSError as exc:
        raise InventoryError(f"cannot run the inventory script: {exc.strerror or exc}",
                             path) from None
    stdout, stderr, problem = proc.stdout, proc.stderr, proc.problem
    if problem == "timeout":
        raise InventoryError(
            f"the inventory script did not finish within {timeout:g}s (killed); "
            "--inventory-timeout sets the limit", path)
    if problem == "too much":
        raise InventoryError(
            f"the inventory script printed more than {max_bytes >> 20} MiB (killed; the "
            "limit of an inventory source)", path)
    if proc.returncode != 0:
        last = stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {one_line(last[-1])[:300]}" if last else ""
        how = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exited {proc.returncode}")
        raise InventoryError(f"the inventory script {how}{detail}", path)
    try:
        return loads(stdout.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InventoryError(f"the inventory script printed bytes that are not UTF-8 "
                             f"(byte {exc.start})", path) from None
    except json.JSONDecodeError as exc:
        what = "nothing" if not stdout.strip() else "output that is not JSON"
        raise InventoryError(f"the inventory script printed {what} "
                             f"(line {exc.lineno} column {exc.colno}: {exc.msg})", path) from None
    except RefusedJSON as exc:
        raise InventoryError(f"the inventory script printed JSON that fleetcheck refuses: "
                             f"{exc}", path) from None


@dataclass(frozen=True)
class Finished:
    """A bounded run: its exit code (negative: killed by that signal), what it printed
    (stdout whole, stderr's end) and why it was stopped (None | 'timeout' | 'too much')."""

    returncode: int
    stdout: bytes
    stderr: bytes
    problem: str | None


def run_bounded(argv: list[str], timeout: float, max_bytes: int,
                env: dict | None = None) -> Finished:
    """Run ``argv`` in a process group of its own with stdin closed, reading at most
    ``max_bytes`` of its output within ``timeout`` seconds; past either the whole
    group is killed. OSError when it cannot be started."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        stdout, stderr, problem = _read(proc, timeout, max_bytes)
    finally:
        if proc.poll() is None:
            _kill(proc)
        proc.stdout.close()
        proc.stderr.close()
    return Finished(proc.returncode, bytes(stdout), stderr, problem)


def _read(proc: subprocess.Popen, timeout: float, max_bytes: int):
    """(stdout, the end of stderr, None | 'timeout' | 'too much'): both pipes read as
    they fill, stdout up to ``max_bytes``, stderr's last STDERR_KEPT bytes, until the
    script exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ, out)
        selector.register(proc.stderr, selectors.EVENT_READ, err)
        open_pipes = 2
        while open_pipes:
            left = deadline - time.monotonic()
            if left <= 0:
                _kill(proc)
                return out, bytes(err), "timeout"
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_pipes -= 1
                    continue
                key.data.extend(chunk)
                if key.data is out and len(out) > max_bytes:
                    _kill(proc)
                    return bytearray(), bytes(err), "too much"
                if key.data is err and len(err) > 2 * STDERR_KEPT:
                    del err[:-STDERR_KEPT]
    try:
        proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # closed its output but still runs
        _kill(proc)
        return out, bytes(err), "timeout"
    return out, bytes(err[-STDERR_KEPT:]), None


def _kill(proc: subprocess.Popen) -> None:
    """The script and every process it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
