"""Pure text edits that plans use to compute a file's new content in memory."""

from __future__ import annotations

import re


def unsafe_value(value: str) -> str | None:
    """Why a value must not be written into a line-based config file, or None."""
    if any(ch in value for ch in "\n\r\x00"):
        return "the value contains a line break or NUL"
    if any(ord(ch) < 32 and ch != "\t" for ch in value):
        return "the value contains a control character"
    return None


def set_keyword(text: str, pattern: str, line: str, *, insert: str = "end",
                flags: int = 0) -> str:
    """Replace the first active line whose start matches `pattern` with `line`.

    Without such a line, insert `line` at the end, or at the top (after the leading
    comment block) where the first occurrence wins, as in sshd_config.
    """
    rx = re.compile(r"^\s*" + pattern, flags)
    lines = text.splitlines(keepends=True)
    for i, old in enumerate(lines):
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
