"""The declared schema of every var fleetcheck reads, and what is wrong with a value.

Each area declares its vars next to the code that reads them, as ``VARS`` in its fact
module (``fleetcheck/facts/<area>.py``, beside ``VALUE_KINDS``): the top-level var ->
a JSON Schema (Draft 2020-12) with a ``description`` on every property and a
``default`` where there is one. The engine's own vars (``ansible_*`` connection vars,
``fleetcheck_*``) are declared in ``fleetcheck/inventory/hostvars.py``. This module
collects them (:func:`schemas`, :func:`by_area`: the ``fleetcheck checks`` catalogue
and the README's reference are built on it) and validates one definition of a var
(:func:`problems`), which ``hostvars.check_var`` calls for every var where a group or a
host defines it, so an error says ``file:line``, the group or host and the var path.

Why jsonschema: the declarations are plain data, so one declaration is both the
validation and the documentation of the catalogue (descriptions, defaults, allowed
values); it reports every error with the path where it is (``error.absolute_path``),
which becomes the var path of the one-line message; and it needs no model class per
var (a group may set ``capacity.disk.usage_pct.warn`` and a host ``crit``: schemas
allow partial definitions and say ``required`` only where a piece is meaningless
alone, like a share without a name).

Vocabulary beyond the standard, kept small:

- ``format``: ``nagios-range`` (a string threshold must parse with
  fleetcheck.thresholds.parse_range; numbers pass), ``date`` (a YAML date or an ISO
  ``YYYY-MM-DD`` string that is a real day), ``ansible-boolean`` (what Ansible's strict
  boolean takes: true/false, yes/no, 1/0, ...);
- ``x-expected``: how the message names what was expected (``{warn, crit} ...``) when a
  value has the wrong type or matches none of ``anyOf``;
- ``x-key``: what the keys of a mapping var are (``an sshd_config keyword``);
- ``x-checked-by``: a var declared for the catalogue whose values another module checks
  at load with its own messages (``fleetcheck_waivers``: fleetcheck.report.waivers).

A null value means "not set" anywhere in a mapping (a host unsets what its group set),
so nulls are not validated.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import importlib
import itertools
import re
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from fleetcheck.values import describe, shown

# area (the check id prefix) -> the modules that declare its vars; "engine" for the
# engine's own vars
AREAS = {
    "capacity": ("fleetcheck.facts.capacity", "fleetcheck.facts.iostat"),
    "raid": ("fleetcheck.facts.mdstat",),
    "sysctl": ("fleetcheck.facts.sysctl",),
    "service": ("fleetcheck.facts.service", "fleetcheck.facts.failed_units"),
    "sshd": ("fleetcheck.facts.sshd",),
    "samba": ("fleetcheck.facts.smbconf",),
    "nfs": ("fleetcheck.facts.exports", "fleetcheck.facts.ganesha"),
    "updates": ("fleetcheck.facts.pkgstate",),
    "dns": ("fleetcheck.facts.named_conf",),
    "files": ("fleetcheck.facts.files",),
    "users": ("fleetcheck.facts.users",),
    "net": ("fleetcheck.facts.listening", "fleetcheck.facts.ip_addr"),
    "time": ("fleetcheck.facts.timesync",),
    "fs": ("fleetcheck.facts.mounts", "fleetcheck.facts.fstab_verify", "fleetcheck.facts.swaps",
           "fleetcheck.facts.automount", "fleetcheck.facts.smart"),
    "kernel": ("fleetcheck.facts.kernel",),
    "lvm": ("fleetcheck.facts.lvm",),
    "boot": ("fleetcheck.facts.boot",),
    "web": ("fleetcheck.facts.web",),
    "pam": ("fleetcheck.facts.pam",),
    "mail": ("fleetcheck.facts.postfix",),
    "dhcp": ("fleetcheck.facts.dhcp",),
    "proxy": ("fleetcheck.facts.squid",),
    "ldap": ("fleetcheck.facts.ldap",),
    "ftp": ("fleetcheck.facts.vsftpd",),
    "vpn": ("fleetcheck.facts.openvpn",),
    "vm": ("fleetcheck.facts.vm",),
    "engine": ("fleetcheck.inventory.hostvars",),
}

# -- formats --------------------------------------------------------------------------

FORMATS = jsonschema.FormatChecker(formats=())


class _Bad(ValueError):
    """What a format check says is wrong (its message becomes the error line)."""


@FORMATS.checks("nagios-range", raises=_Bad)
def _nagios_range(value: Any) -> bool:
    if isinstance(value, str):
        from fleetcheck.thresholds import ThresholdError, parse_range

        try:
            parse_range(value)
        except ThresholdError as exc:
            raise _Bad(f"expected a number or a Nagios range (\"~:85\", \"10:\", \"@0:5\"): "
                       f"{exc}") from None
    return True


@FORMATS.checks("date", raises=_Bad)
def _date(value: Any) -> bool:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return True
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise _Bad(f"{shown(value)} is not a day of the calendar") from None
        return True
    raise _Bad(f"expected a date YYYY-MM-DD, got {describe(value)}")


@FORMATS.checks("ansible-boolean", raises=_Bad)
def _ansible_boolean(value: Any) -> bool:
    from fleetcheck.inventory.hostvars import to_bool

    try:
        to_bool(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    return True


# -- the declarations -----------------------------------------------------------------

_BY_AREA: dict[str, dict[str, dict]] | None = None
_SCHEMAS: dict[str, dict] | None = None
_VALIDATORS: dict[str, Any] = {}


def _merge(first: dict, second: dict) -> dict:
    """Two modules declaring parts of one mapping var (nfs: exports.py and ganesha.py):
    their properties joined, the rest of the first kept."""
    merged = dict(first)
    merged["properties"] = {**first.get("properties", {}), **second.get("properties", {})}
    return merged


def by_area() -> dict[str, dict[str, dict]]:
    """area -> {top-level var -> schema}, areas in the order of AREAS."""
    global _BY_AREA
    if _BY_AREA is None:
        areas: dict[str, dict[str, dict]] = {}
        for area, modules in AREAS.items():
            declared: dict[str, dict] = {}
            for module in modules:
                for name, schema in getattr(importlib.import_module(module), "VARS",
                                            {}).items():
                    declared[name] = _merge(declared[name], schema) if name in declared \
                        else schema
            areas[area] = declared
        for area, declared in _DECLARED_BY_USERS.items():
            areas.setdefault(area, {}).update(declared)
        _BY_AREA = areas
    return _BY_AREA


# Schemas of the vars of users' own checks: area -> {top-level var -> schema}, from the
# pytest_fleetcheck_vars hook (fleetcheck.hookspecs) before the inventory is loaded.
_DECLARED_BY_USERS: dict[str, dict[str, dict]] = {}


def declare(area: str, declared: dict[str, dict], where: str = "pytest_fleetcheck_vars") -> None:
    """Add the schemas of a user's check area (the same shape as an area's VARS), so
    their definitions are validated at load like fleetcheck's own. A bad schema, or a
    var fleetcheck already declares, is a ValueError naming it."""
    if not isinstance(declared, dict):
        raise ValueError(f"{where}: expected {{var: JSON Schema}}, got {describe(declared)}")
    known = schemas()
    for name, schema in declared.items():
        if name in known and _DECLARED_BY_USERS.get(area, {}).get(name) != schema:
            raise ValueError(f"{where}: var {name!r} is already declared by fleetcheck")
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"{where}: the schema of {name!r} is not a JSON Schema: "
                             f"{exc.message}") from None
    _DECLARED_BY_USERS.setdefault(area, {}).update(declared)
    _forget_collected()


def forget_users() -> None:
    """Drop what users declared (the end of a pytest session: an in-process run of
    pytester must not leave its schemas to the next)."""
    if _DECLARED_BY_USERS:
        _DECLARED_BY_USERS.clear()
        _forget_collected()


def _forget_collected() -> None:
    """What was collected and cached from the declarations: made again on next use."""
    global _BY_AREA, _SCHEMAS
    _BY_AREA = _SCHEMAS = None
    _VALIDATORS.clear()
    _scalar_problems.cache_clear()
    typo.cache_clear()


def schemas() -> dict[str, dict]:
    """top-level var -> schema, every area's and the engine's."""
    global _SCHEMAS
    if _SCHEMAS is None:
        merged: dict[str, dict] = {}
        for declared in by_area().values():
            merged.update(declared)
        _SCHEMAS = merged
    return _SCHEMAS


def check_schemas() -> None:
    """Every declaration is a valid Draft 2020-12 schema with a description on every
    property (raises jsonschema.SchemaError / ValueError): for the tests."""
    for name, schema in schemas().items():
        Draft202012Validator.check_schema(schema)
        for where, node in _nodes(schema, name):
            if "description" not in node:
                raise ValueError(f"{where}: no description")


def _nodes(schema: dict, where: str):
    yield where, schema
    for key, sub in (schema.get("properties") or {}).items():
        yield from _nodes(sub, f"{where}.{key}")
    for key, sub in (schema.get("patternProperties") or {}).items():
        yield from _nodes(sub, f"{where}{{{key}}}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{where}.*")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{where}[]")


# -- validation -----------------------------------------------------------------------

_ANNOTATIONS = {"description", "default", "x-expected", "x-key", "examples", "title"}
_PY_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
             "array": list, "object": dict}


def _simple_type(schema: dict) -> str | None:
    """The type of a schema that says nothing but its type (most connection vars): checked
    without jsonschema, which is most of the cost of loading many hosts."""
    if set(schema) - _ANNOTATIONS == {"type"} and isinstance(schema["type"], str):
        return schema["type"]
    return None


def _validator(name: str):
    validator = _VALIDATORS.get(name)
    if validator is None:
        validator = _VALIDATORS[name] = Draft202012Validator(schemas()[name],
                                                             format_checker=FORMATS)
    return validator


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def var_path(name: str, path) -> str:
    """'capacity' + ['disk', 'mounts', '/var/log'] -> "capacity.disk.mounts['/var/log']"."""
    out = name
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            out += f".{part}"
        else:
            out += f"[{shown(part, 40)}]"
    return out


_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "true or false", "array": "a list", "object": "a mapping",
               "null": "null"}


def _expected(schema: dict) -> str:
    if "x-expected" in schema:
        return schema["x-expected"]
    types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    if types:
        return " or ".join(_TYPE_NAMES.get(t, t) for t in types)
    return "another value"


def _unknown_keys(error) -> list[tuple[str, str]]:
    """(key, message) for each key additionalProperties: false refused."""
    schema, instance = error.schema, error.instance
    known = list(schema.get("properties") or {})
    patterns = [re.compile(p) for p in schema.get("patternProperties") or {}]
    out = []
    for key in instance:
        if key in known or any(p.search(str(key)) for p in patterns):
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        if close:
            out.append((key, f"unknown key (did you mean {close[0]}?)"))
        elif known:
            out.append((key, f"unknown key (known: {', '.join(known)})"))
        else:
            out.append((key, f"not {schema.get('x-key', 'a key this var takes')}"))
    return out


def _lines(name: str, error) -> list[str]:
    where = var_path(name, error.absolute_path)
    kind, schema, instance = error.validator, error.schema, error.instance
    if kind == "additionalProperties" and schema.get("additionalProperties") is False:
        return [f"{var_path(name, [*error.absolute_path, key])}: {why}"
                for key, why in _unknown_keys(error)]
    if kind in ("type", "anyOf", "oneOf"):
        return [f"{where}: expected {_expected(schema)}, got {describe(instance)}"]
    if kind == "enum":
        allowed = ", ".join(str(v) for v in schema["enum"])
        return [f"{where}: expected one of {allowed}, got {describe(instance)}"]
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        word = {"minimum": "at least", "exclusiveMinimum": "above",
                "maximum": "at most", "exclusiveMaximum": "below"}[kind]
        return [f"{where}: expected {word} {error.validator_value}, "
                f"got {describe(instance)}"]
    if kind == "format":
        why = str(error.cause) if error.cause else f"not a {error.validator_value}"
        return [f"{where}: {why}"]
    if kind == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return [f"{where}: missing {', '.join(missing)} (meaningless without it)"]
    if kind == "pattern":
        return [f"{where}: expected {_expected(schema)}, got {describe(instance)}"]
    if kind == "minItems":
        return [f"{where}: expected at least {error.validator_value} element(s)"]
    return [f"{where}: {error.message}"]


def _depth(error) -> tuple:
    return (tuple(str(p) for p in error.absolute_path),)


def problems(name: str, value: Any, first: bool = False) -> list[str]:
    """What is wrong with one definition of var ``name`` (its value where a group or a
    host sets it): one line each, ``<var path>: <what is wrong>``. A var no schema
    declares has none (it is not fleetcheck's); see :func:`typo` for names that look
    like a fleetcheck var. ``first``: stop at the first error (the load says one; a
    hostile mapping of 50,000 bad thresholds is not judged to the end)."""
    if value is None:
        return []
    fast = _FAST.get(name, _UNSEEN)
    if fast is _UNSEEN:
        fast = _FAST[name] = _fast(name)
    if fast is _NOTHING:
        return []
    if fast is not None and isinstance(value, fast) and not (
            isinstance(value, bool) and bool not in fast):
        return []   # a value of the one type its schema says (most connection vars)
    if isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= 256):
        # the same port, user, timeout on many hosts: judged once
        return list(_scalar_problems(name, type(value), value))
    return _problems(name, schemas()[name], value, first)


FIRST_OF = 1000
_UNSEEN, _NOTHING = object(), object()
_FAST: dict[str, Any] = {}


def _fast(name: str):
    """_NOTHING for a var that is not validated here; the Python types of a schema that
    says nothing but its type; else None."""
    schema = schemas().get(name)
    if schema is None or "x-checked-by" in schema:
        return _NOTHING
    simple = _simple_type(schema)
    python = _PY_TYPES.get(simple) if simple is not None else None
    if python is None:
        return None
    return python if isinstance(python, tuple) else (python,)


@functools.lru_cache(maxsize=4096)
def _scalar_problems(name: str, kind: type, value: Any) -> tuple[str, ...]:
    return tuple(_problems(name, schemas()[name], value))


def _problems(name: str, schema: dict, value: Any, first: bool = False) -> list[str]:
    errors = _validator(name).iter_errors(_without_nulls(value))
    if first:
        # the first by path of at most FIRST_OF errors: jsonschema walks the keys of an
        # additionalProperties mapping in a set's order, which changes between runs
        some = list(itertools.islice(errors, FIRST_OF))
        return _lines(name, min(some, key=_depth))[:1] if some else []
    out: list[str] = []
    for error in sorted(errors, key=_depth):
        for line in _lines(name, error):
            if line not in out:
                out.append(line)
    return out


# -- merged vars -----------------------------------------------------------------------

def _is_threshold(schema: dict) -> bool:
    return set(schema.get("properties") or {}) == {"warn", "crit"}


def _pairs(schema: dict, value: Any, where: str):
    """(var path, value) of every {warn, crit} threshold in ``value``."""
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return
    if _is_threshold(schema):
        yield where, value
        return
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        sub = properties.get(key, extra if isinstance(extra, dict) else None)
        if sub is not None:
            yield from _pairs(sub, item, var_path(where, [key]))


# the vars merged_problems looks at
MERGED = ("capacity", "lvm")


def merged_problems(values) -> list[str]:
    """What is wrong with a host's merged vars that no single definition shows: a
    threshold of numbers needs both warn and crit (their order says whether a higher
    or a lower value is worse), though a group may set one and a host the other."""
    out = []
    for name in MERGED:
        value = values.get(name)
        if not isinstance(value, dict):
            continue
        for where, pair in _pairs(schemas()[name], value, name):
            levels = {k: v for k, v in pair.items() if v is not None}
            numbers = [k for k, v in levels.items() if not isinstance(v, str)]
            if numbers and len(levels) == 1:
                (level,) = numbers
                other = "crit" if level == "warn" else "warn"
                out.append(f"{where}: {level} {levels[level]!r} without {other} (numbers "
                           "need both: crit >= warn says a higher value is worse; or use "
                           "a Nagios range)")
    return out


# -- names that look like a fleetcheck var --------------------------------------------

# Ansible's own variables that fleetcheck does not read: never a typo of ours.
ANSIBLE_VARS = frozenset({
    "ansible_password", "ansible_ssh_pass", "ansible_ssh_password", "ansible_become_pass",
    "ansible_become_password", "ansible_sudo_pass", "ansible_su_pass", "ansible_become_exe",
    "ansible_become_flags", "ansible_python_interpreter", "ansible_shell_type",
    "ansible_shell_executable", "ansible_ssh_executable", "ansible_ssh_args",
    "ansible_scp_extra_args", "ansible_sftp_extra_args", "ansible_ssh_pipelining",
    "ansible_ssh_transfer_method", "ansible_timeout", "ansible_network_os",
    "ansible_host_key_checking", "ansible_ssh_host_key_checking", "ansible_pipelining",
    "ansible_remote_tmp", "ansible_facts", "ansible_hostname", "ansible_play_hosts",
    "ansible_winrm_transport", "ansible_winrm_scheme", "ansible_winrm_server_cert_validation",
    "ansible_ssh_retries", "ansible_port_range", "ansible_sudo", "ansible_sudo_user",
})


@functools.lru_cache(maxsize=4096)
def typo(name: str) -> str | None:
    """A warning when top-level var ``name`` is not fleetcheck's but looks like one of
    its vars (``capacty``, ``sysctls``, ``service``) or is named ``fleetcheck_*``: a
    misspelt var turns its check off without a word. None otherwise: inventories carry
    many vars that are not fleetcheck's."""
    declared = schemas()
    if name in declared or name in ANSIBLE_VARS or not isinstance(name, str):
        return None
    # case does not make a different var to a reader (SSHD, Capacity)
    lowered = {n.lower(): n for n in declared}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.8)
    if close:
        return f"{name}: not a var fleetcheck reads; did you mean {lowered[close[0]]}?"
    if name.lower().startswith("fleetcheck_"):
        ours = [n for n in declared if n.startswith("fleetcheck_")]
        close = difflib.get_close_matches(name, ours, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else f"fleetcheck reads {', '.join(ours)}"
        return f"{name}: not a var fleetcheck reads; {hint}"
    return None
