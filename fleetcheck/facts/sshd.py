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

# Keywords whose list is one comma-separated word in sshd_config and in `sshd -T`
# (OpenSSH servconf.c); every other list is blank-separated words.
COMMA_LISTS = {"ciphers", "macs", "kexalgorithms", "hostkeyalgorithms",
               "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes",
               "hostbasedacceptedalgorithms", "hostbasedacceptedkeytypes",
               "casignaturealgorithms", "gssapikexalgorithms"}


def word(value: Any, keyword: str = "") -> Any:
    """A declared value in sshd's own words, for the check and the fix alike: a YAML
    boolean (and y/n) is yes/no, a number its digits, a list its elements joined as
    sshd_config takes them and `sshd -T` prints them (commas for the algorithm lists
    of COMMA_LISTS, blanks otherwise); a string as written. Anything else is returned
    as it is, for config_value to refuse."""
    return values.as_word(value, true="yes", false="no",
                          sep="," if keyword.lower() in COMMA_LISTS else " ")


def config_value(value, what: str = "the value", keyword: str = ""):
    """The value of `Keyword value` in sshd_config as :func:`word` types it, checked as
    sshd splits it (argv_split): blank-separated words; ``"`` and ``'`` quote, ``\\``
    escapes, a word that starts with ``#`` starts a comment, one leading ``=`` is taken
    as the separator. So: a string, a number, a boolean (yes/no) or a list of those; no
    line break or control character, none of ``" ' \\``, no word starting with ``#``,
    no leading ``=``, no blank at either end, at most 1024 characters. A leading '-' is
    allowed (``Ciphers -aes128-cbc`` removes from the default list)."""
    typed = word(value, keyword)
    if not isinstance(typed, str):
        raise values.UnsafeValue(f"{what} must be a string, a number, a boolean or a list "
                                 f"of those, got {values.describe(value)}")
    text = values.text(typed, what, max_len=MAX_VALUE)
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

# The schema of the var (fleetcheck.varschema).
VARS = {
    "sshd": {
        "type": "object",
        "description": "sshd directives and the value each must have in `sshd -T` "
                       "(sshd.config): {PermitRootLogin: prohibit-password}; true/false "
                       "are yes/no, a list is joined as sshd prints it",
        "x-expected": "a mapping of Directive: value (like {PermitRootLogin: no})",
        "x-key": "an sshd_config keyword (letters and digits: PermitRootLogin)",
        "patternProperties": {
            r"^[A-Za-z][A-Za-z0-9]{0,63}$": {
                "type": ["string", "number", "boolean", "array"],
                "items": {"type": ["string", "number"], "description": "one word"},
                "x-expected": "a string, a number, a boolean or a list of words",
                "description": "the value, in sshd's words"},
        },
        "additionalProperties": False,
    },
}


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
