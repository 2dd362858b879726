"""Owner and mode of sshd's private host key files (the HostKey paths of `sshd -T`),
never their content: `stat -L -c '%a|%u|%U|%g|%G'` per path, `missing|PATH` where
stat fails (no such file, or a link to none).

The paths come from the host (the sshd fact), not from the inventory; they are
checked as paths anyway (absolute, no '..', no control character) and reach the
command quoted, after `--`. `-L`: sshd opens the file a link points to, and chmod
changes that one. The fields are separated by `|`, which no user or group name holds
in practice (a directory's names may hold blanks: "domain users"); the path comes
last and is printed by the shell, so it may hold anything but a line break (which
no line of `sshd -T` can hold).

The rules the baseline judges them by (sshd.baseline, host_key_mode) are here too:
owned by root, no mode bit beyond the setting (0600), but group read for RHEL's
ssh_keys group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown, to_int

NAME = "sshd_hostkeys"
SCRIPT = r"""for p; do
  if out=$(stat -L -c '%a|%u|%U|%g|%G' -- "$p" 2>/dev/null); then
    printf '%s|%s\n' "$out" "$p"
  else printf 'missing|%s\n' "$p"; fi
done
"""
MAX_KEYS = 64           # sshd itself takes at most 256 HostKey lines
_MODE = re.compile(r"[0-7]{1,4}")
_NAME = re.compile(r"[^|\x00-\x1f\x7f]{1,256}")

# The group RHEL's sshd-keygen gives the host keys (mode 0640): ssh-keysign is setgid
# ssh_keys to read them for host-based authentication, the group has no members, and
# RHEL's OpenSSH accepts a key readable by that group (upstream OpenSSH refuses to
# load a key of its own uid that others may read, and loads one of another owner).
SSH_KEYS_GROUP = "ssh_keys"


def command(hostvars: Mapping[str, Any], paths: tuple[str, ...] = ()) -> Command:
    if len(paths) > MAX_KEYS:
        raise FactError(f"{len(paths)} host keys (at most {MAX_KEYS} are read)")
    try:
        for path in paths:
            values.path(path, "a HostKey path")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None
    if not paths:
        return Command("true")
    return Command("sh -c %s fleetcheck" + " %s" * len(paths), SCRIPT, *paths)


@dataclass
class KeyFile:
    path: str
    exists: bool
    mode: int | None = None     # the permission bits (stat %a)
    uid: int | None = None
    owner: str | None = None    # UNKNOWN when the uid has no name
    gid: int | None = None
    group: str | None = None


@dataclass
class HostKeys:
    keys: list[KeyFile] = field(default_factory=list)


def parse(text: str) -> HostKeys:
    out = HostKeys()
    for n, line in enumerate(text.splitlines(), start=1):
        if n > MAX_KEYS:
            raise ParseError(f"line {n}: more than {MAX_KEYS} host keys")
        where = f"line {n}"
        head, sep, path = line.partition("|")
        if sep and head == "missing":
            out.keys.append(KeyFile(_path(path, where), False))
            continue
        fields = line.split("|", 5)
        if len(fields) != 6 or not _MODE.fullmatch(fields[0]) or not all(
                _NAME.fullmatch(f) for f in (fields[2], fields[4])):
            raise ParseError(f"{where}: expected 'MODE|UID|USER|GID|GROUP|PATH' or "
                             f"'missing|PATH', got {shown(line)}")
        mode, uid, owner, gid, group, path = fields
        out.keys.append(KeyFile(_path(path, where), True, int(mode, 8),
                                to_int(uid, f"{where}: uid"), owner,
                                to_int(gid, f"{where}: gid"), group))
    return out


def _path(text: str, where: str) -> str:
    if not text.startswith("/"):
        raise ParseError(f"{where}: expected an absolute path, got {shown(text)}")
    return text


# ------------------------------------------------------------ the baseline's rule

def private_host_keys(cfg) -> tuple[str, ...]:
    """The HostKey files an SshdConfig (`sshd -T`) names, once each, but public keys
    (`.pub`: with HostKeyAgent the private halves are in the agent)."""
    return tuple(p for p in dict.fromkeys(cfg.every("hostkey")) if not p.endswith(".pub"))


def allowed_mode(widest: int, group: str | None) -> int:
    """The mode bits a private host key may have: `widest`, plus group read for RHEL's
    ssh_keys group."""
    return widest | (0o040 if group == SSH_KEYS_GROUP else 0)


def key_problem(key: KeyFile, widest: int) -> str | None:
    """What is wrong with one host key file, or None. A missing one is none: sshd
    skips a HostKey it cannot load, and there is nothing to protect."""
    if not key.exists:
        return None
    problems = []
    if key.uid != 0:
        problems.append(f"owned by {key.owner} (uid {key.uid}), not root")
    if key.mode & ~allowed_mode(widest, key.group):
        problems.append(f"mode {key.mode:04o} (group {key.group}), at most {widest:04o}")
    return f"{key.path}: " + ", ".join(problems) if problems else None
