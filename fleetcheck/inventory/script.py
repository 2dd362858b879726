"""Inventory scripts: an executable inventory file is run as Ansible runs one,
``SCRIPT --list``, and its standard output read as dynamic-inventory JSON.

The script runs in its own process group with stdin closed; when it outlives its
timeout the whole group is killed. Every failure is one line (exit code and the last
line of stderr, a timeout, output that is not JSON).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any

from .errors import InventoryError, one_line

DEFAULT_TIMEOUT = 30.0


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


def run_script(path: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """The JSON the script prints for ``--list``."""
    try:
        proc = subprocess.Popen([os.path.abspath(path), "--list"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        raise InventoryError(f"cannot run the inventory script: {exc.strerror or exc}",
                             path) from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise InventoryError(
            f"the inventory script did not finish within {timeout:g}s (killed); "
            "--inventory-timeout sets the limit", path) from None
    if proc.returncode != 0:
        last = stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {one_line(last[-1])[:300]}" if last else ""
        how = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exited {proc.returncode}")
        raise InventoryError(f"the inventory script {how}{detail}", path)
    try:
        return json.loads(stdout.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InventoryError(f"the inventory script printed bytes that are not UTF-8 "
                             f"(byte {exc.start})", path) from None
    except json.JSONDecodeError as exc:
        what = "nothing" if not stdout.strip() else "output that is not JSON"
        raise InventoryError(f"the inventory script printed {what} "
                             f"(line {exc.lineno} column {exc.colno}: {exc.msg})", path) from None
