"""`fleetcheck ...` (or `python -m fleetcheck ...`): the audit and the tools around it.

  audit [PATH ...]      the full audit from this directory: pytest on the installed
                        checks and PATHs, reports in ./reports (fleetcheck.audit)
  parse FORMAT [FILE]   print what fleetcheck makes of a captured output, as JSON
  rollback RUN_ID       restore every file that run changed, on every host
  hosts                 the selected hosts as a table (CSV, JSON) with chosen columns
  guests                the virtual machine guests of the hypervisors, chosen columns
  checks                every check: id, severity, what it reads, its vars, its fix
  report merge RUN...   the runs of disjoint host sets as one fleet report
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from fleetcheck import facts
from fleetcheck.facts.base import ParseError, brief, to_jsonable
from fleetcheck.report.records import SEVERITIES

# What `parse` reads at most: far more than any output it knows (a fleet-sized
# `named-checkconf -p` is a few MB), and a bound on /dev/zero or a runaway pipe.
MAX_INPUT = 64 * 1024 * 1024
MAX_MESSAGE = 500
SIGPIPE_EXIT = 128 + 13     # what a shell reports for a tool killed by SIGPIPE


def _fail(source: str, message: object, code: int = 2) -> int:
    """One line on stderr, however long or multi-line the message."""
    text = " ".join(str(message).splitlines())
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE - 3] + "..."
    print(f"fleetcheck parse: {source}{text}", file=sys.stderr)
    return code


def _read(path: str | None) -> bytes | str:
    """At most MAX_INPUT + 1 bytes of the file or of stdin."""
    if path:
        with open(path, "rb") as fh:
            return fh.read(MAX_INPUT + 1)
    stream = getattr(sys.stdin, "buffer", sys.stdin)  # a text stream when replaced
    return stream.read(MAX_INPUT + 1)


def _decode(data: bytes | str) -> str:
    """UTF-8, as fleetcheck reads host output; ValueError saying where it is not."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ValueError(f"not UTF-8 text: byte {data[exc.start]:#04x} at line {line}, "
                         f"column {column}") from None


def cmd_parse(args: argparse.Namespace) -> int:
    """The parsed fact as JSON, exit 0; or exit 2 and one line on stderr for input it
    cannot read: not UTF-8, a directory, more than MAX_INPUT, not this format. A parser
    that fails otherwise is a bug: one line too, exit 3. Never a traceback."""
    try:
        module = facts.get(args.format)
    except KeyError as exc:
        return _fail("", exc.args[0])
    source = brief(args.file, 200) + ": " if args.file else "<stdin>: "
    try:
        data = _read(args.file)
    except OSError as exc:
        return _fail(source, exc.strerror or exc)
    if len(data) > MAX_INPUT:
        return _fail(source, f"more than {MAX_INPUT // (1024 * 1024)} MiB: not a command "
                     "output fleetcheck reads")
    try:
        text = _decode(data)
    except ValueError as exc:
        return _fail(source, exc)
    try:
        value = module.parse(text)
    except ParseError as exc:
        return _fail(source, f"not valid {args.format} output: {exc}")
    except Exception as exc:  # noqa: BLE001 - a parser bug: one line, never a traceback
        return _fail(source, f"the {args.format} parser failed (a bug, please report it): "
                     f"{type(exc).__name__}: {exc}", 3)
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


def cmd_guests(args: argparse.Namespace) -> int:
    from fleetcheck import guests

    return guests.main(args)


def _selection_args(p: argparse.ArgumentParser) -> None:
    """The inventory and the selection of its hosts (hosts, guests)."""
    p.add_argument("--inventory", action="append", default=[], metavar="SOURCE",
                   help="YAML file, http(s):// URL or inventory script (repeatable; "
                   "default: the embedded local inventory)")
    p.add_argument("--hosts", help="testinfra host specs, comma-separated")
    p.add_argument("--limit", dest="fleet_limit", help="Ansible --limit grammar")
    p.add_argument("--where", dest="fleet_where", action="append", default=[],
                   metavar="KEY=VALUE", help="KEY=VALUE or KEY!=VALUE on host vars "
                   "(repeatable, all must hold)")
    p.add_argument("--inventory-auth", dest="fleet_inventory_auth", metavar="FILE")
    p.add_argument("--inventory-token-env", dest="fleet_inventory_token_env", metavar="VAR")
    p.add_argument("--inventory-ca", dest="fleet_inventory_ca", metavar="FILE")
    p.add_argument("--inventory-timeout", dest="fleet_inventory_timeout", type=float,
                   metavar="SECONDS")
    p.add_argument("--inventory-cache-ok", dest="fleet_inventory_cache_ok",
                   action="store_true")


def cmd_checks(args: argparse.Namespace) -> int:

    from fleetcheck import catalogue

    infos = catalogue.collect()
    if args.update_readme:
        path = Path(args.update_readme)
        text = path.read_text(encoding="utf-8")
        new = catalogue.update_readme(text, infos)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"{path}: the check, fix and vars reference updated", file=sys.stderr)
        return 0
    sys.stdout.write(catalogue.render(infos, args.format) + "\n")
    return 0


def cmd_report_merge(args) -> int:
    from fleetcheck.report import merge  # noqa: PLC0415

    try:
        verdict = merge.merge([Path(p) for p in args.runs], Path(args.out), args.fail_on,
                              True if args.allow_unreachable else None)
    except merge.MergeRefused as exc:
        print(f"fleetcheck report merge: {exc}", file=sys.stderr)
        return merge.EXIT_REFUSED
    print(f"fleetcheck {verdict.describe()}; merged reports: {args.out}/ (report.html, "
          "results.json, junit.xml)")
    return verdict.exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fleetcheck",
                                     description="fleetcheck command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    # audit's own arguments are pytest's: main() hands them over before argparse runs;
    # declared here for --help
    sub.add_parser("audit", add_help=False,
                   help="the full audit from this directory: pytest on the installed "
                   "checks and the PATHs given (--inventory SOURCE [PATH ...] [pytest "
                   "options]; reports in ./reports; fleetcheck audit --help)")
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
    _selection_args(h)
    h.add_argument("--columns", help="comma-separated: name, address, port, user, groups, "
                   "connection, become, become_method, become_user, key_file, proxy_jump, "
                   "command_timeout, offline, source, any host var (dotted), @set from the "
                   "inventory var fleetcheck_columns (default: name,address,port,user,groups)")
    h.add_argument("--format", choices=("table", "csv", "json"), default="table")
    h.add_argument("--check-reachable", action="store_true",
                   help="probe each host's SSH port in parallel: reachable, latency_ms "
                   "(exit 1 when a host is not reachable)")
    h.add_argument("--probe-timeout", type=float, default=5.0, metavar="SECONDS")
    h.set_defaults(func=cmd_hosts)
    g = sub.add_parser("guests", help="list the virtual machine guests of the selected "
                       "hypervisors (virsh, xl), running or --configured, chosen columns")
    _selection_args(g)
    g.add_argument("--columns", help="comma-separated: label, type, state, reason, host, "
                   "mac, address, nics, cport, console, autostart, persistent, id, uuid, "
                   "vcpus, memory_mib, @cport, @net, @config, @set from the inventory var "
                   "fleetcheck_guest_columns (default: label,type,state,host,mac,address,"
                   "cport,autostart)")
    g.add_argument("--configured", action="store_true",
                   help="the guests as they are configured (dumpxml --inactive), not as "
                   "they run")
    g.add_argument("--format", choices=("table", "csv", "json"), default="table")
    g.add_argument("--ssh-accept-new", action="store_true",
                   help="trust a host key seen for the first time (as the audit's option)")
    g.add_argument("--connect-timeout", type=float, metavar="SECONDS")
    g.set_defaults(func=cmd_guests)
    rp = sub.add_parser("report", help="work on written reports: merge the runs of "
                        "disjoint host sets into one fleet report")
    rsub = rp.add_subparsers(dest="report_command", required=True)
    m = rsub.add_parser("merge", help="merge the results of several runs of disjoint host "
                        "sets (CI matrix jobs) into one report: HTML, JSON, JUnit and gate")
    m.add_argument("runs", nargs="+", metavar="RUN_DIR",
                   help="a run's directory (results.json), or a reports directory (its "
                   "latest run, else its last)")
    m.add_argument("--out", required=True, metavar="DIR", help="where the merged reports go")
    m.add_argument("--fail-on", choices=SEVERITIES, default=None,
                   help="the merged gate (default: the runs' own, when they agree)")
    m.add_argument("--allow-unreachable", action="store_true",
                   help="unreachable hosts do not fail the merged gate (default: the runs' own)")
    m.set_defaults(func=cmd_report_merge)
    c = sub.add_parser("checks", help="the check catalogue: id, severity, what it reads, "
                       "its vars and their schema, its fix")
    c.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    c.add_argument("--update-readme", metavar="FILE",
                   help="rewrite the generated reference blocks of FILE (README.md)")
    c.set_defaults(func=cmd_checks)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["audit"]:
        from fleetcheck import audit  # noqa: PLC0415

        return audit.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # `... | head`: the reader is gone. Stop quietly, as CLI tools do, with stdout on
        # /dev/null so that the interpreter's flush at exit does not raise again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass  # stdout is not a file (replaced in-process)
        return SIGPIPE_EXIT
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
