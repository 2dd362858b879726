"""The floor: what the network and the commands themselves cost.

One SSH session per host (plain paramiko), running in one batch every command the
audit ran on that host (read from the audit's --command-log), all hosts at once in
threads; then the host's controller-side probes (smbclient -L, showmount -e), as the
audit runs them. No test framework, no parsing, no cache: nothing an audit tool could
save. Every byte of output is read, as the audit reads it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import paramiko

# After each command: a line the batch's reader could split on (the audit needs each
# command's output apart; the floor only reads them).
MARK = "__fleetcheck_floor_rc"


def commands_by_host(log: Path) -> dict[str, dict[str, list[str]]]:
    """{host: {"host": [commands], "controller": [commands]}} from a command log, in
    the order the audit ran them, each once (the audit's own cache runs each once)."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"host": [], "controller": []})
    for line in log.read_text().splitlines():
        row = json.loads(line)
        where = out[row["host"]][row["on"]]
        if row["command"] not in where:
            where.append(row["command"])
    return dict(out)


def batch(commands: list[str]) -> str:
    """One shell script running each command in its own `sh -c`, as the audit does
    (one failing or exiting command does not end the batch)."""
    return "\n".join(f"sh -c {shlex.quote(c)} </dev/null; echo {MARK}=$?" for c in commands)


def one_host(entry, commands: dict[str, list[str]], key_file: str, known_hosts: str,
             timeout: float) -> str | None:
    """Run one host's batch; None, or what went wrong."""
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(entry.address, port=entry.port or 22, username=entry.user or "root",
                       key_filename=key_file, timeout=timeout, banner_timeout=timeout,
                       auth_timeout=timeout, look_for_keys=False, allow_agent=False)
        if commands["host"]:
            _, stdout, stderr = client.exec_command(batch(commands["host"]), timeout=300)
            stdout.read()
            stderr.read()
            if stdout.channel.recv_exit_status() < 0:
                return "the batch ended without an exit status"
    except (OSError, paramiko.SSHException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    for command in commands["controller"]:
        subprocess.run(["/bin/sh", "-c", command], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=300, check=False)
    return None


def run_floor(entries: dict, commands: dict[str, dict[str, list[str]]], key_file: str,
              known_hosts: str, timeout: float = 5.0) -> dict:
    """Every host at once; the wall time until the last one is done."""
    problems: dict[str, str] = {}

    def work(name: str) -> None:
        problem = one_host(entries[name], commands.get(name, {"host": [], "controller": []}),
                           key_file, known_hosts, timeout)
        if problem:
            problems[name] = problem

    threads = [threading.Thread(target=work, args=(name,)) for name in entries]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": time.monotonic() - start, "hosts": len(entries),
            "failed": problems,
            "commands": sum(len(c["host"]) + len(c["controller"]) for c in commands.values())}
