"""`--command-log FILE`: every command the run sends, one JSON line each.

What an auditor asks of an audit tool ("what exactly did you run on my hosts?"), and
what bench/ replays to measure the floor. Each line: host, where it ran ("host", or
"controller" for probes such as smbclient -L), the command, its exit code, seconds,
when it ended, which xdist worker ran it, and ``executed``: what was executed for it,
exactly, become wrapper (sudo/su) included:

- a list, the argv of the process started on the controller: the ssh binary's
  (``["ssh", "-o", ..., "--", "10.0.0.5", "sudo -n -- /bin/sh -c 'cat /etc/hostname'"]``),
  ``["/bin/sh", "-c", ...]`` for the local connection and the controller's probes;
- a string, the command of the exec request sent on a paramiko channel, as sent.

A command that timed out or whose connection was lost while it ran has "rc" null and
``error``, the one-line reason. Never the output: that may hold what the report leaves
out; no password ever reaches a command line (fleetcheck holds none). Not logged:
the `true` fleetcheck sends to open a connection and to probe one after a timeout.

A command sent in a batch (fleetcheck.connect.batch) has its own line, its own exit code and
`batch`: how many commands went together, their seconds (its own "seconds" is null:
one batch is timed as a whole), whether the batch came back whole, the batch's id and
the command's index in it; the first line of a batch (index 0) holds ``executed`` for
the whole batch, the others null. When the batch did not come back whole, "rc" is
null and each command is sent again alone.

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
                 batch: tuple[int, float, bool, str, int] | None = None) -> None:
        """Log ``result`` (fleetcheck.connect.hosts.CommandResult); ``batch``: (commands,
        seconds, complete, id, index) when it was sent in one."""
        row = {"host": host, "on": where, "command": result.command, "rc": result.rc,
               "seconds": None if result.duration is None else round(result.duration, 4),
               "at": round(time.time(), 3), "worker": self.worker,
               "executed": getattr(result, "executed", None)}
        error = getattr(result, "error", None)
        if error is not None:
            row["error"] = error
        if batch is not None:
            row["batch"] = {"commands": batch[0], "seconds": round(batch[1], 4),
                            "complete": batch[2], "id": batch[3], "index": batch[4]}
        line = json.dumps(row) + "\n"
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, line.encode())

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
