"""python -m lab up [--plain N] | down | status | fault HOST FAULT | heal HOST FAULT | rootfs | faults"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import Lab, LabError
from .faults import FAULTS, FaultError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab", description="the fleetcheck lab fleet")
    ap.add_argument("--state-dir", default=None, help="default: lab/state")
    ap.add_argument("--inventory", default=None, help="default: inventories/lab.yml")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="start the fleet (idempotent)")
    p.add_argument("--plain", type=int, default=None, help="extra plain hosts (sshd only)")
    sub.add_parser("down", help="stop everything and clean up")
    p = sub.add_parser("status", help="what runs")
    p.add_argument("--json", action="store_true")
    sub.add_parser("rootfs", help="build the cached rootfs only")
    p = sub.add_parser("faults", help="list the faults")
    p.add_argument("--json", action="store_true",
                   help="one JSON list of {name, host (a group), check, fixable}")
    for name in ("fault", "heal"):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.add_argument("fault")
    p = sub.add_parser("reset", help="restart hosts from a pristine filesystem")
    p.add_argument("hosts", nargs="+")
    p = sub.add_parser("exec", help="run a command inside a host (not over ssh)")
    p.add_argument("host")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)

    if args.cmd == "faults":
        if args.json:
            print(json.dumps([fault.row(name) for name, fault in FAULTS.items()], indent=1))
            return 0
        for n, fault in FAULTS.items():
            fix = "fixable" if fault.fixable else "-"
            print(f"{n:22} {fault.where:12} {fault.check:20} {fix:8} {fault.description}")
        return 0
    if os.geteuid() != 0 and args.cmd != "status":
        print("lab: needs root (network namespaces, mounts, links): run it as root", file=sys.stderr)
        return 1
    try:
        lab = Lab(state_dir=args.state_dir, inventory=args.inventory)
        if args.cmd == "rootfs":
            from . import rootfs
            print(rootfs.build(keep=lab.rootfs_in_use()))
        elif args.cmd == "up":
            res = lab.up(plain_hosts=args.plain)
            st = lab.status()
            print(f"lab: {st['running']} hosts up ({len(res['started'])} started) in {res['seconds']}s; "
                  f"ssh -F {lab.ssh_config} web1")
        elif args.cmd == "down":
            res = lab.down()
            left = {k: v for k, v in res["left"].items() if v}
            print(f"lab: down in {res['seconds']}s" + (f"; LEFT: {left}" if left else ""))
            return 1 if left else 0
        elif args.cmd == "status":
            st = lab.status()
            if args.json:
                print(json.dumps(st, indent=1))
            else:
                for name, h in st["hosts"].items():
                    print(f"{name:10} {h['address']:15} {'up' if h['running'] else 'down':5} "
                          f"{','.join(h['groups']):22} {' '.join(h['services'])}")
                print("faults: " + (", ".join(f"{h}:{f}" for h, f in st["faults"]) or "none"))
        elif args.cmd in ("fault", "heal"):
            getattr(lab, args.cmd)(args.host, args.fault)
            print(f"lab: {args.cmd} {args.fault} on {args.host}: done")
        elif args.cmd == "reset":
            lab.reset(*args.hosts)
            print(f"lab: reset {' '.join(args.hosts)}")
        elif args.cmd == "exec":
            res = lab.exec(args.host, args.argv)
            sys.stdout.write(res.stdout)
            sys.stderr.write(res.stderr)
            return res.returncode
    except (LabError, FaultError, KeyError, ValueError) as e:
        print(f"lab: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
