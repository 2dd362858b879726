"""Wall time and peak memory of a command and every process it starts.

Memory is sampled from /proc every 50 ms over the whole process tree (pytest and its
xdist workers, ansible-playbook and its forks): the peak of the summed RSS (what `ps`
shows; shared pages counted once per process, so an overestimate) and of the summed
PSS (shared pages split among their sharers: what the tree really costs the machine).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_EVERY = 0.05


@dataclass
class Measured:
    seconds: float
    rc: int
    peak_rss_mb: float
    peak_pss_mb: float
    output: str


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _tree(root: int) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(_children(pid))
    return out


def _kb(pid: int, path: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_memory_kb(root: int) -> tuple[int, int]:
    """(summed RSS, summed PSS) of a process and its descendants, in KiB."""
    pids = _tree(root)
    return (sum(_kb(p, "status", "VmRSS:") for p in pids),
            sum(_kb(p, "smaps_rollup", "Pss:") for p in pids))


def run(argv: list[str], *, cwd: Path | None = None, env: dict | None = None,
        timeout: float = 1800) -> Measured:
    """Run argv to the end; its wall time, exit code, peak memory and output tail."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            errors="replace")
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss = tree_memory_kb(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            done.wait(SAMPLE_EVERY)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        output += f"\n[bench] killed after {timeout:g}s"
    seconds = time.monotonic() - start
    done.set()
    sampler.join()
    return Measured(seconds, proc.returncode, peak[0] / 1024, peak[1] / 1024,
                    output[-3000:])


def python_env() -> dict[str, str]:
    """The environment for a measured run: no inherited PYTEST_ADDOPTS or xdist vars."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "ANSIBLE_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
