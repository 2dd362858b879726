"""Filesystem usage: `df -PT` (blocks) or `df -Pi` (inodes), POSIX output format.

A mount point is any bytes but '/' and NUL, and df prints it raw: a directory named
in latin-1 (`caf\\xe9`) makes the output undecodable as UTF-8, the encoding host
output is read in, and the whole host's disks would go unjudged. So the command
sends df's output as it is when it is printable ASCII, and otherwise as hex bytes
(`od`, POSIX, in busybox too) after a marker line; `parse` reads both, decodes the
bytes as UTF-8 and shows each byte that is not UTF-8 as `\\xNN` (`/mnt/caf\\xe9`),
and that mount is judged like any other. df's exit status is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_int

NAME = "df"
HEX_MARK = "fleetcheck: df output in hex (not printable ASCII)"
SCRIPT = f"""out=$(LC_ALL=C df "$@"); rc=$?
if printf '%s\\n' "$out" | LC_ALL=C grep -q '[^ -~]'; then
  echo '{HEX_MARK}'; printf '%s\\n' "$out" | od -An -v -tx1
else printf '%s\\n' "$out"; fi
exit $rc
"""


def command(hostvars: Mapping[str, Any], inodes: bool = False) -> Command:
    return Command("sh -c %s fleetcheck %s", SCRIPT, "-Pi" if inodes else "-PT")


@dataclass
class Filesystem:
    source: str
    mount: str
    fstype: str | None      # only in the blocks form (-T)
    total: int              # 1K blocks, or inodes
    used: int
    available: int
    used_pct: int | None    # None when the filesystem reports no inodes ("-")


@dataclass
class Df:
    inodes: bool
    filesystems: list[Filesystem] = field(default_factory=list)

    def by_mount(self) -> dict[str, Filesystem]:
        return {fs.mount: fs for fs in self.filesystems}


def _from_hex(text: str) -> str:
    """The df output the command sent as hex bytes, decoded; undecodable bytes as
    `\\xNN`."""
    body = text[len(HEX_MARK) + 1:]
    for n, line in enumerate(body.splitlines(), start=2):
        if any(len(word) != 2 for word in line.split()):
            raise ParseError(f"line {n}: expected hex bytes after {HEX_MARK!r}, got "
                             f"{shown(line)}")
    try:
        data = bytes.fromhex(body)
    except ValueError:
        raise ParseError(f"line 2: expected hex bytes after {HEX_MARK!r}") from None
    return data.decode("utf-8", "backslashreplace")


def parse(text: str) -> Df:
    if text.startswith(HEX_MARK + "\n"):
        text = _from_hex(text)
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Filesystem"):
        raise ParseError("df line 1: expected the 'Filesystem ...' header")
    header = lines[0].split()
    inodes = "Inodes" in header
    typed = "Type" in header
    if not inodes and "1024-blocks" not in header:
        raise ParseError(f"df line 1: not `df -P` output: {shown(lines[0])}")
    out = Df(inodes=inodes)
    width = 6 if typed else 5
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(None, width)
        if len(parts) != width + 1:
            raise ParseError(f"df line {n}: expected {width + 1} columns, got {shown(line)}")
        source, rest = parts[0], parts[1:]
        fstype = rest.pop(0) if typed else None
        total, used, avail, pct, mount = rest
        where = f"df line {n}"
        if pct == "-":
            used_pct = None
        elif pct.endswith("%"):
            used_pct = to_int(pct[:-1], f"{where}: Capacity")
        else:
            raise ParseError(f"{where}: expected a percentage, got {shown(pct)}")
        out.filesystems.append(Filesystem(
            source, mount, fstype, _num(total, where), _num(used, where),
            _num(avail, where), used_pct))
    return out


def _num(text: str, where: str) -> int:
    return 0 if text == "-" else to_int(text, where)
