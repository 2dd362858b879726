"""`python -m fleetcheck ...`: the command-line tools around the audit.

  parse FORMAT [FILE]   print what fleetcheck makes of a captured output, as JSON
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fleetcheck",
                                     description="fleetcheck command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="parse a captured command output and print JSON")
    p.add_argument("format", help="one of: " + ", ".join(sorted(facts.REGISTRY)))
    p.add_argument("file", nargs="?", help="the captured output (default: stdin)")
    p.set_defaults(func=cmd_parse)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
