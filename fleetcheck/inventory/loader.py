"""Reads Ansible-shaped YAML inventory files.

The YAML is composed into nodes (not loaded into plain data) so that every key
keeps its line, and every complaint can say ``<file>:<line>: <what is wrong>``.
"""

from __future__ import annotations

import io
import os
import re
import sys
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (AliasEvent, MappingEndEvent, ScalarEvent, SequenceEndEvent,
                         SequenceStartEvent, StreamEndEvent)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fleetcheck.values import shown

from .build import InventoryBuilder, without_gc
from .errors import MAX_ALIAS_NODES, MAX_NESTING, MAX_SOURCE_BYTES, InventoryError
from .hostvars import check_name, check_var, with_aliases
from .model import Inventory, VaultedValue, deep_merge
from .ranges import expand, split_port

# libyaml when PyYAML has it (about 20x faster); the pure-Python parser otherwise, and
# for the wording of syntax errors (see _Composer).
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_KINDS = {
    _NULL: "null",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
}
_INI_SECTION = re.compile(r"\[[^\]\s]+\]\s*")
GROUP_KEYS = ("hosts", "vars", "children")


def load(paths) -> Inventory:
    """Load and merge inventory files; later files win where they disagree."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise InventoryError("no inventory file given")
    builder = InventoryBuilder()
    with without_gc():
        for path in paths:
            _FileLoader(path, builder).load()
        return builder.finish()


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "null"
    return f"{_SCALAR_KINDS.get(node.tag, 'a string')} {shown(node.value)}"


def _read(path: str) -> str:
    if os.path.isdir(path):
        raise InventoryError("is a directory, expected an inventory file", path)
    try:
        with open(path, "rb") as handle:
            data = _read_at_most(handle, MAX_SOURCE_BYTES)
    except FileNotFoundError:
        raise InventoryError("no such file", path) from None
    except PermissionError:
        raise InventoryError("cannot read the file: permission denied", path) from None
    except OSError as exc:
        raise InventoryError(f"cannot read the file: {exc.strerror or exc}", path) from None
    if data is None:
        raise InventoryError(f"the file is larger than {MAX_SOURCE_BYTES >> 20} MiB "
                             "(the limit of an inventory source)", path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InventoryError(f"not UTF-8 text (byte {exc.start})", path, line) from None


def _first_lines(text: str, count: int) -> str:
    end = 0
    for _ in range(count):
        end = text.find("\n", end) + 1
        if end == 0:
            return text
    return text[:end]


def _read_at_most(handle, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than ``limit`` (read in pieces:
    read(limit) would set ``limit`` bytes aside before reading any)."""
    if os.fstat(handle.fileno()).st_size > limit:
        return None
    chunks, total = [], 0
    while total <= limit:
        chunk = handle.read(min(1 << 20, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    return None


def _ini_hint(text: str) -> str:
    for raw in io.StringIO(text):
        line = raw.strip()
        if line and not line.startswith(("#", ";")):
            if _INI_SECTION.fullmatch(line):
                return " (this looks like an INI inventory; fleetcheck reads YAML inventories)"
            return ""
    return ""


class _Constructor(SafeConstructor):
    """Safe YAML plus the two tags Ansible inventories use: ``!unsafe`` (a plain
    string to us: nothing is templated) and ``!vault`` (kept encrypted). A scalar
    PyYAML cannot turn into its type (an integer too long for Python, an impossible
    date, ``!!float x``) is a YAML error at its own line, not a ValueError (KeyError,
    AttributeError) from deep inside PyYAML."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError) as exc:
            raise ConstructorError(None, None, _unreadable(node, exc),
                                   node.start_mark) from None


def _unreadable(node: Node, exc: Exception) -> str:
    kind = str(node.tag).rpartition(":")[2] or str(node.tag)
    value = node.value if isinstance(node, ScalarNode) else None
    if value is None:
        return f"cannot read this {kind[:40]}"
    limit = sys.get_int_max_str_digits()
    if kind == "int" and limit and sum(c.isdigit() for c in value) > limit:
        return f"the integer {shown(value)} has more than {limit} digits"
    if kind == "timestamp":
        detail = f": {exc}" if isinstance(exc, (ValueError, OverflowError)) else ""
        return f"{shown(value)} is not a valid date{detail[:80]}"
    return f"{shown(value)} is not a valid {kind[:40]}"


_Constructor.add_constructor("!unsafe", lambda c, node: c.construct_scalar(node))
_Constructor.add_constructor("!vault", lambda c, node: VaultedValue(c.construct_scalar(node)))


class _Open:
    """A collection being composed."""

    __slots__ = ("node", "size", "key", "keys", "anchor")

    def __init__(self, node: Node, anchor: str | None):
        self.node = node
        self.size = 1           # nodes below it as if every alias were expanded
        self.key: Node | None = None   # a mapping's key waiting for its value
        self.keys: dict | None = {} if isinstance(node, MappingNode) else None
        self.anchor = anchor


class _Composer:
    """YAML events -> nodes, as PyYAML's composer does, but without recursion and with
    the limits an untrusted file needs: nesting depth (MAX_NESTING), the nodes aliases
    add when expanded (MAX_ALIAS_NODES: a "billion laughs" file is refused before
    anything is built from it), no alias to an enclosing node (a recursive
    structure), no duplicate key in a mapping (PyYAML keeps the last one silently: a
    host or group written twice would lose half its definition)."""

    def __init__(self, text: str, path: str, loader_class=_FAST_LOADER):
        self.text, self.path = text, path
        self.loader = loader_class(text)
        self.anchors: dict[str, tuple[Node, int | None]] = {}  # anchor -> (node, size)
        self.expanded = 0

    def error(self, reason: str, mark) -> InventoryError:
        return InventoryError(reason, self.path, mark.line + 1 if mark else None)

    def compose(self) -> Node | None:
        loader = self.loader
        try:
            loader.get_event()  # stream start
            root = None
            if not loader.check_event(StreamEndEvent):
                loader.get_event()  # document start
                root = self._node()
                loader.get_event()  # document end
            if not loader.check_event(StreamEndEvent):
                event = loader.get_event()
                raise ComposerError("expected a single document in the stream",
                                    root.start_mark if root else None,
                                    "but found another document", event.start_mark)
            return root
        finally:
            dispose = getattr(loader, "dispose", None)
            if dispose:
                dispose()

    def _node(self) -> Node:
        loader = self.loader
        get, resolve = loader.get_event, loader.resolve
        # PyYAML's resolver, short-cut for the common case: a quoted scalar, or a plain
        # one whose first character starts no implicit type, is a string.
        starts = loader.yaml_implicit_resolvers
        short_cut = not getattr(loader, "yaml_path_resolvers", None) and None not in starts
        stack: list[_Open] = []
        anchors = self.anchors
        while True:
            event = get()
            size = 1
            kind = type(event)
            if kind is ScalarEvent:
                anchor, tag, value = event.anchor, event.tag, event.value
                if anchor is not None and anchor in anchors:
                    raise self._duplicate_anchor(event)
                if tag is None or tag == "!":
                    implicit = event.implicit
                    if short_cut and (not implicit[0] or value and value[0] not in starts):
                        tag = _STR
                    else:
                        tag = resolve(ScalarNode, value, implicit)
                # no end mark: nothing reads it, and 100,000 hosts make 600,000 of them
                node = ScalarNode(tag, value, event.start_mark, None, style=event.style)
                if anchor is not None:
                    anchors[anchor] = (node, 1)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                done = stack.pop()
                node, size = done.node, done.size
                if done.anchor is not None:
                    anchors[done.anchor] = (node, size)
            elif kind is AliasEvent:
                node, size = self._alias(event)
            else:  # the start of a list or a mapping
                anchor, tag = event.anchor, event.tag
                if anchor is not None and anchor in anchors:
                    raise self._duplicate_anchor(event)
                if len(stack) >= MAX_NESTING:
                    raise self.error(f"lists and mappings nested more than {MAX_NESTING} "
                                     "levels deep (the limit of an inventory)",
                                     event.start_mark)
                node_kind = SequenceNode if kind is SequenceStartEvent else MappingNode
                if tag is None or tag == "!":
                    tag = resolve(node_kind, None, event.implicit)
                node = node_kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if anchor is not None:
                    anchors[anchor] = (node, None)  # open: an alias to it recurses
                stack.append(_Open(node, anchor))
                continue
            if not stack:
                return node
            parent = stack[-1]
            parent.size += size
            if parent.keys is None:
                parent.node.value.append(node)
            elif parent.key is None:
                parent.key = node
            else:
                self._pair(parent, node)

    def _duplicate_anchor(self, event) -> ComposerError:
        return ComposerError(f"found duplicate anchor {shown(event.anchor, 40)}; first "
                             "occurrence", self.anchors[event.anchor][0].start_mark,
                             "second occurrence", event.start_mark)

    def _alias(self, event) -> tuple[Node, int]:
        anchor = event.anchor
        if anchor not in self.anchors:
            raise ComposerError(None, None, f"found undefined alias {shown(anchor, 40)}",
                                event.start_mark)
        node, size = self.anchors[anchor]
        if size is None:
            raise self.error(f"alias *{anchor[:40]} refers to a node that contains it "
                             "(a recursive structure)", event.start_mark)
        self.expanded += size
        if self.expanded > MAX_ALIAS_NODES:
            raise self.error(f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes "
                             "(the limit of an inventory file; a 'billion laughs' file?)",
                             event.start_mark)
        return node, size

    def _pair(self, parent: _Open, value: Node) -> None:
        key, parent.key = parent.key, None
        if type(key) is ScalarNode and key.tag != _MERGE:
            ident = (key.tag, key.value)
            first = parent.keys.get(ident)
            if first is not None:
                raise self.error(f"duplicate key {shown(key.value)} (first at line "
                                 f"{first})", key.start_mark)
            parent.keys[ident] = key.start_mark.line + 1
        parent.node.value.append((key, value))


class _FileLoader:
    def __init__(self, path: str, builder: InventoryBuilder):
        self.path = path
        self.builder = builder
        self.constructor = _Constructor()

    def error(self, reason: str, node: Node | None = None) -> InventoryError:
        return InventoryError(reason, self.path, _line(node) if node is not None else None)

    # -- the document --------------------------------------------------------------
    def load(self) -> None:
        text = _read(self.path)
        self.load_composed(text, self._compose(text))

    def load_composed(self, text: str, root: Node | None) -> None:
        """Load the file from its text and composed root (sources.py composes it once
        to choose between YAML, INI and a plugin configuration)."""
        if root is None or _is_null(root):
            raise self.error("the file is empty (expected a mapping of groups, like 'all:')")
        if not isinstance(root, MappingNode):
            raise self.error(
                f"the top level must be a mapping of groups (like 'all:'), got {_kind(root)}"
                + _ini_hint(text),
                root,
            )
        self.builder.add_source(self.path)
        for key, value in self._pairs(root):
            name = self._name(key, "group")
            if name == "plugin" and isinstance(value, ScalarNode) and not _is_null(value):
                raise self.error(
                    "'plugin:' marks an Ansible inventory plugin configuration, not a YAML "
                    "inventory (fleetcheck reads YAML inventories only)",
                    key,
                )
            self._group(name, key, value, parent=None)

    def _compose(self, text: str) -> Node | None:
        try:
            return _Composer(text, self.path).compose()
        except (yaml.YAMLError, RecursionError) as fast:
            failure = fast
        if _FAST_LOADER is not yaml.SafeLoader:
            # libyaml words its errors differently; PyYAML's wording (and line) is the one
            # fleetcheck documents, so the text up to just past the error is parsed again
            # by the pure-Python parser. Where that one finds nothing, libyaml's stands.
            failure = self._python_error(text, failure) or failure
        raise self._syntax_error(text, failure)

    def _python_error(self, text: str, fast: Exception) -> Exception | None:
        mark = getattr(fast, "problem_mark", None) or getattr(fast, "context_mark", None)
        if mark is not None:
            cut = mark.line + 3
        elif isinstance(fast, yaml.reader.ReaderError):
            cut = text.encode("utf-8")[: fast.position].count(b"\n") + 3
        else:
            cut = None
        prefix = text if cut is None else _first_lines(text, cut)
        try:
            _Composer(prefix, self.path, yaml.SafeLoader).compose()
        except (yaml.YAMLError, RecursionError) as exc:
            return exc
        return None

    def _syntax_error(self, text: str, exc: Exception) -> InventoryError:
        if isinstance(exc, yaml.MarkedYAMLError):
            mark = exc.problem_mark or exc.context_mark
            words = ": ".join(p for p in (exc.context, exc.problem) if p)
            return InventoryError(
                f"YAML syntax error: {words or 'invalid YAML'}" + _ini_hint(text),
                self.path,
                mark.line + 1 if mark else None,
            )
        if isinstance(exc, yaml.reader.ReaderError):
            if isinstance(exc.position, int) and exc.position <= len(text):
                line = text[: exc.position].count("\n") + 1
            else:
                line = None
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            return InventoryError(f"YAML syntax error: unacceptable character #x{code:04x}",
                                  self.path, line)
        if isinstance(exc, RecursionError):
            return InventoryError("YAML syntax error: nested too deeply to read", self.path)
        return InventoryError(f"YAML syntax error: {shown(str(exc))}", self.path)

    def _pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        try:
            self.constructor.flatten_mapping(node)  # resolve '<<: *anchor' merge keys
        except yaml.MarkedYAMLError as exc:
            raise self.error(f"YAML merge key: {exc.problem}", node) from None
        except RecursionError:
            raise self.error("YAML merge keys ('<<:') chained too deeply", node) from None
        return node.value

    def _name(self, key: Node, what: str) -> str:
        if not isinstance(key, ScalarNode) or _is_null(key):
            raise self.error(f"a {what} name must be a string, got {_kind(key)}", key)
        if not key.value.strip():
            raise self.error(f"a {what} name must not be empty", key)
        return key.value

    def _construct(self, node: Node) -> Any:
        try:
            return self.constructor.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            raise InventoryError(f"YAML value error: {exc.problem}", self.path,
                                 mark.line + 1 if mark else _line(node)) from None
        except RecursionError:
            raise self.error("YAML value nested too deeply (merge keys?)", node) from None
        finally:
            self.constructor.constructed_objects = {}
            self.constructor.recursive_objects = {}
            self.constructor.state_generators = []

    # -- groups, hosts, vars -------------------------------------------------------
    def _group(self, name: str, key: Node, node: Node, parent: str | None) -> None:
        if parent is None:
            self.builder.add_group(name, self.path, _line(key))
        else:
            self.builder.add_child(parent, name, self.path, _line(key))
        if _is_null(node):
            return
        if not isinstance(node, MappingNode):
            raise self.error(
                f"group {shown(name)} must be a mapping with hosts, vars or children, "
                f"got {_kind(node)}",
                key,
            )
        for section_key, section in self._pairs(node):
            section_name = section_key.value if isinstance(section_key, ScalarNode) else None
            if section_name == "hosts":
                self._hosts(name, section_key, section)
            elif section_name == "vars":
                values = self._vars(section_key, section, f"group {shown(name)}")
                self.builder.set_group_vars(name, values)
            elif section_name == "children":
                self._children(name, section_key, section)
            else:
                what = section_name if section_name is not None else _kind(section_key)
                raise self.error(
                    f"unknown key {shown(what)} in group {shown(name)} "
                    f"(expected {', '.join(GROUP_KEYS)})",
                    section_key,
                )

    def _children(self, parent: str, key: Node, node: Node) -> None:
        if _is_null(node):
            return
        if not isinstance(node, MappingNode):
            raise self.error(
                f"children of group {shown(parent)} must be a mapping of group names, "
                f"got {_kind(node)}",
                key,
            )
        for child_key, child in self._pairs(node):
            self._group(self._name(child_key, "group"), child_key, child, parent)

    def _hosts(self, group: str, key: Node, node: Node) -> None:
        if _is_null(node):
            return
        if not isinstance(node, MappingNode):
            raise self.error(
                f"hosts of group {shown(group)} must be a mapping of host names "
                f"('name:' each on its own line), got {_kind(node)}",
                key,
            )
        for host_key, host_vars in self._pairs(node):
            text = self._name(host_key, "host")
            pattern, port = split_port(text)
            try:
                names = expand(pattern)
            except ValueError as exc:
                raise self.error(str(exc), host_key) from None
            values: dict = {}
            if port is not None:
                if len(port) > 20:
                    reason = f"ansible_port: expected a port number 1-65535, got {shown(port)}"
                else:
                    reason = check_var("ansible_port", port)
                if reason:
                    raise self.error(f"host {shown(text)}: {reason}", host_key)
                values["ansible_port"] = int(port)
            values = deep_merge(values, self._vars(host_key, host_vars, f"host {shown(text)}"))
            line = _line(host_key)
            for name in names:
                self.builder.add_host(name, group, self.path, line)
                self.builder.set_host_vars(name, values)

    def _vars(self, key: Node, node: Node, owner: str) -> dict:
        if _is_null(node):
            return {}
        if not isinstance(node, MappingNode):
            raise self.error(f"vars of {owner} must be a mapping, got {_kind(node)}", key)
        result: dict[str, Any] = {}
        for var_key, var_value in self._pairs(node):
            name = self._name(var_key, "variable")
            value = self._construct(var_value)
            reason = check_var(name, value)
            if reason:
                raise self.error(f"{owner}: {reason}", var_key)
            warning = check_name(name)
            if warning:
                self.builder.var_warnings.append(str(self.error(f"{owner}: {warning}",
                                                                var_key)))
            result[name] = value
        return with_aliases(result)
