"""`--command-log FILE`: every command the run sends, one JSON line each.

What an auditor asks of an audit tool ("what exactly did you run on my hosts?"), and
what bench/ replays to measure the floor. Each line: host, where it ran ("host", or
"controller" for probes such as smbclient -L), the command, its exit code, seconds,
when it ended and which xdist worker ran it. Never the output: that may hold what
the report leaves out. A command sent in a batch (fleetcheck.batch) has its own line,
its own exit code and `batch`: how many commands went together, their seconds (its
own "seconds" is null: one batch is timed as a whole) and whether the batch came
back whole; when it did not, "rc" is null and each command is sent again alone.

Workers of one run append to the same file: each line is one write() on an O_APPEND
descriptor, which the kernel does not interleave with another process's write.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any


class CommandLog:
    def __init__(self, path: str):
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._lock = threading.Lock()
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "")

    def __call__(self, host: str, where: str, result: Any,
                 batch: tuple[int, float, bool] | None = None) -> None:
        row = {"host": host, "on": where, "command": result.command, "rc": result.rc,
               "seconds": None if result.duration is None else round(result.duration, 4),
               "at": round(time.time(), 3), "worker": self.worker}
        if batch is not None:
            row["batch"] = {"commands": batch[0], "seconds": round(batch[1], 4),
                            "complete": batch[2]}
        line = json.dumps(row) + "\n"
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, line.encode())

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
