"""Reads Ansible-shaped YAML inventory files.

The YAML is composed into nodes (not loaded into plain data) so that every key
keeps its line, and every complaint can say ``<file>:<line>: <what is wrong>``.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .build import InventoryBuilder
from .errors import InventoryError
from .hostvars import check_var, with_aliases
from .model import Inventory, VaultedValue, deep_merge
from .ranges import expand, split_port

_NULL = "tag:yaml.org,2002:null"
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
    return f"{_SCALAR_KINDS.get(node.tag, 'a string')} {node.value!r}"


def _read(path: str) -> str:
    if os.path.isdir(path):
        raise InventoryError("is a directory, expected an inventory file", path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise InventoryError("no such file", path) from None
    except PermissionError:
        raise InventoryError("cannot read the file: permission denied", path) from None
    except OSError as exc:
        raise InventoryError(f"cannot read the file: {exc.strerror or exc}", path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InventoryError(f"not UTF-8 text (byte {exc.start})", path, line) from None


def _ini_hint(text: str) -> str:
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";")):
            if _INI_SECTION.fullmatch(line):
                return " (this looks like an INI inventory; fleetcheck reads YAML inventories)"
            return ""
    return ""


class _Constructor(SafeConstructor):
    """Safe YAML plus the two tags Ansible inventories use: ``!unsafe`` (a plain
    string to us: nothing is templated) and ``!vault`` (kept encrypted)."""


_Constructor.add_constructor("!unsafe", lambda c, node: c.construct_scalar(node))
_Constructor.add_constructor("!vault", lambda c, node: VaultedValue(c.construct_scalar(node)))


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
        root = self._compose(text)
        if root is None or _is_null(root):
            raise self.error("the file is empty (expected a mapping of groups, like 'all:')")
        if not isinstance(root, MappingNode):
            raise self.error(
                f"the top level must be a mapping of groups (like 'all:'), got {_kind(root)}"
                + _ini_hint(text),
                root,
            )
        self._check_duplicates(root, set())
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
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            words = ": ".join(p for p in (exc.context, exc.problem) if p)
            raise InventoryError(
                f"YAML syntax error: {words or 'invalid YAML'}" + _ini_hint(text),
                self.path,
                mark.line + 1 if mark else None,
            ) from None
        except yaml.reader.ReaderError as exc:
            line = text[: exc.position].count("\n") + 1
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            raise InventoryError(
                f"YAML syntax error: unacceptable character #x{code:04x}",
                self.path,
                line,
            ) from None
        except yaml.YAMLError as exc:
            raise InventoryError(f"YAML syntax error: {exc}", self.path) from None

    def _check_duplicates(self, node: Node, seen: set[int]) -> None:
        """YAML forbids duplicate keys but PyYAML keeps the last one silently: a host
        or group written twice in one mapping would lose half its definition."""
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != _MERGE:
                    ident = (key.tag, key.value)
                    if ident in first:
                        raise self.error(
                            f"duplicate key {key.value!r} (first at line {first[ident]})", key
                        )
                    first[ident] = _line(key)
                self._check_duplicates(value, seen)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                self._check_duplicates(item, seen)

    def _pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        try:
            self.constructor.flatten_mapping(node)  # resolve '<<: *anchor' merge keys
        except yaml.MarkedYAMLError as exc:
            raise self.error(f"YAML merge key: {exc.problem}", node) from None
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
            raise self.error(f"YAML value error: {exc.problem}", node) from None

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
                f"group {name!r} must be a mapping with hosts, vars or children, got {_kind(node)}",
                key,
            )
        for section_key, section in self._pairs(node):
            section_name = section_key.value if isinstance(section_key, ScalarNode) else None
            if section_name == "hosts":
                self._hosts(name, section_key, section)
            elif section_name == "vars":
                values = self._vars(section_key, section, f"group {name!r}")
                self.builder.set_group_vars(name, values)
            elif section_name == "children":
                self._children(name, section_key, section)
            else:
                shown = section_name if section_name is not None else _kind(section_key)
                raise self.error(
                    f"unknown key {shown!r} in group {name!r} (expected {', '.join(GROUP_KEYS)})",
                    section_key,
                )

    def _children(self, parent: str, key: Node, node: Node) -> None:
        if _is_null(node):
            return
        if not isinstance(node, MappingNode):
            raise self.error(
                f"children of group {parent!r} must be a mapping of group names, got {_kind(node)}",
                key,
            )
        for child_key, child in self._pairs(node):
            self._group(self._name(child_key, "group"), child_key, child, parent)

    def _hosts(self, group: str, key: Node, node: Node) -> None:
        if _is_null(node):
            return
        if not isinstance(node, MappingNode):
            raise self.error(
                f"hosts of group {group!r} must be a mapping of host names "
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
                reason = check_var("ansible_port", port)
                if reason:
                    raise self.error(f"host {text!r}: {reason}", host_key)
                values["ansible_port"] = int(port)
            values = deep_merge(values, self._vars(host_key, host_vars, f"host {text!r}"))
            for name in names:
                self.builder.add_host(name, group, self.path)
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
            result[name] = value
        return with_aliases(result)
