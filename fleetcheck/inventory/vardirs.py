"""group_vars/ and host_vars/ directories, found and read as ansible-core's
host_group_vars vars plugin finds them.

Beside each inventory source (a file's directory; a directory source itself) and
beside the playbook directory (``--playbook-dir``, else the current directory, as
ansible-inventory does), for each group and each host of the inventory:
``group_vars/<name>``, ``<name>.yml``, ``<name>.yaml``, ``<name>.json`` (the first that
exists), where a directory stands for every file below it (sorted, recursively into
subdirectories without an extension; files without an extension or with one of those
three; hidden and backup ``~`` files skipped). A name starting with '/' has none
(Ansible skips it); nor has, unlike in Ansible, a name with a '/' elsewhere or '.'
and '..' (an inventory from a CMDB naming a host ``../../etc/shadow`` would
otherwise have that file read, and shown in the error). Files are YAML (JSON is
YAML), composed and checked as inventory files are (loader.py: the same limits,
``!vault`` values kept opaque, duplicate keys refused, every var checked by
hostvars.check_var with its file and line); an empty file sets nothing.

A file that is vault-encrypted as a whole (it starts with ``$ANSIBLE_VAULT;``) cannot
be read natively: it is recorded (:attr:`VarsDir.vaulted`) so that the hosts it
applies to are refused one by one (Inventory.problems), unless a vault secret is given
and the source is read through ansible-inventory instead (:func:`has_vault` tells
sources.load so).

Limits (untrusted input): at most MAX_FILES_PER_ENTITY files for one group or host,
directories at most MAX_DIR_DEPTH deep, a directory reached twice (a symlink loop) is
an error; each file is held to MAX_SOURCE_BYTES as an inventory file is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from yaml.nodes import MappingNode

from fleetcheck.values import shown

from .build import InventoryBuilder
from .errors import InventoryError
from .loader import _FileLoader, _is_null, _kind, _line, _read

VAULT_HEADER = "$ANSIBLE_VAULT;"
EXTENSIONS = (".yml", ".yaml", ".json")   # ansible-core's YAML_FILENAME_EXTENSIONS
MAX_FILES_PER_ENTITY = 10_000
MAX_DIR_DEPTH = 20
KINDS = ("group_vars", "host_vars")


@dataclass
class VarsDir:
    """What one directory's group_vars/ and host_vars/ hold for the inventory's groups
    and hosts: the vars of each file, in Ansible's order, per name (a name without a
    file is absent), and the vault-encrypted files as (kind, name, path)."""

    base: str
    groups: dict[str, list[dict]] = field(default_factory=dict)
    hosts: dict[str, list[dict]] = field(default_factory=dict)
    vaulted: list[tuple[str, str, str]] = field(default_factory=list)


def base_dir(source: str) -> str | None:
    """The directory whose group_vars/ and host_vars/ go with inventory ``source`` (a
    file's directory, a directory itself), or None for a source that is not a path (a
    URL, a host list ``a,b``), as ansible-core's get_vars_from_inventory_sources."""
    if source.startswith(("http://", "https://")):
        return None
    if "," in source and not os.path.exists(source):
        return None
    if os.path.isdir(source):
        return source
    return os.path.dirname(os.path.abspath(source))


def read(base: str, builder: InventoryBuilder) -> VarsDir:
    """The vars files beside ``base`` for every group and host of ``builder``."""
    found = VarsDir(base)
    for kind, names, into in (("group_vars", builder.groups, found.groups),
                              ("host_vars", builder.hosts, found.hosts)):
        directory = os.path.join(base, kind)
        if not os.path.isdir(directory):
            continue   # missing, or not a directory (Ansible warns and skips it)
        listing = _listing(directory)
        what = "group" if kind == "group_vars" else "host"
        for name in names:
            for path in entity_files(directory, name, listing):
                values = read_file(path, f"{what} {shown(name)}", builder)
                if values is None:
                    found.vaulted.append((what, name, path))
                elif values:
                    into.setdefault(name, []).append(values)
    return found


def has_vault(base: str) -> bool:
    """Whether any file Ansible could read below ``base``'s group_vars/ or host_vars/
    is vault-encrypted (whatever group or host it is for)."""
    for kind in KINDS:
        directory = os.path.join(base, kind)
        if not os.path.isdir(directory):
            continue
        for path in _walk(directory, top_level=True):
            if _is_vaulted(path):
                return True
    return False


def entity_files(directory: str, name: str, listing: set[str] | None = None) -> list[str]:
    """The vars files of group or host ``name`` in ``directory`` (group_vars/ or
    host_vars/), in the order Ansible reads them. ``listing`` (the directory's entries)
    saves a stat per name that has no file."""
    if not name or name in (".", "..") or "/" in name or os.sep in name or "\0" in name:
        return []
    for ext in ("", *EXTENSIONS):
        candidate = name + ext
        if listing is not None and candidate not in listing:
            continue
        path = os.path.join(directory, candidate)
        if not os.path.exists(path):
            continue
        if os.path.isdir(path):
            return _walk(path)
        if not os.path.isfile(path):
            raise InventoryError("not a regular file (a FIFO, a socket or a device)", path)
        return [path]
    return []


def read_file(path: str, owner: str, builder: InventoryBuilder) -> dict | None:
    """The vars of one file (``{}`` for an empty one), or None when it is
    vault-encrypted as a whole. ``owner`` ("group 'web'") prefixes every complaint."""
    text = _read(path)
    if text.startswith(VAULT_HEADER):
        return None
    loader = _FileLoader(path, builder)
    root = loader._compose(text)
    if root is None or _is_null(root):
        return {}
    if not isinstance(root, MappingNode):
        raise InventoryError(f"a vars file of {owner} must be a mapping of var names to "
                             f"values, got {_kind(root)}", path, _line(root))
    return loader._vars(root, root, owner)


# -- walking ---------------------------------------------------------------------------
def _listing(directory: str) -> set[str]:
    try:
        return set(os.listdir(directory))
    except OSError as exc:
        raise InventoryError(f"cannot read the directory: {exc.strerror or exc}",
                             directory) from None


def _walk(top: str, top_level: bool = False) -> list[str]:
    """Ansible's _get_dir_vars_files: the files below ``top``, each directory's entries
    sorted, hidden and backup ones skipped, recursing (depth first, where the
    subdirectory sorts) into subdirectories that have no extension, taking files
    without one or with a YAML/JSON one. ``top_level``: every entry directly in
    ``top`` counts, whatever its name (group_vars/ itself, for has_vault)."""
    found: list[str] = []
    stack = [(top, iter(_visible(top)), os.path.realpath(top))]
    while stack:
        directory, entries, _ = stack[-1]
        anything = top_level and len(stack) == 1
        for entry in entries:
            path = os.path.join(directory, entry)
            ext = os.path.splitext(entry)[1]
            if os.path.isdir(path):
                if ext and not anything:
                    continue
                real = os.path.realpath(path)
                if any(real == open_real for _, _, open_real in stack):
                    raise InventoryError("a vars directory contains itself (a symlink loop)",
                                         path)
                if len(stack) > MAX_DIR_DEPTH:
                    raise InventoryError(f"vars directories nested more than {MAX_DIR_DEPTH} "
                                         "levels deep", path)
                stack.append((path, iter(_visible(path)), real))
                break
            if os.path.isfile(path) and (not ext or ext in EXTENSIONS or anything):
                found.append(path)
                if len(found) > MAX_FILES_PER_ENTITY:
                    raise InventoryError(f"more than {MAX_FILES_PER_ENTITY} vars files below "
                                         "this directory (the limit for one group or host)",
                                         top)
        else:
            stack.pop()
    return found


def _visible(directory: str) -> list[str]:
    """The entries of ``directory`` Ansible looks at: sorted, no hidden (.x) or backup
    (x~) ones."""
    return sorted(entry for entry in _listing(directory)
                  if not entry.startswith(".") and not entry.endswith("~"))


def _is_vaulted(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(VAULT_HEADER) + 3)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf").startswith(VAULT_HEADER.encode())
