"""Host keys: the one policy both SSH backends hold to, and the files it reads.

Unknown host keys are refused unless the user runs with ``--ssh-accept-new``; then an
unknown key is recorded and trusted (first use), a changed one never is. Nothing in
an inventory weakens that: an ssh_config named by ``fleetcheck_ssh_config`` that says
``StrictHostKeyChecking no``, ``UserKnownHostsFile /dev/null``, ... is overridden
(:data:`IGNORED` lists the directives), with one warning line per file and directive
(:func:`config_warnings`).

- paramiko: :func:`policy` is the client's missing-key policy (RejectPolicy, or
  :class:`TrustOnFirstUse`), set after the ssh_config is read; a known key that does
  not match is paramiko's own BadHostKeyException, before any policy is asked.
- OpenSSH: :func:`ssh_options` are ``-o`` words for the command line, where OpenSSH
  takes the first value it obtains: a command-line ``-o`` beats ``-F FILE`` whatever
  their order (checked with ``ssh -G``, OpenSSH 9.2).

known_hosts and ssh_config are parsed once per process (:data:`PARSED`), and an
inventory may name only such files that nobody but root, this user or the
inventory file's owner can write (:func:`trusted_file`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import paramiko

from fleetcheck import values

log = logging.getLogger(__name__)

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"  # OpenSSH's default

# ssh_config directives that decide which host keys are trusted: never taken from a file.
IGNORED = ("StrictHostKeyChecking", "UserKnownHostsFile", "GlobalKnownHostsFile",
           "KnownHostsCommand")


def known_hosts_file(known_hosts: str | None) -> str:
    """The known_hosts fleetcheck reads and records into."""
    return known_hosts or os.path.expanduser(DEFAULT_KNOWN_HOSTS)


class TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """``--ssh-accept-new``: record an unknown key in the known_hosts file, then accept.

    paramiko asks a policy only when no key at all is known for the host (by the name
    it looks up: ``host``, or ``[host]:port`` off port 22); a known key that differs,
    even of another type, raises BadHostKeyException first. So this never replaces
    or adds to a host's known keys."""

    def __init__(self, known_hosts: str):
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):
        client.get_host_keys().add(hostname, key.get_name(), key)
        os.makedirs(os.path.dirname(os.path.abspath(self.known_hosts)), exist_ok=True)
        with open(self.known_hosts, "a", encoding="ascii") as fh:
            fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


def policy(known_hosts: str, accept_new: bool) -> paramiko.MissingHostKeyPolicy:
    return TrustOnFirstUse(known_hosts) if accept_new else paramiko.RejectPolicy()


def ssh_option_path(path: str) -> str:
    """A path as the value of an OpenSSH ``-o`` option: double-quoted (a space does
    not split it) and ``%`` doubled (OpenSSH expands %h, %u, ... in these paths). A
    path OpenSSH cannot take back unchanged is refused."""
    if '"' in path or "\\" in path or "${" in path:
        raise values.UnsafeValue(f"a path for ssh must not contain '\"', '\\' or '${{': "
                                 f"{values.shown(path)}")
    return '"' + path.replace("%", "%%") + '"'


def ssh_options(known_hosts: str | None, accept_new: bool) -> list[str]:
    """The host key policy as OpenSSH command-line words (beating any ``-F`` file)."""
    return ["-o", "StrictHostKeyChecking=" + ("accept-new" if accept_new else "yes"),
            "-o", "UserKnownHostsFile=" + ssh_option_path(known_hosts_file(known_hosts)),
            "-o", "GlobalKnownHostsFile=" + GLOBAL_KNOWN_HOSTS,
            "-o", "KnownHostsCommand=none"]


def trusted_file(path: str, what: str, owner: int | None = None) -> str:
    """``path`` if an inventory may name it to decide how fleetcheck connects: owned
    by root, this user or ``owner`` (the inventory file's), writable by nobody else,
    as OpenSSH holds ~/.ssh/config to. An ssh_config is code run on the controller
    (ProxyCommand, Match exec), a known_hosts says whom to trust: an inventory from a
    CMDB must not name one that any local user wrote. A missing file passes."""
    try:
        st = os.stat(path)
    except OSError:
        return path
    if st.st_uid not in (0, os.geteuid(), owner) or st.st_mode & 0o022:
        raise values.UnsafeValue(f"{what} {path} may be changed by others than root and this "
                                 f"user (owner uid {st.st_uid}, mode {st.st_mode & 0o777:o})")
    return path


# -- ssh_config: what is ignored ----------------------------------------------------

_DIRECTIVE = re.compile(r"\s*(" + "|".join(IGNORED) + r")\s*(?:=\s*|\s+)(.*?)\s*$", re.I)


def _scan(path: str) -> list[tuple[int, str, str]]:
    """(line number, directive as written in IGNORED, value) of each ignored
    directive in the file, in any Host or Match block."""
    found = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            match = _DIRECTIVE.match(line)
            if match:
                name = next(d for d in IGNORED if d.lower() == match.group(1).lower())
                found.append((number, name, match.group(2).strip('"')))
    return found


def _relaxes(name: str, value: str, known_hosts: str) -> bool:
    """Would the directive change what fleetcheck enforces?"""
    if name == "StrictHostKeyChecking":
        return value.lower() not in ("yes", "true")
    if name == "UserKnownHostsFile":
        return [os.path.abspath(os.path.expanduser(v)) for v in value.split()] != \
            [os.path.abspath(known_hosts)]
    if name == "GlobalKnownHostsFile":
        return value.split() != GLOBAL_KNOWN_HOSTS.split()
    return value.lower() != "none"  # KnownHostsCommand


_warned: set[tuple[str, int]] = set()
_warned_lock = threading.Lock()
# (ssh_config, enforced known_hosts) -> (the scan judged, its lines): config_warnings
_judged: dict[tuple[str, str], tuple[Any, list[str]]] = {}


def config_warnings(ssh_config: str, known_hosts: str | None) -> list[str]:
    """One line for each directive of ``ssh_config`` that fleetcheck overrides; each
    is also logged once per process (the plugin shows a run's lines once)."""
    enforced = known_hosts_file(known_hosts)
    scanned = PARSED.get(ssh_config, _scan_or_nothing)
    with _warned_lock:
        memo = _judged.get((ssh_config, enforced))
    if memo is not None and memo[0] is scanned:
        # the same file as last asked: its lines hold for every host (a fleet's
        # generated ssh_config has a block per host, and judging it again for each
        # host grew with the square of the fleet: a fifth of the controller's time
        # at 1005 lab hosts)
        return list(memo[1])
    lines = []
    for number, name, value in scanned:
        if not _relaxes(name, value, enforced):
            continue
        lines.append(f"{ssh_config}:{number}: {name} {value} ignored: host keys are checked "
                     f"against {enforced} (only --ssh-accept-new trusts unknown keys)")
        with _warned_lock:
            first = (ssh_config, number) not in _warned
            _warned.add((ssh_config, number))
        if first:
            log.warning("%s", lines[-1])
    with _warned_lock:
        _judged[(ssh_config, enforced)] = (scanned, lines)
    return list(lines)


def _scan_or_nothing(path: str) -> list[tuple[int, str, str]]:
    try:
        return _scan(path)
    except OSError:
        return []


# -- files parsed once --------------------------------------------------------------

class ParsedFiles:
    """known_hosts and ssh_config, parsed once per process (per path, size and mtime)
    rather than once per host: a fleet's known_hosts holds a line per host, so
    parsing it for every connection grew with the square of the fleet (at 50 hosts,
    2500 keys decoded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: dict[tuple, Any] = {}

    def get(self, path: str, parse: Callable[[str], Any]) -> Any:
        try:
            st = os.stat(path)
            key = (path, parse, st.st_size, st.st_mtime_ns)
        except OSError:
            key = (path, parse, None, None)
        with self._lock:  # the first thread parses; the others wait for it
            if key not in self._parsed:
                self._parsed[key] = parse(path)
            return self._parsed[key]


def parse_known_hosts(path: str) -> paramiko.HostKeys | None:
    if not os.path.exists(path):
        return None
    keys = paramiko.HostKeys()
    keys.load(path)
    return keys


def parse_ssh_config(path: str) -> paramiko.SSHConfig:
    with open(path, encoding="utf-8") as fh:
        parsed = paramiko.SSHConfig()
        parsed.parse(fh)
    return parsed


class HostIndex:
    """paramiko's SSHConfig.lookup goes through every Host and Match block for each
    host (twice, and asks getpass.getuser() in each): a generated ssh_config with a
    block per host made the lookups of a fleet grow with its square (7% of the
    controller's samples at 1005 lab hosts). Built once per parsed file: the blocks
    whose patterns all name one host literally are found by name; every other block
    (wildcards, negations, Match) is kept for every host; paramiko's own lookup then
    runs over those, in the file's order, so it gives what the whole file gives.
    A file that canonicalizes host names (a second lookup under another name) is
    looked up whole."""

    def __init__(self, parsed: paramiko.SSHConfig):
        self.parsed = parsed
        self.by_name: dict[str, list[int]] | None = None
        entries = getattr(parsed, "_config", None)
        if not isinstance(entries, list) or any(
                "canonicalizehostname" in (e.get("config") or {}) for e in entries):
            return
        by_name: dict[str, list[int]] = {}
        self.always: list[int] = []
        for i, entry in enumerate(entries):
            hosts = entry.get("host") or []
            if hosts and not entry.get("matches") and all(map(_literal, hosts)):
                for name in dict.fromkeys(hosts):
                    by_name.setdefault(name, []).append(i)
            else:
                self.always.append(i)
        self.entries = entries
        self.by_name = by_name

    def lookup(self, hostname: str):
        if self.by_name is None:
            return self.parsed.lookup(hostname)
        mine = self.by_name.get(hostname, [])
        picked = sorted(self.always + mine) if mine else self.always
        view = paramiko.SSHConfig()
        view._config = [self.entries[i] for i in picked]
        return view.lookup(hostname)


def _literal(pattern: str) -> bool:
    return not any(c in pattern for c in "*?![")


def host_index(parsed: paramiko.SSHConfig) -> HostIndex:
    """The parsed file's HostIndex, made at its first lookup (PARSED keeps one parsed
    object per file version, so the index is made once per version)."""
    index = getattr(parsed, "_fleetcheck_index", None)
    if index is None:
        index = HostIndex(parsed)
        parsed._fleetcheck_index = index
    return index


PARSED = ParsedFiles()


def add_host_keys(client: paramiko.SSHClient, known_hosts: str, hostname: str,
                  port: int) -> None:
    """Give `client` the known keys of the host it connects to, under the name
    paramiko looks them up by (`host`, or `[host]:port` off port 22)."""
    known = PARSED.get(known_hosts, parse_known_hosts)
    if known is None:
        return
    name = hostname if port == 22 else f"[{hostname}]:{port}"
    found = known.lookup(name)
    if found:
        mine = client.get_host_keys()
        for keytype in list(found.keys()):
            mine.add(name, keytype, found[keytype])


class StrictConfig:
    """An ssh_config as testinfra's ParamikoBackend reads it, without the directives
    of :data:`IGNORED` (testinfra turns ``StrictHostKeyChecking no`` into a policy
    that accepts any key)."""

    def __init__(self, parsed: paramiko.SSHConfig):
        self.parsed = parsed

    def lookup(self, hostname: str) -> dict[str, Any]:
        drop = {d.lower() for d in IGNORED}
        found = host_index(self.parsed).lookup(hostname)
        return {k: v for k, v in found.items() if k not in drop}
