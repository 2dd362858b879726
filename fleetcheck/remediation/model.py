"""The Plan: an ordered list of actions, each with a one-line summary and, for a file,
the unified diff it makes. Building a Plan is pure; the engine applies it.

Every action turns into Commands (fleetcheck.facts.base.Command), so every value that
comes from the inventory or a host reaches the shell quoted, as data.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unified_diff(path: str, before: bytes | None, after: bytes | None) -> str:
    old = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new = (after or b"").decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(
        old, new, fromfile=f"a{path}" if before is not None else "/dev/null",
        tofile=f"b{path}" if after is not None else "/dev/null"))


@dataclass
class Action:
    summary: str

    def files(self) -> list[str]:
        """Paths this action changes (the engine backs them up first)."""
        return []

    def to_json(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "summary": self.summary}


@dataclass
class RunCommand(Action):
    command: Command = field(default_factory=lambda: Command("true"))
    ok: tuple[int, ...] = (0,)

    def to_json(self) -> dict[str, Any]:
        return dict(super().to_json(), command=self.command.render(), ok=list(self.ok))


@dataclass
class WriteFile(Action):
    """Replace a file's content atomically, keeping (or setting) mode and owner.

    `before_sha256` is what the file held when the plan was made (None: the file did
    not exist); the engine refuses to write over a file that changed since.
    """

    path: str = ""
    content: bytes = b""
    before: bytes | None = None
    mode: int | None = None       # None: keep the current mode (0644 for a new file)
    owner: str | None = None      # None: keep the current owner (root for a new file)
    group: str | None = None

    @property
    def before_sha256(self) -> str | None:
        return None if self.before is None else sha256(self.before)

    @property
    def after_sha256(self) -> str:
        return sha256(self.content)

    def diff(self) -> str:
        return unified_diff(self.path, self.before, self.content)

    def files(self) -> list[str]:
        return [self.path]

    def to_json(self) -> dict[str, Any]:
        return dict(super().to_json(), path=self.path, sha256_before=self.before_sha256,
                    sha256_after=self.after_sha256)


@dataclass
class Service(Action):
    """Ensure a service state: start, stop, reload, restart, enable."""

    name: str = ""
    operation: str = "start"

    def to_json(self) -> dict[str, Any]:
        return dict(super().to_json(), service=self.name, operation=self.operation)


@dataclass
class Plan:
    check_id: str
    host: str
    actions: list[Action] = field(default_factory=list)
    reason: str = ""   # why nothing is planned, or why the fix is refused
    refused: bool = False
    target: str | None = None   # the host the actions change, when not `host`
    # What `fleetcheck rollback` runs on the host after it restored this plan's files
    # (RunCommand or Service actions, in order): the runtime state the fix changed
    # put back (the old sysctl value, a daemon reloaded from the restored file). A plan
    # whose other actions changed something and declares none is reported by rollback
    # as not restored.
    on_rollback: list[Action] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.actions

    def after_restore(self, *actions: Action) -> Plan:
        """Declare what rollback runs after restoring this plan's files; returns the
        plan (`return ctx.plan(...).after_restore(RunCommand(...))`)."""
        for action in actions:
            if not isinstance(action, (RunCommand, Service)):
                raise TypeError(f"on_rollback takes RunCommand or Service, "
                                f"not {type(action).__name__}")
            self.on_rollback.append(action)
        return self

    def files(self) -> list[str]:
        seen: list[str] = []
        for action in self.actions:
            for path in action.files():
                if path not in seen:
                    seen.append(path)
        return seen

    def diffs(self) -> dict[str, str]:
        return {a.path: a.diff() for a in self.actions if isinstance(a, WriteFile)}

    @property
    def summary(self) -> str:
        if self.refused:
            return f"refused: {self.reason}"
        if self.empty:
            return self.reason or "nothing to do"
        return "; ".join(a.summary for a in self.actions)

    def to_json(self) -> dict[str, Any]:
        data = {"summary": self.summary, "actions": [a.to_json() for a in self.actions],
                "diffs": self.diffs(), "refused": self.refused}
        if self.target:
            data["target"] = self.target
        if self.on_rollback:
            data["on_rollback"] = [a.to_json() for a in self.on_rollback]
        return data


def refuse(check_id: str, host: str, reason: str) -> Plan:
    """A plan that will not be applied: the fix is unsafe for this input."""
    return Plan(check_id, host, reason=reason, refused=True)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
