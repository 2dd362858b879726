"""`make bench`: the audit's cost against the floor and the peers, on the lab.

For each fleet size N (5 role hosts of inventories/lab.yml plus N-5 plain hosts),
on the same hosts and with the same remote commands, the median wall time of
--runs runs of:

  fleetcheck   the full audit, one process (-n 0: facts of every host are gathered
               at once in threads, fleetcheck.gather), and with -n auto
  floor        one SSH session per host running every command of the audit in one
               batch, all hosts at once (bench/floor.py)
  testinfra    the same checks written the naive testinfra way (bench/peers)
  ansible      the same commands, shell module, forks = N, pipelining (bench/peers)

Then: 200 checks on one host (per-check overhead) and 50 hosts of which 10 do not
answer (the lab's link-down fault). Results: bench/results.json, bench/results.md,
bench/results.png. Needs root (the lab) and the bench requirements
(bench/requirements.txt). Every packet goes to the lab's hosts or to loopback.

    .venv/bin/python bench/run.py [--sizes 5,10,25,50] [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import measure  # noqa: E402
from bench.floor import commands_by_host, run_floor  # noqa: E402
from fleetcheck import inventory  # noqa: E402
from lab import Lab  # noqa: E402

OUT = REPO / "bench"
WORK = OUT / "work"                 # per-run files (inventories, logs); not committed
MACHINE_LOCK = "/tmp/fleetcheck-lab.lock"  # the one lab of this machine (tests share it)
ROLE_HOSTS = 5
DEAD_HOSTS = 10
MANY_CHECKS = 200
PATH_VARS = ("ansible_ssh_private_key_file", "fleetcheck_known_hosts", "fleetcheck_ssh_config")
TOOLS = ("fleetcheck", "fleetcheck -n auto", "floor", "testinfra", "ansible")


def subset_inventory(lab: Lab, size: int, dest: Path, hostvars: dict | None = None,
                     only: list[str] | None = None) -> Path:
    """The lab's generated inventory cut to the role hosts plus size-5 plain hosts
    (or to `only`), its paths made absolute (this file lives in bench/work/)."""
    data = yaml.safe_load(lab.generated_inventory.read_text())
    top = data["all"]
    for var in PATH_VARS:
        top["vars"][var] = str((lab.state_dir / top["vars"][var]).resolve())
    plain = top["children"].get("plain", {}).get("hosts", {})
    keep = list(plain)[: max(0, size - ROLE_HOSTS)]
    if plain:
        top["children"]["plain"]["hosts"] = {h: plain[h] for h in keep}
    if only is not None:
        for group in top["children"].values():
            group["hosts"] = {h: v for h, v in (group.get("hosts") or {}).items() if h in only}
    for group in top["children"].values():
        for name, hv in (group.get("hosts") or {}).items():
            if hostvars and name in hostvars:
                hv.update(copy.deepcopy(hostvars[name]))
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def entries_of(inv: Path) -> dict:
    return {e.name: e for e in inventory.load([inv]).select(None)}


def fleetcheck(inv: Path, workers: str, log: Path | None = None, extra=()) -> dict:
    argv = [sys.executable, "-m", "pytest", f"--inventory={inv}", "-q",
            "-p", "no:cacheprovider", "--reports-dir", str(WORK / "reports"), "-n", workers,
            *extra]
    if log is not None:
        log.unlink(missing_ok=True)
        argv += ["--command-log", str(log)]
    m = measure.run(argv, cwd=REPO, env=measure.python_env())
    # rc 0 or 1 (findings: the lab's hosts share this machine's load, capacity checks
    # may fail) is a finished audit; anything else is a broken run.
    if m.rc not in (0, 1):
        raise SystemExit(f"fleetcheck exited {m.rc}:\n{m.output}")
    return {"seconds": m.seconds, "rc": m.rc, "peak_rss_mb": round(m.peak_rss_mb, 1),
            "peak_pss_mb": round(m.peak_pss_mb, 1), "summary": _last_line(m.output)}


def _last_line(text: str) -> str:
    """pytest's outcome line ("3 failed, 40 passed in 6.1s"), else the output's last line."""
    lines = text.strip().splitlines() or [""]
    outcomes = [ln for ln in lines if " in " in ln and ("passed" in ln or "failed" in ln)]
    return (outcomes or lines)[-1].strip("= ")


def floor(inv: Path, log: Path, timeout: float = 10.0) -> dict:
    entries = entries_of(inv)
    any_entry = next(iter(entries.values()))
    key = any_entry.vars["ansible_ssh_private_key_file"]
    known = any_entry.vars["fleetcheck_known_hosts"]
    return run_floor(entries, commands_by_host(log), key, known, timeout=timeout)


def ansible(inv: Path, log: Path, forks: int, workdir: Path) -> dict:
    from bench.peers.ansible import run_ansible  # noqa: PLC0415

    commands = {h: c["host"] for h, c in commands_by_host(log).items()}
    return run_ansible(commands, inv, forks=forks, workdir=workdir)


def median(rows: list[dict], key: str = "seconds") -> float:
    return round(statistics.median(r[key] for r in rows), 3)


def fleet_sizes(lab: Lab, sizes: list[int], runs: int, peers: set[str]) -> list[dict]:
    results = []
    for size in sizes:
        inv = subset_inventory(lab, size, WORK / f"inventory-{size}.yml")
        rows: dict[str, list[dict]] = {t: [] for t in TOOLS}
        for run in range(runs):
            log = WORK / f"commands-{size}-{run}.jsonl"
            rows["fleetcheck"].append(fleetcheck(inv, "0", log))
            rows["floor"].append(floor(inv, log))
            rows["fleetcheck -n auto"].append(fleetcheck(inv, "auto"))
            if "testinfra" in peers:
                from bench.peers.naive import run_naive  # noqa: PLC0415

                rows["testinfra"].append(run_naive(inv, workers="auto",
                                                   extra_env=measure.python_env()))
            if "ansible" in peers:
                rows["ansible"].append(ansible(inv, log, forks=size,
                                               workdir=WORK / f"ansible-{size}"))
            done = {t: round(r[-1]["seconds"], 2) for t, r in rows.items() if r}
            print(f"[bench] {size} hosts, run {run + 1}/{runs}: {done}", flush=True)
        entry = {"hosts": size, "runs": runs,
                 "seconds": {t: median(r) for t, r in rows.items() if r},
                 "commands": rows["floor"][0]["commands"],
                 "fleetcheck_peak_rss_mb": max(r["peak_rss_mb"] for r in rows["fleetcheck"]),
                 "fleetcheck_peak_pss_mb": max(r["peak_pss_mb"] for r in rows["fleetcheck"]),
                 "fleetcheck_n_auto_peak_rss_mb": max(
                     r["peak_rss_mb"] for r in rows["fleetcheck -n auto"]),
                 "fleetcheck_n_auto_peak_pss_mb": max(
                     r["peak_pss_mb"] for r in rows["fleetcheck -n auto"]),
                 "fleetcheck_outcome": rows["fleetcheck"][-1]["summary"],
                 "raw": rows}
        entry["ratios"] = ratios(entry["seconds"])
        results.append(entry)
    return results


def ratios(sec: dict) -> dict:
    fc = sec["fleetcheck"]
    out = {"fleetcheck/floor": round(fc / sec["floor"], 2),
           "fleetcheck -n auto/floor": round(sec["fleetcheck -n auto"] / sec["floor"], 2)}
    for peer in ("testinfra", "ansible"):
        if peer in sec:
            out[f"{peer}/fleetcheck"] = round(sec[peer] / fc, 2)
    return out


def many_checks(lab: Lab, runs: int) -> dict:
    """MANY_CHECKS sysctl checks on one host against one: the cost of a check."""
    values = {}
    for line in lab.sh("web1", "sysctl -a 2>/dev/null").stdout.splitlines():
        key, _, value = line.partition(" = ")
        # stable, readable keys only (counters and random values change between reads)
        if value and not key.startswith(("kernel.random", "fs.", "net.netfilter",
                                         "kernel.ns_last_pid", "kernel.pty.nr")):
            values[key] = value.strip()
    chosen = dict(list(values.items())[:MANY_CHECKS])
    if len(chosen) < MANY_CHECKS:
        raise SystemExit(f"web1 shows only {len(chosen)} usable sysctl keys")
    out = {}
    for count in (1, MANY_CHECKS):
        keys = dict(list(chosen.items())[:count])
        inv = subset_inventory(lab, ROLE_HOSTS, WORK / f"inventory-checks-{count}.yml",
                               hostvars={"web1": {"sysctl": keys}}, only=["web1"])
        rows = [fleetcheck(inv, "0", extra=["-k", "sysctl"]) for _ in range(runs)]
        out[count] = {"seconds": median(rows), "summary": rows[-1]["summary"]}
    per_check = (out[MANY_CHECKS]["seconds"] - out[1]["seconds"]) / (MANY_CHECKS - 1)
    return {"checks": MANY_CHECKS, "one_check_seconds": out[1]["seconds"],
            "many_checks_seconds": out[MANY_CHECKS]["seconds"],
            "per_check_ms": round(per_check * 1000, 2), "summary": out[MANY_CHECKS]["summary"]}


def dead_hosts(lab: Lab, size: int, runs: int) -> dict:
    """`size` hosts of which DEAD_HOSTS have their link down: connections time out."""
    inv = subset_inventory(lab, size, WORK / f"inventory-{size}.yml")
    healthy_log = WORK / "commands-dead-healthy.jsonl"
    healthy = [fleetcheck(inv, "0", healthy_log if i == 0 else None) for i in range(runs)]
    dead = [h for h in entries_of(inv) if h.startswith("plain")][-DEAD_HOSTS:]
    for name in dead:
        lab.fault(name, "link-down")
    try:
        broken = [fleetcheck(inv, "0") for _ in range(runs)]
        broken_floor = [floor(inv, healthy_log) for _ in range(runs)]
    finally:
        for name in dead:
            lab.heal(name, "link-down")
    return {"hosts": size, "dead": DEAD_HOSTS, "connect_timeout": 10.0,
            "healthy_seconds": median(healthy), "with_dead_seconds": median(broken),
            "floor_with_dead_seconds": median(broken_floor),
            "extra_seconds": round(median(broken) - median(healthy), 2),
            "summary": broken[-1]["summary"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5,10,25,50")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peers", default="testinfra,ansible",
                    help="which peers to run (comma list; '' for none)")
    ap.add_argument("--quick", action="store_true", help="sizes 5,50 and one run each")
    ap.add_argument("--keep-lab", action="store_true", help="leave the lab up at the end")
    args = ap.parse_args()
    sizes = [5, 50] if args.quick else sorted(int(s) for s in args.sizes.split(","))
    runs = 1 if args.quick else args.runs
    peers = {p for p in args.peers.split(",") if p}
    if min(sizes) < ROLE_HOSTS:
        raise SystemExit(f"the smallest fleet is the {ROLE_HOSTS} role hosts")
    WORK.mkdir(exist_ok=True)
    lock = open(MACHINE_LOCK, "a")  # noqa: SIM115 - held for the whole bench
    print("[bench] waiting for the machine's lab lock (tests may hold it)", flush=True)
    fcntl.flock(lock, fcntl.LOCK_EX)
    lab = Lab()
    started = time.time()
    try:
        lab.up(plain_hosts=max(max(sizes), DEAD_HOSTS + ROLE_HOSTS) - ROLE_HOSTS)
        lab.heal_all()
        results = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "kernel": platform.release()},
            "fleetcheck_workers": "-n 0 (one process; facts gathered in threads); "
                                  "-n auto measured beside it",
            "sizes": fleet_sizes(lab, sizes, runs, peers),
            "many_checks": many_checks(lab, runs),
            "dead_hosts": dead_hosts(lab, max(sizes), runs),
        }
        results["bench_seconds"] = round(time.time() - started, 1)
    finally:
        if not args.keep_lab:
            lab.down()
        lock.close()
    from bench.report import write_all  # noqa: PLC0415 - matplotlib only at the end

    for path in write_all(results, OUT):
        print(f"[bench] wrote {path.relative_to(REPO)}")
    print((OUT / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
