"""How long a large inventory takes to load, and how much memory it takes.

For each size (hosts) and format it writes a generated inventory to a temporary
directory and runs, each in a fresh process:

  load      fleetcheck.inventory.load() alone (wall and CPU seconds inside the call;
            peak RSS of the process, the interpreter included)
  hosts     `python -m fleetcheck hosts --format csv` (wall and CPU seconds, peak RSS)
  collect   `pytest --collect-only -q` over checks/ (the same), with --collect only:
            it is the slow one (one pytest item per host x check)

CPU seconds are the ones to compare on a busy machine: wall time grows with the load
of other processes, CPU time much less.

Formats: ``yaml`` (an Ansible YAML file) and ``json`` (the same inventory as Ansible
dynamic-inventory JSON, printed by an inventory script). The inventory is shaped
like a real one: 20 regions x 5 roles (each host in a region_role group, below
both its region and its role), the embedded default thresholds in ``all``, a few
nested group vars per level and two host vars per host.

This is a benchmark, not a test: it prints numbers and asserts nothing.

    .venv/bin/python bench/inventory_load.py [--sizes 1000,10000,100000]
                                             [--formats yaml,json] [--collect]
                                             [--profile]   # cProfile of one load
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
REGIONS = 20
ROLES = ("web", "db", "app", "cache", "lb")

_LOAD = """
import json, resource, sys, time
t0 = time.perf_counter()
from fleetcheck.inventory import load
t1, c1 = time.perf_counter(), time.process_time()
inventory = load([sys.argv[1]])
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "cpu_s": c2 - c1,
                  "hosts": len(inventory.hosts),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_PROFILE = """
import cProfile, pstats, sys
from fleetcheck.inventory import load
cProfile.run("load([sys.argv[1]])", sys.argv[2])
pstats.Stats(sys.argv[2]).sort_stats("cumulative").print_stats(25)
"""


def _all_vars() -> dict:
    base = yaml.safe_load((REPO / "fleetcheck" / "data" / "local.yml").read_text())
    merged = dict(base["all"]["vars"])
    merged.update({
        "sysctl": {f"net.ipv4.conf.all.setting_{i}": i % 2 for i in range(20)},
        "sshd": {"PermitRootLogin": "no", "PasswordAuthentication": "no",
                 "MaxAuthTries": 3, "X11Forwarding": "no"},
        "services": ["ssh", "cron", "chrony"],
        "ntp": {"servers": ["0.pool.ntp.org", "1.pool.ntp.org"], "iburst": True},
    })
    return merged


def model(size: int) -> dict:
    """The inventory as plain data: groups (vars, children, hosts) and host vars."""
    groups: dict[str, dict] = {"all": {"vars": _all_vars(), "children": []}}
    for role in ROLES:
        groups["all"]["children"].append(role)
        groups[role] = {"vars": {"role": role, "services": ["ssh", "cron", role],
                                 "capacity": {"disk": {"usage_pct": {"warn": 80}}}},
                        "children": []}
    for r in range(REGIONS):
        region = f"region{r:02d}"
        groups["all"]["children"].append(region)
        groups[region] = {"vars": {"dns": {"zone": f"{region}.example",
                                           "nameservers": [f"10.{r}.0.2", f"10.{r}.0.3"]},
                                   "ntp": {"servers": [f"ntp.{region}.example"]}},
                          "children": []}
        for role in ROLES:
            name = f"{region}_{role}"
            groups[region]["children"].append(name)
            groups[role]["children"].append(name)
            groups[name] = {"vars": {"tier": name}, "hosts": []}
    hostvars: dict[str, dict] = {}
    cells = [f"region{r:02d}_{role}" for r in range(REGIONS) for role in ROLES]
    for i in range(size):
        cell = cells[i % len(cells)]
        host = f"{cell.replace('_', '-')}-{i:07d}"
        groups[cell]["hosts"].append(host)
        hostvars[host] = {"ansible_host": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                          "rack": f"r{i % 40}"}
    return {"groups": groups, "hostvars": hostvars}


def to_yaml(data: dict) -> str:
    """Ansible's YAML shape: the tree below 'all', each group written once (its later
    appearances under another parent are bare names)."""
    groups, hostvars = data["groups"], data["hostvars"]
    written: set[str] = set()

    def node(name: str) -> dict | None:
        if name in written:
            return None
        written.add(name)
        group = groups[name]
        out: dict = {}
        if group.get("vars"):
            out["vars"] = group["vars"]
        if group.get("hosts"):
            out["hosts"] = {h: hostvars[h] for h in group["hosts"]}
        if group.get("children"):
            out["children"] = {c: node(c) for c in group["children"]}
        return out

    return yaml.safe_dump({"all": node("all")}, sort_keys=False, width=120)


def to_json(data: dict) -> str:
    doc: dict = {"_meta": {"hostvars": data["hostvars"]}}
    for name, group in data["groups"].items():
        doc[name] = {k: v for k, v in group.items() if v}
    return json.dumps(doc)


def write(directory: Path, size: int, fmt: str) -> Path:
    data = model(size)
    if fmt == "yaml":
        path = directory / f"inv{size}.yml"
        path.write_text(to_yaml(data))
        return path
    doc = directory / f"inv{size}.json"
    doc.write_text(to_json(data))
    script = directory / f"inv{size}.sh"
    script.write_text('#!/bin/sh\nexec cat "$(dirname "$0")/' + doc.name + '"\n')
    script.chmod(0o755)
    return script


def _run(argv: list[str]) -> tuple[str, int]:
    """(stdout, exit code) of one child process."""
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    out, err = proc.communicate()
    if proc.returncode not in (0, 5):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return out.decode(errors="replace"), proc.returncode


def _measured_child(argv: list[str]) -> dict:
    """Wall and CPU seconds, peak RSS (MB) and exit code of one command, measured by a
    fresh helper process so that the numbers are this command's alone."""
    helper = ("import json, resource, subprocess, sys, time\n"
              "t = time.perf_counter()\n"
              "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
              "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
              "print(json.dumps({'wall': time.perf_counter() - t, 'rc': rc, 'cpu': "
              "u.ru_utime + u.ru_stime, 'rss': u.ru_maxrss / 1024}))\n")
    out, _ = _run([sys.executable, "-c", helper, *argv])
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--formats", default="yaml,json")
    parser.add_argument("--collect", action="store_true",
                        help="also time pytest --collect-only (slow at 100k hosts)")
    parser.add_argument("--no-hosts", action="store_true",
                        help="skip `python -m fleetcheck hosts`")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one load per size and format")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    python = sys.executable
    print(f"{'hosts':>8} {'format':6} {'what':8} {'seconds':>8} {'cpu s':>8} {'peak MB':>8}"
          "  note")
    with tempfile.TemporaryDirectory(prefix="fleetcheck-bench-") as tmp:
        for size in sizes:
            for fmt in formats:
                path = write(Path(tmp), size, fmt)
                mb = os.path.getsize(path if fmt == "yaml" else path.with_suffix(".json"))
                out, rc = _run([python, "-c", _LOAD, str(path)])
                if rc != 0:
                    print(f"{size:>8} {fmt:6} load     failed (exit {rc})")
                    continue
                got = json.loads(out.strip().splitlines()[-1])
                print(f"{size:>8} {fmt:6} {'load':8} {got['load_s']:8.2f} {got['cpu_s']:8.2f} "
                      f"{got['rss_mb']:8.0f}  {mb / 1e6:.1f} MB source, import "
                      f"{got['import_s']:.2f}s", flush=True)
                if args.profile:
                    out, _ = _run([python, "-c", _PROFILE, str(path),
                                   str(Path(tmp) / "profile.out")])
                    print(out)
                commands = []
                if not args.no_hosts:
                    commands.append(("hosts", ["-m", "fleetcheck", "hosts", "--format", "csv"]))
                if args.collect:
                    commands.append(("collect", ["-m", "pytest", "--collect-only", "-q",
                                                 "-p", "no:cacheprovider"]))
                for what, command in commands:
                    got = _measured_child([python, *command, "--inventory", str(path)])
                    print(f"{size:>8} {fmt:6} {what:8} {got['wall']:8.2f} {got['cpu']:8.2f} "
                          f"{got['rss']:8.0f}  exit {got['rc']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
