"""The shop's ansible.cfg, found and read as ansible-core finds and reads it, for the
few settings fleetcheck uses.

Found (the first that exists and is readable): ``$ANSIBLE_CONFIG`` (a directory
means its ``ansible.cfg``), ``./ansible.cfg`` of the current directory (skipped when
that directory is world-writable, as Ansible skips it: anyone could plant one),
``~/.ansible.cfg``, ``/etc/ansible/ansible.cfg``. Read with configparser as Ansible
reads it: ``#`` and ``;`` start a comment line, `` ;`` an inline comment, values are
taken raw (a ``%`` is a plain character, ``%%`` stays two), a ``[DEFAULT]`` section
applies to every section, a duplicate section or key is an error, and a value in
quotes is unquoted. An environment variable beats the file:

  setting (ansible.cfg [defaults])  environment                    fleetcheck uses it for
  inventory                         ANSIBLE_INVENTORY              default_inventory_sources()
  remote_user                       ANSIBLE_REMOTE_USER            Inventory.defaults
  private_key_file                  ANSIBLE_PRIVATE_KEY_FILE       Inventory.defaults
  hash_behaviour                    ANSIBLE_HASH_BEHAVIOUR         how vars merge (build.py)
  vault_password_file               ANSIBLE_VAULT_PASSWORD_FILE    delegation (a vault secret)
  vault_identity_list               ANSIBLE_VAULT_IDENTITY_LIST    delegation (a vault secret)
  inventory_ignore_extensions       ANSIBLE_INVENTORY_IGNORE       inventory directories
  inventory_ignore_patterns         ANSIBLE_INVENTORY_IGNORE_REGEX inventory directories

(``[inventory] ignore_extensions`` / ``ignore_patterns`` are read too, and win over the
``[defaults]`` names, as in Ansible.) A relative path in the file is relative to the
file's directory, one in the environment to the current directory; ``~`` and ``$VAR``
are expanded. Where fleetcheck differs, on purpose: an empty item of a list
(``a,,b``, a trailing comma) is dropped (Ansible keeps it, and an empty ignore
pattern then hides every file of an inventory directory); a quoted path is unquoted
before it is resolved (Ansible resolves ``"~/k"`` to ``<dir>/"~/k"``); an empty
environment variable counts as unset; an http(s):// URL in ``inventory`` stays a URL.

Every problem is one InventoryError line naming the file (and the line) or the
environment variable.
"""

from __future__ import annotations

import configparser
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

from fleetcheck.values import UnsafeValue, shown, user

from .errors import InventoryError

SYSTEM_CONFIG = "/etc/ansible/ansible.cfg"
MAX_CONFIG_BYTES = 1 << 20
HASH_BEHAVIOURS = ("replace", "merge")
# ansible-core's INVENTORY_IGNORE_EXTS default: REJECT_EXTS + .orig, .cfg, .retry
DEFAULT_IGNORE_EXTENSIONS = (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt",
                             ".rst", ".orig", ".cfg", ".retry")

# setting -> (environment variable, [(section, key), ...] (the last one found wins))
_SOURCES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "inventory": ("ANSIBLE_INVENTORY", (("defaults", "inventory"),)),
    "remote_user": ("ANSIBLE_REMOTE_USER", (("defaults", "remote_user"),)),
    "private_key_file": ("ANSIBLE_PRIVATE_KEY_FILE", (("defaults", "private_key_file"),)),
    "hash_behaviour": ("ANSIBLE_HASH_BEHAVIOUR", (("defaults", "hash_behaviour"),)),
    "vault_password_file": ("ANSIBLE_VAULT_PASSWORD_FILE",
                            (("defaults", "vault_password_file"),)),
    "vault_identity_list": ("ANSIBLE_VAULT_IDENTITY_LIST",
                            (("defaults", "vault_identity_list"),)),
    "inventory_ignore_extensions": ("ANSIBLE_INVENTORY_IGNORE",
                                    (("defaults", "inventory_ignore_extensions"),
                                     ("inventory", "ignore_extensions"))),
    "inventory_ignore_patterns": ("ANSIBLE_INVENTORY_IGNORE_REGEX",
                                  (("defaults", "inventory_ignore_patterns"),
                                   ("inventory", "ignore_patterns"))),
}


@dataclass(frozen=True)
class AnsibleConfig:
    """The settings fleetcheck reads (Ansible's defaults where nothing sets one).
    ``origins`` says where each set one came from (``env ANSIBLE_REMOTE_USER``,
    ``<file>:<line>``); ``warnings`` what Ansible would warn about (a skipped
    world-writable ./ansible.cfg)."""

    file: str | None = None
    inventory: tuple[str, ...] = ()
    remote_user: str | None = None
    private_key_file: str | None = None
    hash_behaviour: str = "replace"
    vault_password_file: str | None = None
    vault_identity_list: tuple[str, ...] = ()
    inventory_ignore_extensions: tuple[str, ...] = DEFAULT_IGNORE_EXTENSIONS
    inventory_ignore_patterns: tuple[str, ...] = ()
    origins: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def defaults(self) -> dict:
        """The connection defaults for hosts that set none: ``remote_user`` (under
        ansible_user) and ``private_key_file`` (under ansible_private_key_file), only
        those set. This is ``Inventory.defaults``."""
        found = {"remote_user": self.remote_user, "private_key_file": self.private_key_file}
        return {name: value for name, value in found.items() if value is not None}

    @property
    def has_vault_secret(self) -> bool:
        """Whether ansible-inventory would have a vault secret from the config alone."""
        return bool(self.vault_password_file or self.vault_identity_list)


def find_file(environ: Mapping[str, str] | None = None, cwd: str | None = None
              ) -> tuple[str | None, list[str]]:
    """(the ansible.cfg Ansible would read, or None; warnings), in Ansible's order."""
    environ = os.environ if environ is None else environ
    warnings: list[str] = []
    candidates: list[str] = []
    try:
        cwd = os.getcwd() if cwd is None else cwd
    except OSError:
        cwd = None
    from_env = environ.get("ANSIBLE_CONFIG")
    if from_env is not None:
        path = _expand(from_env, cwd, environ)
        if os.path.isdir(path):
            path = os.path.join(path, "ansible.cfg")
        candidates.append(path)
    skipped = None
    if cwd is not None:
        here = os.path.join(cwd, "ansible.cfg")
        try:
            public = bool(os.stat(cwd).st_mode & stat.S_IWOTH)
        except OSError:
            public, here = False, None
        if here is not None:
            if public:
                skipped = here if os.path.exists(here) else None
            else:
                candidates.append(here)
    home = environ.get("HOME") or os.path.expanduser("~")
    candidates.append(os.path.join(home, ".ansible.cfg"))
    candidates.append(SYSTEM_CONFIG)
    found = next((p for p in candidates if os.path.exists(p) and os.access(p, os.R_OK)), None)
    if skipped is not None:
        warnings.append(f"{skipped}: ignored, as Ansible ignores it: the directory is "
                        "world-writable")
    return found, warnings


def load(environ: Mapping[str, str] | None = None, cwd: str | None = None) -> AnsibleConfig:
    """The settings of the ansible.cfg Ansible would read here, under the environment's."""
    environ = os.environ if environ is None else environ
    try:
        cwd = os.getcwd() if cwd is None else cwd
    except OSError:
        cwd = "/"
    path, warnings = find_file(environ, cwd)
    parser, text = (_parse(path) if path else (None, ""))
    raw: dict[str, _Raw] = {}
    for name, (env, keys) in _SOURCES.items():
        value = environ.get(env)
        if value:
            raw[name] = _Raw(value, cwd, env=env)
            continue
        if parser is None:
            continue
        for section, key in keys:
            found = parser.get(section, key, raw=True, fallback=None)
            if found is not None:
                raw[name] = _Raw(found.strip(), os.path.dirname(path), file=path,
                                 line=_line_of(text, section, key))
    return _settings(raw, path, warnings, environ)


@dataclass(frozen=True)
class _Raw:
    """A setting as written, and where: an environment variable or a file's line."""

    value: str
    base: str | None          # the directory a relative path is relative to
    env: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def origin(self) -> str:
        if self.env:
            return f"env {self.env}"
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    def error(self, name: str, reason: str) -> InventoryError:
        if self.env:
            return InventoryError(f"{self.env}: {reason}")
        return InventoryError(f"{name}: {reason}", self.file, self.line)


def default_inventory_sources(environ: Mapping[str, str] | None = None,
                              cwd: str | None = None) -> list[str]:
    """The inventory sources to read when none is given on the command line: ansible.cfg's
    ``[defaults] inventory`` or ``$ANSIBLE_INVENTORY`` (each item resolved: relative
    to the file's directory, or to the current directory for the environment's), or
    [] when neither sets one (Ansible would then read /etc/ansible/hosts; fleetcheck
    keeps its embedded default inventory)."""
    return list(load(environ, cwd).inventory)


# -- reading ---------------------------------------------------------------------------
def _parse(path: str) -> tuple[configparser.ConfigParser, str]:
    ext = os.path.splitext(path)[1]
    if ext not in (".cfg", ".ini"):
        raise InventoryError(f"unsupported configuration file extension {shown(ext)} (Ansible "
                             "reads ansible.cfg files: .cfg or .ini)", path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InventoryError(f"cannot read the Ansible config: {exc.strerror or exc}",
                             path) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise InventoryError(f"the Ansible config is larger than {MAX_CONFIG_BYTES >> 20} MiB",
                             path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InventoryError(f"the Ansible config is not UTF-8 text (byte {exc.start})",
                             path, line) from None
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        line = _config_line(exc)
        reason = _config_reason(exc, text, line)
        raise InventoryError(f"the Ansible config does not parse: {reason}", path,
                             line) from None
    return parser, text


def _config_reason(exc: configparser.Error, text: str, line: int | None) -> str:
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return "a setting before the first [section] header"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"section [{exc.section}] is written twice"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"{exc.option} is written twice in section [{exc.section}]"
    if isinstance(exc, configparser.ParsingError):
        lines = text.splitlines()
        shown_line = lines[line - 1].strip() if line and line <= len(lines) else ""
        return ("a line that is neither a [section], a 'key = value' nor a comment: "
                f"{shown(shown_line)}")
    return str(exc).splitlines()[0][:200]


def _config_line(exc: configparser.Error) -> int | None:
    errors = getattr(exc, "errors", None)
    if isinstance(exc, configparser.ParsingError) and errors:
        return errors[0][0]
    return getattr(exc, "lineno", None)


_SECTION = re.compile(r"\[(?P<name>.+)\]")


def _line_of(text: str, section: str, key: str) -> int | None:
    """The line where ``key`` is set in ``section`` (or in [DEFAULT]), for messages."""
    setting = re.compile(rf"\s*{re.escape(key)}\s*[=:]", re.IGNORECASE)
    current, found, fallback = None, None, None
    for number, line in enumerate(text.splitlines(), 1):
        header = _SECTION.fullmatch(line.strip())
        if header and not line[:1].isspace():
            current = header.group("name")
        elif current is not None and not line[:1].isspace() and setting.match(line):
            if current == section:
                found = number
            elif current == "DEFAULT":
                fallback = number
    return found or fallback


# -- typing ----------------------------------------------------------------------------
def _settings(raw: dict[str, _Raw], path: str | None, warnings: list[str],
              environ: Mapping[str, str]) -> AnsibleConfig:
    values: dict = {}
    for name, setting in raw.items():
        value, base, fail = setting.value, setting.base, setting.error
        if name == "inventory":
            values[name] = tuple(item if item.startswith(("http://", "https://"))
                                 else _expand(item, base, environ)
                                 for item in _items(value, unquote=False))
        elif name in ("private_key_file", "vault_password_file"):
            values[name] = _expand(_unquote(value), base, environ)
        elif name == "remote_user":
            try:
                values[name] = user(_unquote(value), "the remote user")
            except UnsafeValue as exc:
                raise fail(name, str(exc)) from None
        elif name == "hash_behaviour":
            word = _unquote(value)
            if word not in HASH_BEHAVIOURS:
                raise fail(name, f"expected replace or merge, got {shown(word)}")
            values[name] = word
        else:
            values[name] = tuple(_items(value, unquote=True))
            if name == "inventory_ignore_patterns":
                for pattern in values[name]:
                    try:
                        re.compile(pattern)
                    except re.error as exc:
                        raise fail(name, f"{shown(pattern)} is not a regular expression: "
                                         f"{exc}") from None
    return AnsibleConfig(file=path, origins={name: s.origin for name, s in raw.items()},
                         warnings=tuple(warnings), **values)


def _items(value: str, unquote: bool) -> list[str]:
    items = [item.strip() for item in value.split(",")]
    return [_unquote(item) if unquote else item for item in items if item]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _expand(value: str, base: str | None, environ: Mapping[str, str]) -> str:
    """Ansible's path resolution: $VAR and ~ expanded, relative to ``base``."""
    text = _expandvars(value, environ)
    if text.startswith("~"):
        home = environ.get("HOME")
        text = (home + text[1:]) if home and text[:2] in ("~", "~/") else \
            os.path.expanduser(text)
    if not os.path.isabs(text):
        text = os.path.join(base or os.getcwd(), text)
    return os.path.normpath(text)


_VAR = re.compile(r"\$(\w+|\{[^}]*\})")


def _expandvars(value: str, environ: Mapping[str, str]) -> str:
    """os.path.expandvars over ``environ`` (an unknown variable is left as written)."""
    def put(match: re.Match) -> str:
        name = match.group(1).strip("{}")
        return environ.get(name, match.group(0))

    return _VAR.sub(put, value) if "$" in value else value
