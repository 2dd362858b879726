"""Rolling limits across every xdist worker of a run: at most `serial` hosts changed at
once, `interval` seconds between starting changes on successive hosts, no more
changes after `max_fail` failed fixes.

Workers are processes on the controller, so the coordination is a directory of the
run with flock()ed files: one lock file per slot, and a small JSON state under a lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RollingLimits:
    serial: int | None = None
    interval: float = 0.0
    max_fail: int | None = None


class RollingPolicy:
    def __init__(self, directory: Path, limits: RollingLimits):
        self.dir = directory
        self.limits = limits
        self.dir.mkdir(parents=True, exist_ok=True)
        self._slot_fd: int | None = None

    @contextmanager
    def _state(self):
        fd = os.open(self.dir / "state.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = self.dir / "state.json"
            state = json.loads(path.read_text()) if path.exists() else {
                "started": [], "last_start": 0.0, "failures": 0}
            yield state
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, path)
        finally:
            os.close(fd)

    def _max_fail_reached(self, state) -> str | None:
        if self.limits.max_fail is not None and state["failures"] >= self.limits.max_fail:
            return (f"not attempted: --max-fail {self.limits.max_fail} reached "
                    f"({state['failures']} failed fixes)")
        return None

    def begin(self, host: str) -> str | None:
        """Wait for a slot and the interval; None to go ahead, else why not."""
        with self._state() as state:
            if reason := self._max_fail_reached(state):
                return reason
        self._take_slot()
        while True:
            with self._state() as state:
                if reason := self._max_fail_reached(state):
                    self._free_slot()
                    return reason
                if host in state["started"]:
                    return None
                wait = state["last_start"] + self.limits.interval - time.time()
                if wait <= 0:
                    state["started"].append(host)
                    state["last_start"] = time.time()
                    return None
            time.sleep(min(wait, 1.0))

    def end(self, failed: bool) -> None:
        if failed:
            with self._state() as state:
                state["failures"] += 1
        self._free_slot()

    def _take_slot(self) -> None:
        if not self.limits.serial:
            return
        while True:
            for i in range(self.limits.serial):
                fd = os.open(self.dir / f"slot-{i}.lock", os.O_CREAT | os.O_RDWR, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                self._slot_fd = fd
                return
            time.sleep(0.2)

    def _free_slot(self) -> None:
        if self._slot_fd is not None:
            os.close(self._slot_fd)  # closing releases the flock
            self._slot_fd = None
