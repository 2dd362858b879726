"""The Fact contract.

A fact module (``fleetcheck/facts/<name>.py``) holds

- ``NAME``: the format name used by ``python -m fleetcheck parse NAME``;
- ``command(hostvars) -> Command``: what to run on the host, built only through
  :class:`Command` so every value taken from the inventory is quoted;
- ``parse(text) -> dataclass``: pure, never touches a host, raises
  :class:`ParseError` on text it cannot make sense of;
- optionally ``from_result(rc, stdout, stderr) -> dataclass`` when a non-zero exit
  status carries meaning (a missing /proc/mdstat means "no md driver").

The engine (``fleetcheck.connect.hosts``) runs the command once per host and caches the
parsed value for the run.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Mapping
from typing import Any

from fleetcheck.values import shown

# Host output is untrusted: a parser returns a value or raises ParseError, never
# anything else, and the message is one line of bounded length (values in it are cut
# by `shown`). Numbers go through to_int / to_float: ASCII digits only (int() also
# takes '٣', ' 3', '+3' and '3_0'), and at most MAX_DIGITS of them (a 64-bit counter
# has 20; int() raises ValueError beyond 4300 digits, float() gives inf).
MAX_DIGITS = 40
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class ParseError(ValueError):
    """The text is not what the parser expects; the message says where and why."""


def brief(text: str, limit: int = 40) -> str:
    """A name from host output as a message shows it: as it is when short and
    printable (``md0``), else quoted and cut by `shown`."""
    return text if len(text) <= limit and text.isprintable() else shown(text, limit)


def to_int(text: str, where: str) -> int:
    """``text`` as a non-negative integer, or ParseError ``"<where>: ..."``."""
    if not (text.isascii() and text.isdigit()):
        raise ParseError(f"{where}: expected a number, got {shown(text)}")
    if len(text) > MAX_DIGITS:
        raise ParseError(f"{where}: a number of {len(text)} digits (at most {MAX_DIGITS}): "
                         f"{shown(text)}")
    return int(text)


def to_float(text: str, where: str) -> float:
    """``text`` (digits, optionally a fraction: no sign, exponent, inf or nan) as a
    float, or ParseError ``"<where>: ..."``."""
    if not _DECIMAL.fullmatch(text):
        raise ParseError(f"{where}: expected a decimal number, got {shown(text)}")
    if len(text) > 2 * MAX_DIGITS:
        raise ParseError(f"{where}: a number of {len(text)} characters (at most "
                         f"{2 * MAX_DIGITS}): {shown(text)}")
    return float(text)


def bounded_lines(text: str, max_bytes: int, max_lines: int) -> list[str]:
    """A configuration file's lines (no final empty one), or ParseError when it holds
    more than `max_bytes` characters or `max_lines` lines: a parser's memory and time
    stay bounded whatever the host sends."""
    if len(text) > max_bytes:
        raise ParseError(f"line 1: more than {max_bytes} characters")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > max_lines:
        raise ParseError(f"line {max_lines + 1}: more than {max_lines} lines")
    return lines


class FactError(RuntimeError):
    """Gathering a fact failed on the host (command failed, timed out, ...)."""


@dataclasses.dataclass(frozen=True)
class Command:
    """A shell command whose arguments are quoted in one place.

    ``Command("vmstat %s %s", 1, 5)`` renders ``vmstat 1 5``; every ``%s`` gets
    ``shlex.quote(str(arg))``. A template never contains inventory values itself.
    """

    template: str
    args: tuple[Any, ...] = ()

    def __init__(self, template: str, *args: Any):
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "args", tuple(args))

    def render(self) -> str:
        if not self.args:
            return self.template
        return self.template % tuple(shlex.quote(str(a)) for a in self.args)

    def __str__(self) -> str:
        return self.render()


def var_setting(hostvars: Mapping[str, Any], var: str, key: str | None = None) -> Any:
    """The value of var `var`, or of its `key` when given: None when unset or null."""
    conf = hostvars.get(var)
    if key is None or conf is None:
        return conf
    return conf.get(key) if isinstance(conf, Mapping) else None


def default_from_result(parse, command: Command, rc: int, stdout: str, stderr: str):
    """Parse stdout of a command that must exit 0."""
    if rc != 0:
        detail = (stderr or stdout).strip().splitlines()
        raise FactError(
            f"`{command.render()}` exited {rc}" + (f": {detail[-1]}" if detail else "")
        )
    return parse(stdout)


def to_jsonable(value: Any) -> Any:
    """Dataclasses (nested) to plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value
