"""Loaded kernel modules: /proc/modules (or the file the var `kernel.modules_path`
names), and the modules built into the running kernel (modules.builtin), which never
appear in /proc/modules but are always there.

A lab host shares its kernel with the machine that runs the lab (and this one has no
loadable modules at all: no /proc/modules), so the lab places a real captured
/proc/modules on a host and names it in `kernel.modules_path`, as raid.mdstat_path does
for /proc/mdstat.

One line of /proc/modules per module (kernel/module/procfs.c, m_show):

    name size refcount deps state address [(taints)]

`refcount` is `-` on a kernel without module unloading; `deps` is `-` or the modules
using this one, each followed by a comma (also `[permanent],`: no exit function);
`state` is Live, Loading or Unloading; `address` is 0x0000000000000000 unless the
reader may see kernel pointers; the taints are the module's letters (`(OE)`: out of
tree, unsigned; `+`/`-` while loading/unloading).

The command's own lines mark what it read:

    fleetcheck-kernel: modules              then the file as it is
    fleetcheck-kernel: no modules file      no such file: no loadable module support
    fleetcheck-kernel: modules.builtin      then /lib/modules/$(uname -r)/modules.builtin

A bare /proc/modules (no mark) parses as such, with the built-in list unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_int
from fleetcheck.facts.kernel import module_key, path_of

NAME = "kernel_modules"
MARK_MODULES = "fleetcheck-kernel: modules"
MARK_ABSENT = "fleetcheck-kernel: no modules file"
MARK_BUILTIN = "fleetcheck-kernel: modules.builtin"
MAX_LINES = 50000
SCRIPT = f"""f=$1
if [ -e "$f" ]; then
  echo '{MARK_MODULES}'
  cat -- "$f" || exit
else
  echo '{MARK_ABSENT}'
fi
b="/lib/modules/$(uname -r)/modules.builtin"
if [ -r "$b" ]; then
  echo '{MARK_BUILTIN}'
  cat -- "$b"
fi
true
"""
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_STATES = ("Live", "Loading", "Unloading")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{1,16}")
_TAINTS = re.compile(r"\(([A-Z+-]+)\)")
_BUILTIN = re.compile(r"(?:[A-Za-z0-9_.,+-]+/)*([A-Za-z0-9_.,+-]+)\.ko")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck %s", SCRIPT, path_of(hostvars, "modules"))


@dataclass
class Module:
    name: str
    size: int
    refcount: int | None          # None: `-` (no module unloading)
    used_by: list[str] = field(default_factory=list)  # modules using it
    state: str = "Live"
    taints: str = ""              # the module's taint letters (O, E, P, ...)
    permanent: bool = False       # [permanent]: cannot be unloaded


@dataclass
class KernelModules:
    present: bool = True          # False: no modules file (no loadable modules)
    modules: list[Module] = field(default_factory=list)
    builtin: list[str] | None = None   # None: modules.builtin not read

    @property
    def names(self) -> set[str]:
        return {module_key(m.name) for m in self.modules}

    def state_of(self, name: str) -> str:
        """loaded | builtin | absent, of a module as the inventory names it."""
        key = module_key(name)
        if key in self.names:
            return "loaded"
        if self.builtin is not None and key in {module_key(b) for b in self.builtin}:
            return "builtin"
        return "absent"


def parse(text: str) -> KernelModules:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    out = KernelModules()
    numbered = list(enumerate(lines, start=1))
    if numbered and numbered[0][1] in (MARK_MODULES, MARK_ABSENT):
        out.present = numbered[0][1] == MARK_MODULES
        numbered = numbered[1:]
    section = "modules"
    for n, line in numbered:
        if line == MARK_BUILTIN:
            if out.builtin is not None:
                raise ParseError(f"line {n}: {MARK_BUILTIN!r} twice")
            out.builtin, section = [], "builtin"
            continue
        if section == "builtin":
            out.builtin.append(_builtin(n, line))
        elif not out.present:
            raise ParseError(f"line {n}: a module line after {MARK_ABSENT!r}: {shown(line)}")
        elif line.strip():
            out.modules.append(_module(n, line))
    return out


def _builtin(n: int, line: str) -> str:
    found = _BUILTIN.fullmatch(line.strip())
    if not found:
        raise ParseError(f"line {n}: expected a module path (kernel/fs/ext4/ext4.ko), got "
                         f"{shown(line)}")
    return found.group(1)


def _module(n: int, line: str) -> Module:
    where = f"line {n}"
    fields = line.split()
    if len(fields) not in (6, 7):
        raise ParseError(f"{where}: expected 'name size refcount deps state address "
                         f"[(taints)]', got {shown(line)}")
    name, size, refcount, deps, state, address = fields[:6]
    if not _NAME.fullmatch(name):
        raise ParseError(f"{where}: not a module name: {shown(name)}")
    if state not in _STATES:
        raise ParseError(f"{where}: state must be one of {', '.join(_STATES)}, got "
                         f"{shown(state)}")
    if not _ADDRESS.fullmatch(address):
        raise ParseError(f"{where}: expected an address (0x...), got {shown(address)}")
    taints = ""
    if len(fields) == 7:
        found = _TAINTS.fullmatch(fields[6])
        if not found:
            raise ParseError(f"{where}: expected taint letters like (OE), got "
                             f"{shown(fields[6])}")
        taints = found.group(1)
    module = Module(name, to_int(size, f"{where}: size"),
                    None if refcount == "-" else to_int(refcount, f"{where}: refcount"),
                    state=state, taints=taints)
    if deps != "-":
        for dep in deps.split(","):
            if not dep:
                continue
            if dep == "[permanent]":
                module.permanent = True
            elif dep == "[unsafe]":
                continue
            elif _NAME.fullmatch(dep):
                module.used_by.append(dep)
            else:
                raise ParseError(f"{where}: not a module name among the users: {shown(dep)}")
    return module
