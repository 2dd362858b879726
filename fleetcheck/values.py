"""The one validation layer for values that reach a command line or a config file.

An inventory is untrusted input (it may come from a CMDB over HTTP or from a script)
and fleetcheck runs as root on the controller and on every host. A value taken from it
becomes an argument of a command (quoted by fleetcheck.facts.base.Command, so never
shell syntax) or a word in a config file. Quoting is not enough on its own: a quoted
``-oProxyCommand=...`` is still read by ssh as an option, ``..`` is still a path, a
``"`` still ends a quoted word in /etc/exports. So every such value has a *kind*,
checked twice:

- at load (fleetcheck.inventory.hostvars.check_var): one line, ``file:line``, the var
  path, the value cut to 80 characters, exit 4;
- again where the command or the file is built (:func:`require`), as defence in
  depth: a value that got past the load (built by a check, read from a host) is
  refused there, and the command puts ``--`` before positional arguments where the
  program allows it.

A kind is a function ``(value) -> value`` raising :class:`UnsafeValue` with what is
wrong (never the whole value: :func:`shown` cuts it).

Areas declare which of their vars reach a command or a file as ``VALUE_KINDS`` in
their fact module (``fleetcheck/facts/<area>.py``): a mapping of var paths to kinds,
where a path is dotted (``dns.zone``), ``[]`` stands for every element of a list,
``{}`` for every key of a mapping and ``*`` for every value of a mapping
(``services[]``, ``sysctl{}``, ``sshd.*``, ``nfs.exports[].path``). :func:`problems`
walks a var's value along those paths.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

MAX_SHOWN = 80


class UnsafeValue(ValueError):
    """A value that must not reach a command line or a config file; str() says why."""


Kind = Callable[[Any], Any]


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """``repr(value)``, cut to ``limit`` characters (with the full length said)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text)} characters)"


def describe(value: Any) -> str:
    """'an integer 1234', 'a list [1, 2]', 'null': a value's kind and the value, cut."""
    if value is None:
        return "null"
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value))
    if kind is None:
        kind = getattr(type(value), "KIND", None)
        if kind is not None:  # a value that must not be shown (a vault value)
            return kind
        kind = f"a {type(value).__name__}"
    return f"{kind} {shown(value)}"


# control characters, what str.splitlines() breaks on, and lone surrogates (a JSON
# inventory may hold "\ud800": no file or command can carry it)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")


def _text(value: Any, what: str, *, max_len: int = 4096, allow_int: bool = False) -> str:
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise UnsafeValue(f"{what} must be a string, got {describe(value)}")
    if not value:
        raise UnsafeValue(f"{what} must not be empty")
    if len(value) > max_len:
        raise UnsafeValue(f"{what} is longer than {max_len} characters ({len(value)})")
    if _CONTROL.search(value):
        raise UnsafeValue(f"{what} contains a line break or control character: {shown(value)}")
    return value


def _no_option(value: str, what: str) -> str:
    if value.startswith("-"):
        raise UnsafeValue(f"{what} must not start with '-' (a command would read it as an "
                          f"option): {shown(value)}")
    return value


def text(value: Any, what: str = "the value", *, max_len: int = 4096) -> str:
    """Any text (a string or an integer): not empty, no line break or control
    character, at most ``max_len`` characters. The base of the file-syntax kinds."""
    return _text(value, what, max_len=max_len, allow_int=True)


def boolean(value: Any, what: str = "the value") -> bool:
    """``true`` or ``false`` (a YAML/JSON boolean): a string such as ``"no"`` is
    refused, as Python would read it as true."""
    if not isinstance(value, bool):
        raise UnsafeValue(f"{what} must be true or false, got {describe(value)}")
    return value


def word(value: Any, what: str = "the value") -> str:
    """Any single argument: a non-empty string with no control character and no
    leading '-'."""
    return _no_option(_text(value, what, allow_int=True), what)


_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})")


def host(value: Any, what: str = "the value") -> str:
    """A DNS name or an IPv4/IPv6 address (``[v6]`` too), never an option."""
    text = _text(value, what, max_len=255, allow_int=False)
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
        if "%" in bare and not re.fullmatch(r"[A-Za-z0-9_.-]+", bare.split("%", 1)[1]):
            raise UnsafeValue(f"{what}: bad zone index in {shown(text)}")
        return text
    except ValueError as exc:
        if isinstance(exc, UnsafeValue):
            raise
    _no_option(text, what)
    if not _HOSTNAME.fullmatch(text) or ".." in text:
        raise UnsafeValue(f"{what} must be a host name (letters, digits, '.', '-', '_') or an "
                          f"IP address, got {shown(text)}")
    return text


_USER = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.@$-]{0,255}")


def user(value: Any, what: str = "the value") -> str:
    """A login or become user (POSIX names, also ``name@REALM``), never an option."""
    text = _no_option(_text(value, what, max_len=256), what)
    if not _USER.fullmatch(text):
        raise UnsafeValue(f"{what} must be a user name (letters, digits, '.', '_', '-', '@'), "
                          f"got {shown(text)}")
    return text


_UNIT = re.compile(r"[A-Za-z0-9_:@\\][A-Za-z0-9_.:@\\-]{0,255}")


def unit(value: Any, what: str = "the value") -> str:
    """A systemd unit or SysV service name: no '/', not '.' or '..', never an option."""
    text = _no_option(_text(value, what, max_len=256), what)
    if not _UNIT.fullmatch(text) or text in (".", ".."):
        raise UnsafeValue(f"{what} must be a service name (letters, digits, '.', '-', '_', "
                          f"'@', ':'), got {shown(text)}")
    return text


_SYSCTL = re.compile(r"[A-Za-z0-9_]+(?:[./][A-Za-z0-9_:@-]+)*")


def sysctl_key(value: Any, what: str = "the value") -> str:
    """``net.ipv4.ip_forward`` or ``net/ipv4/ip_forward`` (fullmatch: a final newline
    does not pass, as it would with ``$``)."""
    text = _no_option(_text(value, what, max_len=512), what)
    if not _SYSCTL.fullmatch(text):
        raise UnsafeValue(f"{what} must be dotted words (letters, digits, '_', '-'), got "
                          f"{shown(text)}")
    return text


def path(value: Any, what: str = "the value") -> str:
    """An absolute path on a host: starts with '/', no control character, no '..'
    component."""
    text = _text(value, what)
    if not text.startswith("/"):
        raise UnsafeValue(f"{what} must be an absolute path, got {shown(text)}")
    if ".." in text.split("/"):
        raise UnsafeValue(f"{what} must not contain a '..' component: {shown(text)}")
    return text


def local_path(value: Any, what: str = "the value") -> str:
    """A file on the controller (a key, a known_hosts): relative or absolute, never an
    option."""
    return _no_option(_text(value, what), what)


_DNS_NAME = re.compile(r"(?:[A-Za-z0-9_*](?:[A-Za-z0-9_-]{0,62})?)(?:\.[A-Za-z0-9_-]{1,63})*\.?")


def dns_name(value: Any, what: str = "the value") -> str:
    """A zone or record name (labels of letters, digits, '-', '_'), never an option."""
    text = _no_option(_text(value, what, max_len=253), what)
    if not _DNS_NAME.fullmatch(text):
        raise UnsafeValue(f"{what} must be a DNS name (labels of letters, digits, '-', '_' "
                          f"separated by '.'), got {shown(text)}")
    return text


def address(value: Any, what: str = "the value") -> str:
    text = _text(value, what, max_len=64)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise UnsafeValue(f"{what} must be an IP address, got {shown(text)}") from None
    return text


def as_word(value: Any, *, true: str, false: str, sep: str = " ") -> Any:
    """A declared value in the words of the program it goes to (sshd, the kernel):
    a YAML boolean, and YAML 1.1's y/Y/n/N that PyYAML keeps as strings, is `true` or
    `false`; a number its digits (10.0 is 10); a list its words joined by `sep`; a
    string as written. Anything else is returned as it is, for a kind to refuse."""
    if isinstance(value, bool):
        return true if value else false
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return {"y": true, "Y": true, "n": false, "N": false}.get(value, value)
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (str, int, float)) for v in value):
        return sep.join(as_word(v, true=true, false=false) for v in value)
    return value


def require(kind: Kind, value: Any, what: str | None = None) -> Any:
    """``kind(value)`` where a command or a file is built: the second check."""
    return kind(value) if what is None else kind(value, what)


# -- declarations ------------------------------------------------------------------

def _split(path: str) -> list[str]:
    """'nfs.exports[].path' -> ['nfs', 'exports', '[]', 'path']; 'sysctl{}' ->
    ['sysctl', '{}']; 'sshd.*' -> ['sshd', '*']."""
    parts: list[str] = []
    for piece in path.split("."):
        while piece.endswith(("[]", "{}")):
            parts_tail = piece[-2:]
            piece = piece[:-2]
            if piece:
                parts.append(piece)
                piece = ""
            parts.append(parts_tail)
        if piece:
            parts.append(piece)
    return parts


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _walk(value: Any, steps: list[str], where: str) -> Iterator[tuple[str, Any]]:
    if not steps:
        yield where, value
        return
    step, rest = steps[0], steps[1:]
    if step == "[]":
        if isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                yield from _walk(item, rest, f"{where}[{index}]")
    elif step == "{}":
        if isinstance(value, Mapping):
            for key in value:
                # the key itself is the value to check
                yield from _walk(key, rest, f"{where} key {shown(key, 40)}")
    elif step == "*":
        if isinstance(value, Mapping):
            for key, item in value.items():
                # every value; its key named as written when it is a plain word
                shown_key = (f".{key}" if isinstance(key, str) and _PLAIN_KEY.fullmatch(key)
                             else f"[{shown(key, 40)}]")
                yield from _walk(item, rest, f"{where}{shown_key}")
    elif isinstance(value, Mapping) and step in value:
        yield from _walk(value[step], rest, f"{where}.{step}")


def problems(name: str, value: Any, kinds: Mapping[str, Kind]) -> Iterator[str]:
    """What is wrong with var ``name`` holding ``value``, by the declared ``kinds``
    (var path -> kind): one line each, naming the var path."""
    if value is None:
        return
    for steps, kind in _paths(kinds).get(name, ()):
        for where, found in _walk(value, steps, name):
            if found is None:
                continue
            try:
                kind(found)
            except UnsafeValue as exc:
                yield f"{where}: {exc}"


def _paths(kinds: Mapping[str, Kind]) -> dict[str, list[tuple[list[str], Kind]]]:
    """``kinds`` by var name: the steps after it, and the kind. Kept for declared()'s
    mapping, which problems() is asked about for every var of every host (splitting
    every declared path each time was most of loading 100,000 hosts)."""
    global _DECLARED_PATHS
    if kinds is _DECLARED and _DECLARED_PATHS is not None and _DECLARED_PATHS[0] is kinds:
        return _DECLARED_PATHS[1]
    paths: dict[str, list[tuple[list[str], Kind]]] = {}
    for declared_path, kind in kinds.items():
        steps = _split(declared_path)
        paths.setdefault(steps[0], []).append((steps[1:], kind))
    if kinds is _DECLARED:
        _DECLARED_PATHS = (kinds, paths)
    return paths


_DECLARED: dict[str, Kind] | None = None
_DECLARED_PATHS: tuple[Mapping[str, Kind], dict] | None = None


def declared() -> dict[str, Kind]:
    """Every area's VALUE_KINDS, merged; read once: those of the fact modules and of the
    modules that declare an area's vars (fleetcheck.varschema.AREAS: fleetcheck.facts.
    postfix holds mail's, though it gathers nothing)."""
    global _DECLARED
    if _DECLARED is None:
        import importlib

        from fleetcheck import facts, varschema

        modules = [facts.get(name) for name in facts.REGISTRY]
        modules += [importlib.import_module(m) for ms in varschema.AREAS.values() for m in ms]
        merged: dict[str, Kind] = {}
        for module in modules:
            merged.update(getattr(module, "VALUE_KINDS", {}))
        _DECLARED = merged
    return _DECLARED
