"""A file's content, mode and owner: what a remediation needs to plan an edit."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "file"


def command(hostvars: Mapping[str, Any], path: str = "") -> Command:
    if not path.startswith("/"):
        raise FactError(f"file fact needs an absolute path, got {path!r}")
    return Command("stat -c '%%a %%U %%G' -- %s && base64 -w0 -- %s && echo", path, path)


@dataclass
class FileState:
    exists: bool
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    content_b64: str = ""

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_b64)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.content).hexdigest() if self.exists else None


def parse(text: str) -> FileState:
    lines = text.split("\n")
    head = lines[0].split()
    if len(head) != 3 or not re.fullmatch(r"[0-7]{3,4}", head[0]):
        raise ParseError(f"line 1: expected 'MODE OWNER GROUP', got {shown(lines[0])}")
    body = lines[1] if len(lines) > 1 else ""
    if not body.isascii():
        # b64decode raises a bare ValueError (not binascii.Error) on such a str
        bad = next(c for c in body if not c.isascii())
        raise ParseError(f"line 2: content is not valid base64 (a non-ASCII character "
                         f"{bad!r})")
    try:
        base64.b64decode(body, validate=True)
    except ValueError:  # binascii.Error is one
        raise ParseError("line 2: content is not valid base64") from None
    return FileState(True, int(head[0], 8), head[1], head[2], body)


def from_result(rc: int, stdout: str, stderr: str, path: str = "") -> FileState:
    if rc != 0 and "No such file" in stderr:
        return FileState(exists=False)
    if rc != 0:
        raise FactError(f"reading {path} failed (exit {rc}): {stderr.strip()[:200]}")
    return parse(stdout)
