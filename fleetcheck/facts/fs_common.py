"""What the filesystem facts share (fs.mounted, fs.swap, fs.automount, fs.smart): their
vars' settings with the schema's defaults, the files they read instead of the host's
own (a path var, checked again with its kind), and bounded JSON sections."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import FactError, ParseError, shown

MAX_JSON = 4 * 1024 * 1024


def settings(hostvars: Mapping[str, Any], var: str, schema: Mapping[str, Any]) -> dict | None:
    """The var's keys with the schema's defaults under them; None when the var is null
    (its check is off)."""
    conf = hostvars.get(var)
    if conf is None:
        return None
    merged = {key: sub.get("default") for key, sub in schema[var]["properties"].items()
              if "default" in sub}
    if isinstance(conf, Mapping):
        merged.update({k: v for k, v in conf.items() if v is not None})
    return merged


def path_var(hostvars: Mapping[str, Any], var: str, key: str, default: str | None,
             schema: Mapping[str, Any]) -> str | None:
    """`var.key` (else `default`) as an absolute path, or a FactError for a bad one."""
    conf = settings(hostvars, var, schema) or {}
    chosen = conf.get(key) or default
    if chosen is None:
        return None
    try:
        return values.path(chosen, f"{var}.{key}")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None


def load_json(lines: list[str], first: int, what: str) -> Any:
    """The JSON document in `lines` (the first numbered `first`), bounded."""
    body = "\n".join(lines)
    if len(body) > MAX_JSON:
        raise ParseError(f"line {first}: {what}: {len(body)} characters of JSON (at most "
                         f"{MAX_JSON})")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise ParseError(f"line {first + exc.lineno - 1}: {what}: not JSON: {exc.msg}") \
            from None
    except RecursionError:
        raise ParseError(f"line {first}: {what}: JSON nested too deeply") from None
    except ValueError:   # a number of more than 4300 digits
        raise ParseError(f"line {first}: {what}: a number too long to read") from None


def sections(text: str, prefix: str, max_lines: int = 200000) -> list[tuple[int, str, list[str]]]:
    """(line number, mark, body lines) of each `prefix...` mark line and what follows it
    up to the next; text before the first mark is returned under the mark ''."""
    lines = text.splitlines()
    if len(lines) > max_lines:
        raise ParseError(f"line {max_lines + 1}: more than {max_lines} lines")
    out: list[tuple[int, str, list[str]]] = [(1, "", [])]
    for n, line in enumerate(lines, start=1):
        if line.startswith(prefix):
            out.append((n, line[len(prefix):].strip(), []))
        else:
            out[-1][2].append(line)
    if not out[0][2] or not any(s.strip() for s in out[0][2]):
        out = out[1:]
    return out


def only_mark(got: str, allowed: tuple[str, ...], n: int) -> None:
    if got.split(" ", 1)[0] not in allowed:
        raise ParseError(f"line {n}: unknown mark {shown(got)} (known: {', '.join(allowed)})")


def number(value: Any, where: str, *, signed: bool = False) -> int | None:
    """A JSON integer (None stays None); a bool, a float or a string is a ParseError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or \
            (value < 0 and not signed) or abs(value) >= 1 << 64:
        raise ParseError(f"{where}: expected {'an' if signed else 'a non-negative'} "
                         f"integer, got {values.describe(value)[:60]}")
    return value
