"""The sshd configuration in effect: `sshd -T` (keywords in lower case)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import re

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown

NAME = "sshd"
_DIRECTIVE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


# Keywords that are not one setting: Match opens a block that runs to the next Match
# (every line fleetcheck puts above would be read in it), Include reads other files.
NOT_SETTINGS = {"match", "include"}


def directive(value, what: str = "the value"):
    """An sshd_config keyword (PermitRootLogin): letters and digits only, so it can
    neither be an option nor break the line it is written on; not Match or Include
    (they change the file's structure, not a setting)."""
    text = values.word(value, what)
    if not _DIRECTIVE.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be an sshd_config keyword: letters and digits (like PermitRootLogin), "
                                 f"got {values.shown(text)}")
    if text.lower() in NOT_SETTINGS:
        raise values.UnsafeValue(f"{what} must be a setting, not {text} (it changes how the "
                                 "rest of sshd_config is read)")
    return text


MAX_VALUE = 1024
_QUOTING = re.compile(r"[\"'\\]")


def config_value(value, what: str = "the value"):
    """The value of `Keyword value` in sshd_config, as sshd splits it (argv_split):
    blank-separated words; ``"`` and ``'`` quote, ``\\`` escapes, a word that starts
    with ``#`` starts a comment, one leading ``=`` is taken as the separator. So: a
    string or an integer (a YAML boolean is refused: write "yes"/"no"), no line break
    or control character, none of ``" ' \\``, no word starting with ``#``, no leading
    ``=``, no blank at either end, at most 1024 characters. A leading '-' is allowed
    (``Ciphers -aes128-cbc`` removes from the default list)."""
    if isinstance(value, bool):
        raise values.UnsafeValue(f"{what} must be a string such as \"yes\" or \"no\", got "
                                 f"{values.describe(value)} (quote it in YAML)")
    text = values.text(value, what, max_len=MAX_VALUE)
    bad = _QUOTING.search(text)
    if bad:
        raise values.UnsafeValue(f"{what} must not contain {bad.group()!r} (sshd reads quotes "
                                 f"and escapes): {values.shown(text)}")
    if re.search(r"(?:^|\s)#", text):
        raise values.UnsafeValue(f"{what} must not have a word starting with '#' (sshd reads "
                                 f"the rest of the line as a comment): {values.shown(text)}")
    if text.startswith("=") or text != text.strip():
        raise values.UnsafeValue(f"{what} must not start with '=' or a blank, nor end with a "
                                 f"blank: {values.shown(text)}")
    return text


# The vars whose values reach sshd_config (checked at load: fleetcheck.values):
# every keyword and every value of the mapping `sshd`.
VALUE_KINDS = {"sshd{}": directive, "sshd.*": config_value}


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sshd -T")


@dataclass
class SshdConfig:
    settings: dict[str, str] = field(default_factory=dict)   # first value of each keyword
    repeated: dict[str, list[str]] = field(default_factory=dict)  # every value, when several

    def get(self, keyword: str) -> str | None:
        return self.settings.get(keyword.lower())


def parse(text: str) -> SshdConfig:
    cfg = SshdConfig()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, _, value = line.strip().partition(" ")
        if not key.isalnum() or key.lower() != key:
            raise ParseError(f"line {n}: expected 'keyword value', got {shown(line)}")
        if key in cfg.settings:
            cfg.repeated.setdefault(key, [cfg.settings[key]]).append(value)
        else:
            cfg.settings[key] = value
    if not cfg.settings:
        raise ParseError("line 1: empty output: is this `sshd -T`?")
    return cfg
