"""The Fact contract.

A fact module (``fleetcheck/facts/<name>.py``) holds

- ``NAME``: the format name used by ``python -m fleetcheck parse NAME``;
- ``command(hostvars) -> Command``: what to run on the host, built only through
  :class:`Command` so every value taken from the inventory is quoted;
- ``parse(text) -> dataclass``: pure, never touches a host, raises
  :class:`ParseError` on text it cannot make sense of;
- optionally ``from_result(rc, stdout, stderr) -> dataclass`` when a non-zero exit
  status carries meaning (a missing /proc/mdstat means "no md driver").

The engine (``fleetcheck.hosts``) runs the command once per host and caches the
parsed value for the run.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any


class ParseError(ValueError):
    """The text is not what the parser expects; the message says where and why."""


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
