"""The kernel's taint: /proc/sys/kernel/tainted (or the file the var
`kernel.tainted.path` names: a lab host shares its kernel with the machine running the
lab, so the lab places a value there), one decimal number whose bits say why the kernel
is not what its developers would debug, decoded as the kernel's documentation
(Documentation/admin-guide/tainted-kernels.rst, and kernel/panic.c for bit 19) does.

Each flag has the severity kernel.tainted gives it: the machine checked, a bad page, a
death (OOPS or BUG) or a soft lockup point at broken hardware or a kernel bug (high); a
forced module load or unload, an out-of-spec system, a userspace request, an
overridden ACPI table, a warning, a fwctl debug write (medium); a staging driver, a
firmware workaround or an in-kernel test (low); a proprietary, out-of-tree or unsigned
module, a live patch, the distributor's own taint and the randstruct build are facts
about the kernel in use, not faults (info).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown, to_int
from fleetcheck.facts.kernel import path_of

NAME = "kernel_tainted"
# bit, letter, what it means, kernel.tainted's severity
FLAGS = (
    (0, "P", "a proprietary module was loaded", "info"),
    (1, "F", "a module was force loaded", "medium"),
    (2, "S", "the kernel runs on an out-of-specification system", "medium"),
    (3, "R", "a module was force unloaded", "medium"),
    (4, "M", "a processor reported a Machine Check Exception", "high"),
    (5, "B", "a bad page was referenced, or unexpected page flags", "high"),
    (6, "U", "a userspace application asked for the taint", "medium"),
    (7, "D", "the kernel died recently (an OOPS or BUG)", "high"),
    (8, "A", "an ACPI table was overridden by the user", "medium"),
    (9, "W", "the kernel issued a warning", "medium"),
    (10, "C", "a staging driver was loaded", "low"),
    (11, "I", "a workaround for a platform firmware bug was applied", "low"),
    (12, "O", "an externally-built (out-of-tree) module was loaded", "info"),
    (13, "E", "an unsigned module was loaded", "info"),
    (14, "L", "a soft lockup occurred", "high"),
    (15, "K", "the kernel was live patched", "info"),
    (16, "X", "the distribution's auxiliary taint", "info"),
    (17, "T", "the kernel was built with the randstruct plugin", "info"),
    (18, "N", "an in-kernel test was run", "low"),
    (19, "J", "userspace used a mutating fwctl debug operation", "medium"),
)
BY_BIT = {bit: (letter, text, severity) for bit, letter, text, severity in FLAGS}
MAX_DIGITS = 20   # a 64-bit unsigned value


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("cat -- %s", path_of(hostvars, "tainted"))


@dataclass
class Flag:
    bit: int
    letter: str          # "?" for a bit the table does not know
    description: str
    severity: str


@dataclass
class Tainted:
    value: int
    flags: list[Flag] = field(default_factory=list)

    @property
    def letters(self) -> str:
        return "".join(f.letter for f in self.flags)


def decode(value: int) -> list[Flag]:
    out = []
    for bit in range(value.bit_length()):
        if value >> bit & 1:
            letter, text, severity = BY_BIT.get(bit, ("?", f"bit {bit}, unknown to "
                                                      "fleetcheck's table", "medium"))
            out.append(Flag(bit, letter, text, severity))
    return out


def parse(text: str) -> Tainted:
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(lines) != 1:
        n = lines[1][0] if len(lines) > 1 else 1
        raise ParseError(f"line {n}: expected one number (the taint), got {len(lines)} lines")
    n, line = lines[0]
    word = line.strip()
    if len(word) > MAX_DIGITS:
        raise ParseError(f"line {n}: a taint of {len(word)} digits: {shown(word)}")
    value = to_int(word, f"line {n}: the taint")
    return Tainted(value, decode(value))
