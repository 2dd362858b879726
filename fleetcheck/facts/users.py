"""Accounts: `getent passwd`, the password field of /etc/shadow reduced to a class on
the host, and login.defs' UID ranges.

No password hash leaves the host: awk prints, for each account, the class of its
password field, never the field itself:

- `empty`: the field is empty (no password: pam_unix's nullok lets anyone in);
- `locked`: it starts with '!' or '*' (`!`, `!!`, `*`, `!$6$...`: no password login);
- `set`: anything else (a hash);
- and in passwd only `x`: the password is in the shadow file.

Lines, each tagged (GECOS and home are not read):

    passwd:NAME:CLASS:UID:GID:SHELL
    readshadow, then shadow:NAME:CLASS   (or `noshadow`: /etc/shadow cannot be read)
    defs:KEY:VALUE             (UID_MIN, UID_MAX, SYS_UID_MIN, SYS_UID_MAX)
    more:passwd / more:shadow  (more than MAX_ACCOUNTS entries: the rest not read)

The command takes no value from the inventory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, brief, shown, to_int

NAME = "users"
MAX_ACCOUNTS = 20000
CLASSES = {"empty", "locked", "set"}
DEFS = ("UID_MIN", "UID_MAX", "SYS_UID_MIN", "SYS_UID_MAX")
# shadow-utils' defaults when login.defs says nothing
DEFAULT_DEFS = {"UID_MIN": 1000, "UID_MAX": 60000, "SYS_UID_MIN": 101, "SYS_UID_MAX": 999}
NOBODY = 65534    # CIS counts nobody among the system accounts
NO_LOGIN_SHELLS = ("nologin", "false")

_CLASS = ('function cls(p) { if (p == "") return "empty"; '
          'if (p ~ /^[!*]/) return "locked"; return "set" }')
SCRIPT = f"""getent passwd | awk -F: -v max={MAX_ACCOUNTS} '{_CLASS}
  NR > max {{ more = 1; exit }}
  {{ print "passwd:" $1 ":" ($2 == "x" ? "x" : cls($2)) ":" $3 ":" $4 ":" $7 }}
  END {{ if (more) print "more:passwd" }}' || exit 2
if [ -r /etc/shadow ]; then
  echo readshadow
  awk -F: -v max={MAX_ACCOUNTS} '{_CLASS}
    NR > max {{ more = 1; exit }}
    {{ print "shadow:" $1 ":" cls($2) }}
    END {{ if (more) print "more:shadow" }}' /etc/shadow || exit 2
else
  echo noshadow
fi
if [ -r /etc/login.defs ]; then
  awk '$1 ~ /^(UID_MIN|UID_MAX|SYS_UID_MIN|SYS_UID_MAX)$/ && NF >= 2 {{
    print "defs:" $1 ":" $2 }}' /etc/login.defs
fi
exit 0
"""


# -- the var -------------------------------------------------------------------------

# System accounts whose shell is a command, not a login shell (CIS exempts them).
SPECIAL_SHELL_ACCOUNTS = ["root", "sync", "shutdown", "halt"]

# The names are compared with the host's accounts, never put in a command; they get
# the user kind all the same (no control character, never an option).
VALUE_KINDS = {
    "users_baseline.uid0[]": values.user,
    "users_baseline.present[]": values.user,
    "users_baseline.empty_password.exempt[]": values.user,
    "users_baseline.system_shell.exempt[]": values.user,
}

_NAMES = {"type": "array", "items": {"type": "string", "description": "an account name"},
          "x-expected": "a list of account names (like [root])"}
VARS = {
    "users_baseline": {
        "type": "object",
        "description": "account rules (users.accounts), one record each: uid0, "
                       "empty_password, system_shell, present; a rule set to null is "
                       "not judged",
        "x-expected": "a mapping of rule: setting (uid0, empty_password, system_shell, "
                      "present)",
        "properties": {
            "uid0": dict(_NAMES, default=["root"],
                         description="the only accounts allowed UID 0"),
            "empty_password": {
                "type": "object",
                "description": "no account may log in with an empty password field "
                               "({} to judge)",
                "x-expected": "a mapping ({} or {exempt: [names]})",
                "properties": {"exempt": dict(_NAMES, default=[],
                                              description="accounts allowed one")},
                "additionalProperties": False,
            },
            "system_shell": {
                "type": "object",
                "description": "system accounts (uid below login.defs' UID_MIN, and "
                               "nobody) have nologin or false as shell ({} to judge)",
                "x-expected": "a mapping ({} or {exempt: [names]})",
                "properties": {"exempt": dict(_NAMES, default=SPECIAL_SHELL_ACCOUNTS,
                                              description="accounts not judged (their "
                                                          "shell is a command)")},
                "additionalProperties": False,
            },
            "present": dict(_NAMES, default=[],
                            description="accounts that must exist (getent passwd)"),
        },
        "additionalProperties": False,
    },
}


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s fleetcheck", SCRIPT)


@dataclass
class Account:
    name: str
    password: str        # x (in shadow), empty, locked, set
    uid: int
    gid: int
    shell: str           # empty: login(1) runs /bin/sh


@dataclass
class Users:
    accounts: list[Account] = field(default_factory=list)   # as getent lists them
    shadow: dict[str, str] | None = None    # name -> class; None: not readable
    login_defs: dict[str, int] = field(default_factory=dict)
    truncated: bool = False

    def defs(self, key: str) -> int:
        return self.login_defs.get(key, DEFAULT_DEFS[key])

    def password(self, account: Account) -> str:
        """The class of the password that logs the account in: passwd's field, or
        shadow's when passwd says `x` (`locked` when shadow has no entry: pam_unix
        refuses; `unknown` when shadow cannot be read)."""
        if account.password != "x":
            return account.password
        if self.shadow is None:
            return "unknown"
        return self.shadow.get(account.name, "locked")

    def is_system(self, account: Account) -> bool:
        """uid below UID_MIN (CIS: system accounts), or nobody's 65534."""
        return account.uid < self.defs("UID_MIN") or account.uid == NOBODY


def login_shell(shell: str) -> bool:
    """Whether a shell field lets the account log in: anything but nologin or false
    (an empty field is /bin/sh)."""
    return shell.rstrip("/").rsplit("/", 1)[-1] not in NO_LOGIN_SHELLS


def _number(text: str, where: str) -> int:
    """A login.defs number as shadow-utils reads it (strtol base 0: 1000, 0x3e8, 01750)."""
    if re.fullmatch(r"0[xX][0-9a-fA-F]{1,16}", text):
        return int(text, 16)
    if re.fullmatch(r"0[0-7]{1,22}", text):
        return int(text, 8)
    return to_int(text, where)


def _name(text: str, where: str) -> str:
    if not text or len(text) > 256 or not text.isprintable():
        raise ParseError(f"{where}: expected an account name, got {shown(text)}")
    return text


def _class(text: str, where: str, allowed=CLASSES) -> str:
    if text not in allowed:
        raise ParseError(f"{where}: unknown password class {shown(text)}")
    return text


def parse(text: str) -> Users:
    out = Users()
    shadow: dict[str, str] = {}
    readable = None
    for n, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        where = f"line {n}"
        tag, _, rest = line.partition(":")
        if tag == "passwd":
            fields = rest.split(":")
            if len(fields) != 5:
                raise ParseError(f"{where}: expected passwd:NAME:CLASS:UID:GID:SHELL, got "
                                 f"{shown(line)}")
            name, cls, uid, gid, shell = fields
            out.accounts.append(Account(
                _name(name, where), _class(cls, where, CLASSES | {"x"}),
                to_int(uid, f"{where}: uid"), to_int(gid, f"{where}: gid"), shell))
        elif line in ("readshadow", "noshadow"):
            if readable is not None:
                raise ParseError(f"{where}: {line} again")
            readable = line == "readshadow"
        elif tag == "shadow" and rest.count(":") == 1:
            if not readable:
                raise ParseError(f"{where}: a shadow entry without 'readshadow' before it")
            name, cls = rest.split(":")
            shadow.setdefault(_name(name, where), _class(cls, where))   # the first wins
        elif tag == "defs" and rest.count(":") == 1:
            key, value = rest.split(":")
            if key not in DEFS:
                raise ParseError(f"{where}: unknown login.defs key {brief(key)}")
            out.login_defs[key] = _number(value, f"{where}: {key}")   # the last wins
        elif line in ("more:passwd", "more:shadow"):
            out.truncated = True
        else:
            raise ParseError(f"{where}: unknown line {shown(line)}")
    if readable is None and out.accounts:
        raise ParseError(f"line {n}: neither 'readshadow' nor 'noshadow': output cut?")
    out.shadow = shadow if readable else None
    return out
