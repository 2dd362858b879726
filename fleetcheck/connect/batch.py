"""Several commands of one host in one remote command, and their outputs apart.

Each command a host runs costs a channel (open, exec, exit status, close): under load,
more than the small command itself (`cat /proc/loadavg`). The gathering
(fleetcheck.gather) sends the facts it knows ahead in one script instead: each command
runs in its own subshell with stdin from /dev/null (an `exit` or `cd` stays inside it),
and after each, a line with a marker and its exit status goes to stdout and a marker
line to stderr. The marker is random per batch, so no output can fake one. A newline
goes before each marker line, so an output without a final newline stays as it was.

The script runs under /bin/sh whatever the login shell; commands are POSIX already.
Nothing is written on the host: the markers go to the channel's own streams.
"""

from __future__ import annotations

import re
import secrets
import shlex


def new_mark() -> str:
    return f"__fleetcheck_{secrets.token_hex(8)}"


def script(commands: list[str], mark: str) -> str:
    """One /bin/sh command line running `commands` in order."""
    body = "\n".join(
        f"( {command}\n) </dev/null; printf '\\n{mark} %d\\n' $?; printf '\\n{mark}\\n' >&2"
        for command in commands)
    return "/bin/sh -c " + shlex.quote(body)


def split(stdout: str, stderr: str, mark: str, count: int) -> list[tuple[int, str, str]] | None:
    """[(rc, stdout, stderr)] of each command, or None when the output does not hold
    exactly `count` complete markers on each stream (the batch broke off)."""
    out_parts = re.split(rf"\n{re.escape(mark)} (\d+)\n", stdout)
    err_parts = stderr.split(f"\n{mark}\n")
    # out: [out1, rc1, out2, rc2, ..., rest]; err: [err1, ..., errN, rest]
    if len(out_parts) != 2 * count + 1 or len(err_parts) != count + 1:
        return None
    if out_parts[-1] or err_parts[-1]:
        return None  # something after the last marker: not this script's output
    return [(int(out_parts[2 * i + 1]), out_parts[2 * i], err_parts[i]) for i in range(count)]
