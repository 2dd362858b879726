"""`python -m fleetcheck ...`: the command-line tools around the audit.

  parse FORMAT [FILE]   print what fleetcheck makes of a captured output, as JSON
  rollback RUN_ID       restore every file that run changed, on every host
  hosts                 the selected hosts as a table (CSV, JSON) with chosen columns
"""

from __future__ import annotations

import argparse
import json
import sys

from fleetcheck import facts
from fleetcheck.facts.base import ParseError, to_jsonable


def cmd_parse(args: argparse.Namespace) -> int:
    try:
        module = facts.get(args.format)
    except KeyError as exc:
        print(f"fleetcheck parse: {exc.args[0]}", file=sys.stderr)
        return 2
    source = args.file or "<stdin>"
    try:
        if args.file:
            with open(args.file, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        else:
            text = sys.stdin.read()
    except OSError as exc:
        print(f"fleetcheck parse: {source}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        value = module.parse(text)
    except ParseError as exc:
        print(f"fleetcheck parse: {source}: not valid {args.format} output: {exc}",
              file=sys.stderr)
        return 2
    json.dump(to_jsonable(value), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from fleetcheck.remediation.rollback import main

    return main(args)


def cmd_hosts(args: argparse.Namespace) -> int:
    from fleetcheck import hosttable
    from fleetcheck.inventory import InventoryError
    from fleetcheck.selection import select

    args.fleet_inventory = args.inventory
    try:
        chosen = select(args)
        hosts = list(chosen.hosts.values())
        names = hosttable.columns(args.columns, hosts, probe=args.check_reachable)
    except InventoryError as exc:
        print(f"fleetcheck hosts: {exc}", file=sys.stderr)
        return 4
    for note in chosen.notes:
        print(f"WARNING: {note}", file=sys.stderr)
    probes = hosttable.probe(hosts, args.probe_timeout) if args.check_reachable else None
    table = hosttable.rows(hosts, names, probes)
    sys.stdout.write(hosttable.render(table, names, args.format))
    if probes and any(p["reachable"].startswith("no") for p in probes.values()):
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fleetcheck",
                                     description="fleetcheck command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="parse a captured command output and print JSON")
    p.add_argument("format", help="one of: " + ", ".join(sorted(facts.REGISTRY)))
    p.add_argument("file", nargs="?", help="the captured output (default: stdin)")
    p.set_defaults(func=cmd_parse)
    r = sub.add_parser("rollback", help="restore every file a --remediate run changed")
    r.add_argument("run_id")
    r.add_argument("--inventory", action="append", default=[],
                   help="default: the inventories the run used")
    r.add_argument("--limit", help="only these hosts (Ansible --limit grammar)")
    r.add_argument("--force", action="store_true",
                   help="restore files that changed again since the run")
    r.add_argument("--reports-dir", default="reports")
    r.add_argument("--from-hosts", action="store_true",
                   help="also read the manifest each selected host keeps next to its backups "
                   "(when the controller's reports of the run are lost)")
    r.set_defaults(func=cmd_rollback)
    h = sub.add_parser("hosts", help="list the selected hosts with chosen columns")
    h.add_argument("--inventory", action="append", default=[], metavar="SOURCE",
                   help="YAML file, http(s):// URL or inventory script (repeatable; "
                   "default: the embedded local inventory)")
    h.add_argument("--hosts", help="testinfra host specs, comma-separated")
    h.add_argument("--limit", dest="fleet_limit", help="Ansible --limit grammar")
    h.add_argument("--where", dest="fleet_where", action="append", default=[],
                   metavar="KEY=VALUE", help="KEY=VALUE or KEY!=VALUE on host vars "
                   "(repeatable, all must hold)")
    h.add_argument("--columns", help="comma-separated: name, address, port, user, groups, "
                   "connection, become, become_method, become_user, key_file, proxy_jump, "
                   "command_timeout, offline, source, any host var (dotted), @set from the "
                   "inventory var fleetcheck_columns (default: name,address,port,user,groups)")
    h.add_argument("--format", choices=("table", "csv", "json"), default="table")
    h.add_argument("--check-reachable", action="store_true",
                   help="probe each host's SSH port in parallel: reachable, latency_ms "
                   "(exit 1 when a host is not reachable)")
    h.add_argument("--probe-timeout", type=float, default=5.0, metavar="SECONDS")
    h.add_argument("--inventory-auth", dest="fleet_inventory_auth", metavar="FILE")
    h.add_argument("--inventory-token-env", dest="fleet_inventory_token_env", metavar="VAR")
    h.add_argument("--inventory-ca", dest="fleet_inventory_ca", metavar="FILE")
    h.add_argument("--inventory-timeout", dest="fleet_inventory_timeout", type=float,
                   metavar="SECONDS")
    h.add_argument("--inventory-cache-ok", dest="fleet_inventory_cache_ok",
                   action="store_true")
    h.set_defaults(func=cmd_hosts)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
