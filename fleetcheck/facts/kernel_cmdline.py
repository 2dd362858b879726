"""The kernel's command line: /proc/cmdline (or the file the var `kernel.cmdline.path`
names: a lab host shares its kernel, and so its command line, with the machine running
the lab), split as the kernel splits it (lib/cmdline.c, next_arg; kernel/params.c,
parse_args):

- parameters are separated by blanks; a double quote opens a quoted stretch in which
  blanks are data: `acpi_osi="Windows 2020"` and `"acpi_osi=Windows 2020"` are both
  the parameter acpi_osi with the value `Windows 2020` (the quotes are not part of it);
- a parameter is `name` or `name=value` (split at the first '=');
- a lone `--` ends the kernel's parameters: what follows is init's argument list
  (`-- --firecracker-init --addr ...`), none of it a boot parameter.

Names compare with '-' and '_' the same, as the kernel's parameq does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown
from fleetcheck.facts.kernel import path_of

NAME = "kernel_cmdline"
MAX_CHARS = 65536     # COMMAND_LINE_SIZE is 2048-4096 (bootconfig may add more)
BLANKS = " \t\n\v\f\r"


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("cat -- %s", path_of(hostvars, "cmdline"))


@dataclass
class Param:
    name: str
    value: str | None     # None: given without '='


@dataclass
class Cmdline:
    raw: str
    params: list[Param] = field(default_factory=list)
    init_args: list[str] = field(default_factory=list)   # after `--`

    def values_of(self, name: str) -> list[str | None]:
        """The values `name` is given with, in order (None: without '=')."""
        key = param_key(name)
        return [p.value for p in self.params if param_key(p.name) == key]


def param_key(name: str) -> str:
    return name.replace("-", "_")


def split_declared(entry: str) -> Param:
    """`console=ttyS0` -> Param(console, ttyS0); `quiet` -> Param(quiet, None)."""
    name, sep, value = entry.partition("=")
    return Param(name, value if sep else None)


def next_arg(text: str, start: int) -> tuple[str, int]:
    """The next argument of `text` from `start` (blanks skipped), as the kernel takes
    it (quotes kept), and the index after it."""
    while start < len(text) and text[start] in BLANKS:
        start += 1
    i, in_quote = start, False
    if i < len(text) and text[i] == '"':
        i, in_quote = i + 1, True
    while i < len(text) and (in_quote or text[i] not in BLANKS):
        if text[i] == '"':
            in_quote = not in_quote
        i += 1
    return text[start:i], i


def to_param(arg: str) -> Param:
    """One argument as the kernel reads it: a leading quote dropped, split at the
    first '=' (not at index 0), a quote opening the value dropped with the final one."""
    quoted = arg.startswith('"')
    if quoted:
        arg = arg[1:]
    equals = arg.find("=", 1)
    if equals < 0:
        return Param(arg[:-1] if quoted and arg.endswith('"') else arg, None)
    name, value = arg[:equals], arg[equals + 1:]
    if value.startswith('"'):
        value = value[1:]
        if value.endswith('"'):
            value = value[:-1]
    elif quoted and value.endswith('"'):
        value = value[:-1]
    return Param(name, value)


def parse(text: str) -> Cmdline:
    if len(text) > MAX_CHARS:
        raise ParseError(f"line 1: a command line of {len(text)} characters (at most "
                         f"{MAX_CHARS})")
    lines = text.splitlines()
    if len(lines) > 1 and any(line.strip() for line in lines[1:]):
        raise ParseError("line 2: /proc/cmdline is one line")
    raw = lines[0] if lines else ""
    bad = next((c for c in raw if not c.isprintable() and c not in BLANKS), None)
    if bad is not None:
        raise ParseError(f"line 1: a control character {bad!r} in {shown(raw)}")
    out = Cmdline(raw)
    i = 0
    while True:
        arg, i = next_arg(raw, i)
        if not arg:
            break
        param = to_param(arg)
        if param.value is None and param.name == "--":
            out.init_args = _init_args(raw, i)
            break
        out.params.append(param)
    return out


def _init_args(raw: str, i: int) -> list[str]:
    """The arguments after `--`, split the same way (init gets them as its argv)."""
    args = []
    while True:
        arg, i = next_arg(raw, i)
        if not arg:
            return args
        args.append(arg)
