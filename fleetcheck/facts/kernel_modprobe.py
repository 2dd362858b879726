"""Which modules modprobe refuses: `blacklist NAME` (no loading by alias: hotplug,
mount) and `install NAME /bin/false` (modprobe runs the command instead of loading, so
an explicit `modprobe NAME` fails too; CIS asks for both), as modprobe.d(5) says.

- kmod's `modprobe --showconfig` where it is installed: the configuration as modprobe
  itself reads it (every directory, a file of /etc overriding one of the same name in
  /lib, and `modprobe.blacklist=` of the kernel command line), cut at its line `# End
  of configuration files. Dumping indexes now:` (the module indexes that follow are
  thousands of aliases, not configuration);
- else the *.conf files of /etc/modprobe.d, /run/modprobe.d, /usr/local/lib/modprobe.d,
  /lib/modprobe.d and /usr/lib/modprobe.d, the first of a name only (as kmod), each
  after a line `fleetcheck-kernel: file PATH`.

The syntax (modprobe.d(5)): one command per line, `#` starts a comment line, a `\\`
at the end of a line continues it; commands are alias, options, install, remove,
softdep, weakdep and blacklist. modprobe ignores (and warns about) any other line of
a file; kmod's --showconfig prints none, so there such a line is a ParseError.
Text without our first line is one file's (:func:`parse_conf`: kernel.modules' fix
re-reads what it writes with it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.facts.kernel import module_key

NAME = "kernel_modprobe"
MARK_SHOWCONFIG = "fleetcheck-kernel: modprobe --showconfig"
MARK_FILES = "fleetcheck-kernel: modprobe.d files"
MARK_FILE = "fleetcheck-kernel: file "
END = "# End of configuration files. Dumping indexes now:"
DIRS = ("/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
        "/lib/modprobe.d", "/usr/lib/modprobe.d")
MAX_LINES = 50000
MAX_LINE = 8192
MAX_IGNORED = 50
SCRIPT = f"""PATH="$PATH:/sbin:/usr/sbin"
if modprobe -V 2>/dev/null | grep -q kmod; then
  echo '{MARK_SHOWCONFIG}'
  modprobe --showconfig 2>/dev/null | sed '/^# End of configuration files/q'
  exit 0
fi
echo '{MARK_FILES}'
seen=/
for d in {' '.join(DIRS)}; do
  for f in "$d"/*.conf; do
    [ -f "$f" ] || continue
    n=${{f##*/}}
    case "$seen" in *"/$n/"*) continue ;; esac
    seen="$seen$n/"
    echo "{MARK_FILE}$f"
    cat -- "$f"; echo
  done
done
"""
COMMANDS = ("alias", "options", "install", "remove", "softdep", "weakdep", "blacklist")
# install commands that load nothing
REFUSING = {"/bin/false", "/usr/bin/false", "/bin/true", "/usr/bin/true", "false", "true"}
_WORD = re.compile(r"\S{1,256}")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class Directive:
    command: str      # blacklist, install, ...
    module: str       # its first word, in the kernel's form (usb_storage)
    rest: str         # what follows, blanks squeezed
    where: str        # `line N` or `FILE line N`


@dataclass
class Modprobe:
    source: str                                   # showconfig | files
    directives: list[Directive] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)   # lines modprobe ignores

    def blacklisted(self, name: str) -> str | None:
        """Where `blacklist NAME` is, or None."""
        key = module_key(name)
        return next((d.where for d in self.directives
                     if d.command == "blacklist" and d.module == key), None)

    def refused(self, name: str) -> str | None:
        """Where `install NAME /bin/false` (or true) is, or None; the first install
        line of a module is the one modprobe runs."""
        key = module_key(name)
        first = next((d for d in self.directives
                      if d.command == "install" and d.module == key), None)
        return first.where if first is not None and first.rest in REFUSING else None


def parse(text: str) -> Modprobe:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    head = lines[0] if lines else ""
    if head == MARK_SHOWCONFIG:
        if not lines[1:] or lines[-1] != END:
            raise ParseError(f"line {len(lines)}: no {END!r} line at the end (truncated, "
                             "or not kmod's modprobe)")
        out = Modprobe("showconfig")
        _read(out, list(enumerate(lines[1:-1], start=2)), "", strict=True)
        return out
    if head != MARK_FILES:
        return parse_conf(text)   # one modprobe.d file as it is (a capture, a fixture)
    out = Modprobe("files")
    current: list[tuple[int, str]] = []
    name = None
    for n, line in enumerate(lines[1:], start=2):
        if line.startswith(MARK_FILE):
            if name is not None:
                _read(out, current, name)
            name, current = line[len(MARK_FILE):], []
            if not name.startswith("/") or not name.isprintable():
                raise ParseError(f"line {n}: not a file path: {shown(name)}")
            out.files.append(name)
        elif name is None:
            raise ParseError(f"line {n}: a line before the first {MARK_FILE!r}: {shown(line)}")
        else:
            current.append((n, line))
    if name is not None:
        _read(out, current, name)
    return out


def parse_conf(text: str, name: str = "") -> Modprobe:
    """One modprobe.d file's text, as modprobe reads it (lines numbered from 1)."""
    out = Modprobe("files", files=[name] if name else [])
    _read(out, list(enumerate(text.splitlines(), start=1)), name)
    return out


def _logical(numbered: list[tuple[int, str]]):
    """(first line number, the line joined over its `\\` continuations)."""
    start, parts = None, []
    for n, line in numbered:
        if len(line) > MAX_LINE:
            raise ParseError(f"line {n}: longer than {MAX_LINE} characters")
        if start is None:
            start = n
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        yield start, "".join(parts)
        start, parts = None, []
    if start is not None:
        yield start, "".join(parts)


def _read(out: Modprobe, numbered: list[tuple[int, str]], name: str,
          strict: bool = False) -> None:
    for n, line in _logical(numbered):
        where = f"{name} line {n}" if name else f"line {n}"
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if any(not c.isprintable() and c not in "\t\r" for c in line):
            raise ParseError(f"line {n}: a control character: {shown(line)}")
        if words[0] not in COMMANDS or len(words) < 2 or not _WORD.fullmatch(words[1]):
            if strict:
                raise ParseError(f"line {n}: expected one of {', '.join(COMMANDS)} and a "
                                 f"module, got {shown(line)}")
            if len(out.ignored) < MAX_IGNORED:
                out.ignored.append(f"{where}: {line.strip()[:120]}")
            continue
        out.directives.append(Directive(words[0], module_key(words[1]),
                                        " ".join(words[2:]), where))
