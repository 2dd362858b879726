"""Postfix (LPIC-2 211): main.cf's syntax, and the var `mail` of the area (mail.postfix,
mail.open_relay, mail.queue: its schema and value kinds are declared here). The facts
are postfix_config (`postconf -n`, `postfix check`) and postfix_queue (`postqueue -j`);
the relay test is the controller's own (fleetcheck.probes.smtp).

main.cf (postconf(5)): `name = value`; a line that starts with a blank continues the
logical line before it; empty lines, blank lines and lines whose first non-blank is `#`
are skipped (also between a line and its continuation); a `#` elsewhere is part of the
value. The last definition of a name wins. A logical line without `=` is what Postfix
refuses (`fatal: ... line N: missing '=' after attribute name`): a ParseError here.
`postconf -n` prints the same syntax, one line per parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import ParseError, shown, var_setting
from fleetcheck.facts.capacity import threshold

VAR = "mail"
MAX_LINES = 100000
MAX_LINE = 65536
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}")
# what the relay test writes after MAIL FROM:/RCPT TO: (RFC 5321's dot-atom, no quoting)
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9][A-Za-z0-9.-]{0,252}")


@dataclass
class Parameter:
    name: str
    value: str      # continuation lines joined by one blank, blanks at the ends cut
    line: int       # the line its definition starts on
    last: int       # the last line of the definition


@dataclass
class MainCf:
    parameters: list[Parameter] = field(default_factory=list)

    def effective(self) -> dict[str, str]:
        """name -> value, the last definition winning."""
        return {p.name: p.value for p in self.parameters}


def parse_main_cf(text: str) -> MainCf:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    out = MainCf()
    current: list[Any] | None = None     # [first line, last line, parts]
    for n, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            raise ParseError(f"line {n}: longer than {MAX_LINE} characters")
        if any(not c.isprintable() and c not in "\t\r" for c in raw):
            raise ParseError(f"line {n}: a control character: {shown(raw)}")
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[0] in " \t":
            if current is None:
                raise ParseError(f"line {n}: a continuation line before any parameter: "
                                 f"{shown(raw)}")
            current[1] = n
            current[2].append(stripped)
            continue
        if current is not None:
            out.parameters.append(_parameter(*current))
        current = [n, n, [stripped]]
    if current is not None:
        out.parameters.append(_parameter(*current))
    return out


def _parameter(first: int, last: int, parts: list[str]) -> Parameter:
    text = " ".join(parts)
    name, eq, value = text.partition("=")
    name = name.strip()
    if not eq or not name or any(c in name for c in " \t"):
        raise ParseError(f"line {first}: missing '=' after the parameter name: {shown(text)}")
    if not _NAME.fullmatch(name):
        raise ParseError(f"line {first}: not a parameter name: {shown(name)}")
    return Parameter(name, value.strip(), first, last)


def words(value: str) -> list[str]:
    """A parameter's value as Postfix splits a list: on blanks and commas."""
    return [w for w in re.split(r"[\s,]+", value) if w]


def same_value(declared: Any, actual: str | None) -> bool:
    return actual is not None and words(str(declared)) == words(actual)


# -- the var `mail` (every check of the area) ---------------------------------------------

def parameter_name(value: Any, what: str = "the parameter") -> str:
    text = values.word(value, what)
    if not _NAME.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a main.cf parameter name, got {shown(text)}")
    return text


def main_cf_value(value: Any, what: str = "the value") -> str:
    """A value written into main.cf by mail.open_relay's fix: one line of printable
    text, no blank at either end (a leading one would join the line to the one before),
    not starting with '#'."""
    text = values.text(str(value) if isinstance(value, (int, float)) else value, what,
                       max_len=4096)
    if text != text.strip() or text.startswith("#"):
        raise values.UnsafeValue(f"{what} must not start or end with a blank nor start with "
                                 f"'#': {shown(text)}")
    return text


def smtp_address(value: Any, what: str = "the address") -> str:
    """An address the relay test sends in MAIL FROM / RCPT TO: local@domain, no blank,
    quote, angle bracket or line break (nothing can be added to the SMTP command)."""
    text = values.word(value, what)
    if not _ADDRESS.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be an address local@domain, got {shown(text)}")
    return text


VALUE_KINDS = {
    "mail.postfix.parameters{}": parameter_name,
    "mail.postfix.parameters.*": values.text,
    "mail.open_relay.helo": values.dns_name,
    "mail.open_relay.sender": smtp_address,
    "mail.open_relay.recipient": smtp_address,
    "mail.open_relay.mynetworks": main_cf_value,
    "mail.open_relay.smtpd_relay_restrictions": main_cf_value,
}

DEFAULT_PROBE = {"port": 25, "helo": "fleetcheck.invalid", "timeout": 10,
                 "sender": "fleetcheck-probe@relay-test.invalid",
                 "recipient": "relay-test@relay-test.invalid"}
FIXED = ("mynetworks", "smtpd_relay_restrictions")   # what mail.open_relay's fix restores
_RESTORED = ("what --remediate restores when the MTA relays (postfix check, then postfix "
             "reload); null: no fix")
VARS = {
    VAR: {
        "type": "object",
        "description": "Postfix (mail.postfix, mail.open_relay, mail.queue); a key null turns "
                       "its check off",
        "x-expected": "a mapping (like {postfix: {parameters: {inet_interfaces: all}}})",
        "properties": {
            "postfix": {
                "type": "object", "description": "mail.postfix: `postfix check` and "
                "`postconf -n` where Postfix is installed",
                "properties": {
                    "parameters": {
                        "type": "object", "default": {},
                        "description": "main.cf parameters that must be in effect (as "
                        "`postconf -n` shows them; lists compared word by word)",
                        "x-key": "a main.cf parameter name",
                        "additionalProperties": {"type": ["string", "number", "boolean"],
                                                 "description": "its value"}},
                    "warnings": {"type": "boolean", "default": True,
                                 "description": "a warning of `postfix check` or `postconf` "
                                 "(an unused parameter: a typo) fails the check"},
                },
                "additionalProperties": False,
            },
            "open_relay": {
                "type": "object", "description": "mail.open_relay: the relay test from the "
                "controller to the host's inventory address (EHLO, MAIL FROM, RCPT TO, "
                "RSET, QUIT: nothing is ever sent)",
                "properties": {
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                             "default": DEFAULT_PROBE["port"], "description": "the SMTP port"},
                    "helo": {"type": "string", "default": DEFAULT_PROBE["helo"],
                             "description": "the name sent with EHLO"},
                    "sender": {"type": "string", "default": DEFAULT_PROBE["sender"],
                               "description": "MAIL FROM: an outside sender"},
                    "recipient": {"type": "string", "default": DEFAULT_PROBE["recipient"],
                                  "description": "RCPT TO: an address in a domain the MTA "
                                  "is not the destination of (.invalid never resolves)"},
                    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120,
                                "default": DEFAULT_PROBE["timeout"],
                                "description": "seconds for the connection and each reply"},
                    "mynetworks": {"type": ["string", "null"], "default": None,
                                   "description": "mynetworks: " + _RESTORED},
                    "smtpd_relay_restrictions": {"type": ["string", "null"], "default": None,
                                                 "description": "smtpd_relay_restrictions: "
                                                 + _RESTORED},
                },
                "additionalProperties": False,
            },
            "queue": {
                "type": "object", "description": "mail.queue: the queue (`postqueue -j`)",
                "properties": {
                    "messages": threshold("messages in the queue (every queue)", 100, 1000),
                    "oldest_hours": threshold("hours since the oldest message arrived", 24,
                                              96),
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any], key: str) -> Any:
    """The value of `mail.<key>` (None when the var or the key is unset or null)."""
    return var_setting(hostvars, VAR, key)


def probe_settings(hostvars: Mapping[str, Any]) -> dict | None:
    conf = settings(hostvars, "open_relay")
    if conf is None:
        return None
    return {**DEFAULT_PROBE, **{k: v for k, v in conf.items() if v is not None}}
