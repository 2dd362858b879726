"""Kernel parameters: `sysctl -e KEY...` -> {key: value} (absent keys are missing).

Keys are in procps's dotted form (`canonical_key`): `sysctl net/ipv4/tcp_syncookies`
prints `net.ipv4.tcp_syncookies = 1`, and an interface `veth0.100` is written
`net.ipv4.conf.veth0/100.rp_filter`. A value of several lines (`kernel.core_modes`,
`dev.cdrom.info`) is printed by procps as one `key = line` per line; those lines are
joined again with newlines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown

NAME = "sysctl"
# What `sysctl -e` prints (keys as the kernel names them; `*` in a glob form).
KEY = re.compile(r"[A-Za-z0-9_.\-/*]+")
MAX_VALUE = 4096   # a page: what a /proc/sys write takes




def kernel_value(value: Any) -> Any:
    """A declared value as the kernel prints it, for the check and the fix alike: a
    YAML boolean (and y/n) is 1/0, a number its digits (10.0 is 10), a list its
    elements separated by blanks (`net.ipv4.ip_local_port_range: [32768, 60999]`); a
    string as written. Anything else is returned as it is, for persisted_value to
    refuse."""
    return values.as_word(value, true="1", false="0")


def persisted_value(value: Any, what: str = "the value") -> str:
    """The value of a `key = value` line of sysctl.d(5) (and of `sysctl -w key=value`),
    as :func:`kernel_value` types it: a string, a number, a boolean (1/0) or a list
    of those; no line break or control character, not only blanks. sysctl.d splits a
    line at its first '=' and trims blanks, and ``#``/``;`` start a comment only at the
    start of a line, so '=', '#' and ';' inside a value are data."""
    typed = kernel_value(value)
    if not isinstance(typed, str):
        raise values.UnsafeValue(f"{what} must be a number, a string, a boolean or a list "
                                 f"of those, got {values.describe(value)}")
    text = values.text(typed, what, max_len=MAX_VALUE)
    if not text.strip():
        raise values.UnsafeValue(f"{what} must not be blank")
    return text


# The vars whose values reach this fact's command, `sysctl -w` and the sysctl.d file
# (checked at load: fleetcheck.values): every key and every value of `sysctl` and of
# `sysctl_baseline` (a null value, a baseline key turned off, is not checked).
VALUE_KINDS = {"sysctl{}": values.sysctl_key, "sysctl.*": persisted_value,
               "sysctl_baseline{}": values.sysctl_key, "sysctl_baseline.*": persisted_value}

# The two vars whose keys are read, each with the check that judges it.
DECLARED = "sysctl"             # sysctl.value: what the inventory declares
BASELINE = "sysctl_baseline"    # sysctl.baseline: the hardening defaults (local.yml)

# The schema of the var (fleetcheck.varschema).
_SCALAR = {"type": ["string", "number", "boolean"]}
_KEY_PATTERN = r"^[A-Za-z0-9_]+(?:[./][A-Za-z0-9_:@-]+)*$"
_VALUE = {"type": ["string", "number", "boolean", "array"],
          "items": dict(_SCALAR, description="one field of the value"),
          "x-expected": "a number, a string, a boolean or a list of those",
          "description": "the value, as `sysctl KEY` prints it"}


def _keys(description: str, value: dict) -> dict:
    return {"type": "object", "description": description,
            "x-expected": "a mapping of key: value (like {net.ipv4.ip_forward: 0})",
            "x-key": "a sysctl key (dotted words: net.ipv4.ip_forward)",
            "patternProperties": {_KEY_PATTERN: value}, "additionalProperties": False}


VARS = {
    DECLARED: _keys("kernel parameters and their values (sysctl.value): "
                    "{net.ipv4.ip_forward: 0}; true/false are written 1/0, a list "
                    "joined with blanks", _VALUE),
    BASELINE: _keys("the hardening baseline (sysctl.baseline): key: value as "
                    "`sysctl` prints it, null to turn one key off (a router: "
                    "{net.ipv4.ip_forward: null}); a key the host also sets in `sysctl` "
                    "is judged by sysctl.value alone; the embedded inventory's defaults "
                    "are the CIS / dev-sec network and kernel keys",
                    dict(_VALUE, type=_VALUE["type"] + ["null"],
                         description="the value, as `sysctl KEY` prints it; null: not judged")),
}


def wanted_keys(hostvars: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys the host's checks read: every key of `sysctl`, then each of
    `sysctl_baseline` whose value is not null, once each."""
    keys: list[str] = []
    for var in (DECLARED, BASELINE):
        declared = hostvars.get(var)
        if isinstance(declared, Mapping):
            keys += [k for k, v in declared.items() if v is not None and k not in keys]
    return tuple(keys)


def command(hostvars: Mapping[str, Any], keys: tuple[str, ...] = ()) -> Command:
    if not keys:
        keys = wanted_keys(hostvars)
    try:
        for key in keys:
            values.sysctl_key(key)
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None
    # one key once: `a/b` and `a.b` would print the same key twice, read as two lines
    # of one value
    seen: dict[str, str] = {}
    for key in keys:
        seen.setdefault(canonical_key(key), key)
    keys = tuple(seen.values())
    # `--`: no key is read as an option, even one that got past the checks above
    return Command("sysctl -e --" + " %s" * len(keys), *keys) if keys else Command("true")


@dataclass
class Sysctl:
    values: dict[str, str] = field(default_factory=dict)


def canonical_key(key: str) -> str:
    """A sysctl key in procps's dotted form. As procps's slashdot(): when the first
    separator of the key is a '/', the key is a path under /proc/sys and every '/'
    becomes '.' and every '.' (inside a component: an interface name like eth0.100)
    becomes '/'; a key whose first separator is '.' is already dotted and is kept.
    `net/ipv4/conf/eth0.100/rp_filter` -> `net.ipv4.conf.eth0/100.rp_filter`."""
    first = _SEPARATOR.search(key)
    if first is None or first.group() == ".":
        return key
    return key.translate(_SWAP)


_SEPARATOR = re.compile(r"[./]")
_SWAP = str.maketrans("./", "/.")


def parse(text: str) -> Sysctl:
    """`key = value` lines; consecutive lines of one key are one value of several lines
    (procps prints every line of a value with its key); keys in canonical form."""
    lines: dict[str, list[str]] = {}
    previous = None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(" = ")
        if not sep:
            # an empty line of a value: procps prints `key = ` (a blank the capture
            # may have lost)
            key, sep, value = line.rstrip().partition(" =")
            if value:
                sep = ""
        if not sep or not KEY.fullmatch(key):
            raise ParseError(f"line {n}: expected 'key = value', got {shown(line)}")
        key = canonical_key(key)
        if key == previous:
            lines[key].append(value.strip())
        else:
            lines[key] = [value.strip()]  # a key printed again later: the later wins
        previous = key
    return Sysctl({key: "\n".join(parts) for key, parts in lines.items()})


def normalize(value: Any) -> str:
    """sysctl prints multi-value parameters with tabs; compare on single spaces."""
    return " ".join(str(value).split())
