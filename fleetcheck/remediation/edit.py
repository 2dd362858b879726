"""Pure text edits that plans use to compute a file's new content in memory, and the
two guards every fix that writes a config file goes through before it plans a write:

- :func:`unsafe` checks each value it writes or passes to a command with its kind
  (fleetcheck.values; the kinds are declared next to the parser of the file's syntax)
  and gives the reason to refuse, never raising;
- :func:`verify`, the re-parse guard: the new content is read back with the parser
  of its format, and what it says must be exactly what the fix intended, computed
  from what the current content says (the declared entries, and nothing else
  changed). A writer bug, or a value that got past the kinds, then refuses the fix
  instead of writing a file that says something else.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from fleetcheck import values

Model = TypeVar("Model")
MAX_REASON = 300


def unsafe_value(value: str) -> str | None:
    """Why a value must not be written into a line-based config file, or None."""
    if any(ch in value for ch in "\n\r\x00"):
        return "the value contains a line break or NUL"
    if any(ord(ch) < 32 and ch != "\t" for ch in value):
        return "the value contains a control character"
    return None


def unsafe(checks: Iterable[tuple[values.Kind, Any, str]]) -> str | None:
    """The first reason one of ``(kind, value, what)`` is unsafe, or None: the plan's
    own check of what it writes (defence in depth behind the load's), as a reason to
    refuse rather than an exception."""
    for kind, value, what in checks:
        try:
            values.require(kind, value, what)
        except values.UnsafeValue as exc:
            return str(exc)
    return None


def declared_problem(name: str, value: Any, kinds: Mapping[str, values.Kind]) -> str | None:
    """The first problem of var ``name`` by the declared ``kinds`` (what the load
    checks, fleetcheck.values.problems), or None: for vars built past the load."""
    for problem in values.problems(name, value, kinds):
        return problem
    return None


def not_utf8(path: str, state) -> str | None:
    """Why the current content of a file (a FileState) cannot be edited as text and
    kept byte for byte elsewhere, or None: it must be UTF-8."""
    if not getattr(state, "exists", False):
        return None
    try:
        state.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"{path} is not UTF-8 (byte {exc.start}): an edit would not keep the rest "
                "of it byte for byte; fix by hand")
    return None


# ------------------------------------------------------------ the re-parse guard

def _cut(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 3] + "..."


def _counted(items: Iterable[Any]) -> Counter:
    return Counter(repr(item) for item in items)


def difference(want: Any, got: Any) -> str:
    """What differs between two models, in one line (cut)."""
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        parts = []
        for key in list(want) + [k for k in got if k not in want]:
            if key not in got:
                parts.append(f"{key}: missing")
            elif key not in want:
                parts.append(f"{key}: not intended ({values.shown(got[key], 60)})")
            elif want[key] != got[key]:
                parts.append(f"{key}: {difference(want[key], got[key])}")
        return _cut("; ".join(parts))
    if isinstance(want, (list, tuple, set, frozenset)) and \
            isinstance(got, (list, tuple, set, frozenset)):
        w, g = _counted(want), _counted(got)
        extra, missing = sorted((g - w).elements()), sorted((w - g).elements())
        parts = ([f"not intended: {', '.join(extra)}"] if extra else []) + \
                ([f"missing: {', '.join(missing)}"] if missing else [])
        return _cut("; ".join(parts) or "in another order")
    return _cut(f"{values.shown(got, 120)} instead of {values.shown(want, 120)}")


def verify(parse: Callable[[str], Model], before: str | None, after: str,
           expected: Callable[[Model | None], Model], *, what: str) -> str | None:
    """The re-parse guard. ``parse`` reads a content into a comparable model (its
    format's parser, reduced to what matters: the entries, the lines left alone);
    ``expected`` gives the model the new content must have from the current one
    (None for a file that does not exist yet). Returns None when ``parse(after)`` is
    exactly that, else the reason to refuse the fix (never raises: a parser that
    fails on either content is a reason too)."""
    try:
        old = parse(before) if before is not None else None
    except Exception as exc:  # noqa: BLE001 - any failure is a reason, never a crash
        return _cut(f"{what}: the current content cannot be read back ({exc}), so an "
                    "edit of it cannot be verified")
    try:
        new = parse(after)
    except Exception as exc:  # noqa: BLE001
        return _cut(f"{what}: the new content would not parse: {exc}")
    try:
        want = expected(old)
    except Exception as exc:  # noqa: BLE001
        return _cut(f"{what}: the intended content cannot be computed: {exc}")
    if new == want:
        return None
    return _cut(f"{what}: the new content does not read back as intended: "
                f"{difference(want, new)}")


def lines_outside(text: str, taken: Iterable[int]) -> list[str]:
    """The lines of ``text`` (without their line ends) but the 0-based ``taken`` ones:
    what an edit of those lines must leave exactly as it was."""
    skip = set(taken)
    return [line for i, line in enumerate(text.splitlines()) if i not in skip]


# ------------------------------------------------------------ edits

def set_keyword(text: str, pattern: str, line: str, *, insert: str = "end",
                flags: int = 0, stop: str | None = None) -> str:
    """Replace the first active line whose start matches `pattern` with `line`.

    Without such a line, insert `line` at the end, or at the top (after the leading
    comment block) where the first occurrence wins, as in sshd_config. With `stop`,
    only the lines above the first one matching it are candidates (sshd_config's
    Match blocks), and `insert` must be "top".
    """
    rx = re.compile(r"^\s*" + pattern, flags)
    end_rx = re.compile(r"^\s*" + stop, flags) if stop else None
    lines = text.splitlines(keepends=True)
    for i, old in enumerate(lines):
        if end_rx is not None and end_rx.match(old):
            break
        if rx.match(old):
            lines[i] = line + "\n"
            return "".join(lines)
    if insert == "top":
        at = 0
        while at < len(lines) and (lines[at].startswith("#") or not lines[at].strip()):
            at += 1
        lines.insert(at, line + "\n")
        return "".join(lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines) + line + "\n"


def editable(ctx, path: str, what: str):
    """(the current FileState of `path`, None), or (None, why it cannot be edited): the
    path must be a safe absolute path (`what` names where it came from), the file must
    exist and be UTF-8. One preamble for the fixes that edit a configuration in place."""
    why = unsafe([(values.path, path, what)])
    if why:
        return None, why
    current = ctx.facts.get("file", path=path)
    if not current.exists:
        return None, f"{path} does not exist"
    return (None, not_utf8(path, current)) if not_utf8(path, current) else (current, None)
