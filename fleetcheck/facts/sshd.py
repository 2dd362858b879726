"""The sshd configuration in effect: `sshd -T` (keywords in lower case), and the
rules of the hardening baseline judged on it (var `sshd_baseline`, sshd.baseline).

Where the shell finds no `sshd` (exit 127: openssh-server is not installed; root's
PATH holds /usr/sbin) the fact says so (`installed` false) rather than failing:
the baseline is not applicable there, and sshd.config says sshd is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, default_from_result, shown

NAME = "sshd"
_DIRECTIVE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


# Keywords that are not one setting: Match opens a block that runs to the next Match
# (every line fleetcheck puts above would be read in it), Include reads other files.
NOT_SETTINGS = {"match", "include"}


def directive(value, what: str = "the value"):
    """An sshd_config keyword (PermitRootLogin): letters and digits only, so it can
    neither be an option nor break the line it is written on; not Match or Include
    (they change the file's structure, not a setting)."""
    text = values.word(value, what)
    if not _DIRECTIVE.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be an sshd_config keyword: letters and digits (like PermitRootLogin), "
                                 f"got {values.shown(text)}")
    if text.lower() in NOT_SETTINGS:
        raise values.UnsafeValue(f"{what} must be a setting, not {text} (it changes how the "
                                 "rest of sshd_config is read)")
    return text


MAX_VALUE = 1024
_QUOTING = re.compile(r"[\"'\\]")

# Keywords whose list is one comma-separated word in sshd_config and in `sshd -T`
# (OpenSSH servconf.c); every other list is blank-separated words.
COMMA_LISTS = {"ciphers", "macs", "kexalgorithms", "hostkeyalgorithms",
               "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes",
               "hostbasedacceptedalgorithms", "hostbasedacceptedkeytypes",
               "casignaturealgorithms", "gssapikexalgorithms"}


def word(value: Any, keyword: str = "") -> Any:
    """A declared value in sshd's own words, for the check and the fix alike: a YAML
    boolean (and y/n) is yes/no, a number its digits, a list its elements joined as
    sshd_config takes them and `sshd -T` prints them (commas for the algorithm lists
    of COMMA_LISTS, blanks otherwise); a string as written. Anything else is returned
    as it is, for config_value to refuse."""
    return values.as_word(value, true="yes", false="no",
                          sep="," if keyword.lower() in COMMA_LISTS else " ")


def config_value(value, what: str = "the value", keyword: str = ""):
    """The value of `Keyword value` in sshd_config as :func:`word` types it, checked as
    sshd splits it (argv_split): blank-separated words; ``"`` and ``'`` quote, ``\\``
    escapes, a word that starts with ``#`` starts a comment, one leading ``=`` is taken
    as the separator. So: a string, a number, a boolean (yes/no) or a list of those; no
    line break or control character, none of ``" ' \\``, no word starting with ``#``,
    no leading ``=``, no blank at either end, at most 1024 characters. A leading '-' is
    allowed (``Ciphers -aes128-cbc`` removes from the default list)."""
    typed = word(value, keyword)
    if not isinstance(typed, str):
        raise values.UnsafeValue(f"{what} must be a string, a number, a boolean or a list "
                                 f"of those, got {values.describe(value)}")
    text = values.text(typed, what, max_len=MAX_VALUE)
    bad = _QUOTING.search(text)
    if bad:
        raise values.UnsafeValue(f"{what} must not contain {bad.group()!r} (sshd reads quotes "
                                 f"and escapes): {values.shown(text)}")
    if re.search(r"(?:^|\s)#", text):
        raise values.UnsafeValue(f"{what} must not have a word starting with '#' (sshd reads "
                                 f"the rest of the line as a comment): {values.shown(text)}")
    if text.startswith("=") or text != text.strip():
        raise values.UnsafeValue(f"{what} must not start with '=' or a blank, nor end with a "
                                 f"blank: {values.shown(text)}")
    return text


# ------------------------------------------------------------ the baseline (sshd.baseline)

DECLARED = "sshd"               # sshd.config: the directives the inventory declares
BASELINE = "sshd_baseline"      # sshd.baseline: the hardening rules (local.yml)


@dataclass(frozen=True)
class Rule:
    """One rule of the baseline: the sshd_config keyword it judges (None: the host key
    files), how (`no`: must be no; `root`: PermitRootLogin at most as wide as the
    setting; `max`: a number at most the setting; `weak`: no algorithm of the list
    matches the setting's patterns; `mode`: host key files), and its severity."""
    directive: str | None
    how: str
    severity: str


# Severities: a way in for anyone who can guess or has no password is high; weak
# algorithms need an attacker on the path and a lot of traffic (medium), as do readable
# host keys (a local user who reads one can impersonate the host to others); X11
# forwarding and MaxAuthTries only widen what is already possible (low).
RULES = {
    "permit_root_login": Rule("PermitRootLogin", "root", "high"),
    "password_authentication": Rule("PasswordAuthentication", "no", "high"),
    "kbd_interactive_authentication": Rule("KbdInteractiveAuthentication", "no", "high"),
    "permit_empty_passwords": Rule("PermitEmptyPasswords", "no", "high"),
    "x11_forwarding": Rule("X11Forwarding", "no", "low"),
    "max_auth_tries": Rule("MaxAuthTries", "max", "low"),
    "weak_ciphers": Rule("Ciphers", "weak", "medium"),
    "weak_macs": Rule("MACs", "weak", "medium"),
    "weak_kex": Rule("KexAlgorithms", "weak", "medium"),
    "host_key_mode": Rule(None, "mode", "medium"),
}

# PermitRootLogin from the narrowest to the widest; `without-password` is the older
# name of `prohibit-password` (and what OpenSSH 9 prints for it).
ROOT_LOGIN = {"no": 0, "forced-commands-only": 1, "prohibit-password": 2,
              "without-password": 2, "yes": 3}
MAX_PATTERNS = 64
_PATTERN = re.compile(r"[A-Za-z0-9@._*?+][A-Za-z0-9@._*?+-]{0,127}")
_MODE = re.compile(r"0?[0-7]{3}")


def algorithm_pattern(value, what: str = "the value") -> str:
    """An algorithm name or glob (`*-cbc`, `hmac-sha1*`): letters, digits, @ . _ + -
    and the wildcards * ?; not starting with '-'."""
    text = values.word(value, what)
    if not _PATTERN.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be an algorithm name or a glob of one "
                                 f"(like *-cbc or hmac-sha1*), got {values.shown(text)}")
    return text


def root_login(value, what: str = "the value") -> str:
    """The widest PermitRootLogin allowed: no (false), forced-commands-only,
    prohibit-password (or its older name without-password); never yes."""
    text = word(value)
    if not isinstance(text, str) or text not in ROOT_LOGIN or text == "yes":
        raise values.UnsafeValue(f"{what} must be no, forced-commands-only or "
                                 f"prohibit-password, got {values.describe(value)}")
    return text


def must_be_no(value, what: str = "the value") -> str:
    """`no` (a YAML false): the only value these rules take (null turns one off)."""
    if word(value) != "no":
        raise values.UnsafeValue(f"{what} must be no (null turns the rule off), got "
                                 f"{values.describe(value)}")
    return "no"


def auth_tries(value, what: str = "the value") -> int:
    """A whole number from 1 to 100."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise values.UnsafeValue(f"{what} must be a whole number from 1 to 100, got "
                                 f"{values.describe(value)}")
    return value


def key_mode(value, what: str = "the value") -> int:
    """The widest mode of a private host key, as an octal string ("0600"): read and
    write for its owner, read for its group at most (0640); the fix sets it."""
    if not isinstance(value, str) or not _MODE.fullmatch(value) or int(value, 8) & ~0o640:
        raise values.UnsafeValue(f"{what} must be an octal mode in quotes within 0640, "
                                 f"like \"0600\", got {values.describe(value)}")
    return int(value, 8)


def patterns(value, what: str = "the value") -> list[str]:
    """A list of algorithm patterns (at most MAX_PATTERNS)."""
    if not isinstance(value, list) or len(value) > MAX_PATTERNS:
        raise values.UnsafeValue(f"{what} must be a list of at most {MAX_PATTERNS} "
                                 f"algorithm patterns, got {values.describe(value)}")
    return [algorithm_pattern(v, f"{what}[{i}]") for i, v in enumerate(value)]


_SETTING = {"root": root_login, "no": must_be_no, "max": auth_tries, "weak": patterns,
            "mode": key_mode}


def setting(item: str, value: Any, what: str | None = None) -> Any:
    """The value of rule `item` of `sshd_baseline`, typed (UnsafeValue when it is not
    one the rule takes)."""
    return _SETTING[RULES[item].how](value, what or f"{BASELINE}.{item}")


# The vars whose values reach sshd_config (checked at load: fleetcheck.values):
# every keyword and every value of the mapping `sshd`, every rule of `sshd_baseline`
# (what its fix writes, or the patterns it removes; a null value is a rule turned off).
VALUE_KINDS = {"sshd{}": directive, "sshd.*": config_value,
               **{f"{BASELINE}.{item}" + ("[]" if rule.how == "weak" else ""):
                  algorithm_pattern if rule.how == "weak" else _SETTING[rule.how]
                  for item, rule in RULES.items()}}

# The weak algorithms the embedded inventory names (fleetcheck/data/local.yml), by what
# dev-sec's ssh-baseline (libraries/ssh_crypto.rb) and Mozilla's OpenSSH guidelines
# both leave out of their lists of allowed ones: CBC modes, RC4, 3DES, Blowfish, CAST;
# MD5, SHA-1 and 64-bit-tag MACs; SHA-1 key exchanges. A list of what is weak (not of
# what is allowed) does not fail a newer OpenSSH for an algorithm it adds.
WEAK_CIPHERS = ["*-cbc", "*-cbc@*", "arcfour*", "3des*", "blowfish*", "cast128*", "des*"]
WEAK_MACS = ["hmac-md5*", "hmac-sha1*", "umac-64*", "hmac-ripemd160*"]
WEAK_KEX = ["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
            "diffie-hellman-group-exchange-sha1"]

_NO = {"type": ["string", "boolean", "null"], "enum": [False, "no", None],
       "x-expected": "no, or null to turn the rule off"}
_WEAK = {"type": ["array", "null"], "maxItems": MAX_PATTERNS,
         "x-expected": "a list of algorithm names or globs",
         "items": {"type": "string", "description": "an algorithm name or a glob: *-cbc"}}
_RULE_SCHEMAS = {
    "permit_root_login": {
        "type": ["string", "boolean", "null"],
        "enum": [False, "no", "forced-commands-only", "prohibit-password",
                 "without-password", None],
        "default": "prohibit-password",
        "description": "the widest PermitRootLogin allowed (high): no, "
                       "forced-commands-only or prohibit-password (keys only)"},
    "password_authentication": dict(_NO, default="no", description=(
        "PasswordAuthentication must be no (high): keys, not guessable passwords")),
    "kbd_interactive_authentication": dict(_NO, default="no", description=(
        "KbdInteractiveAuthentication must be no (high): with UsePAM it asks for the "
        "password PasswordAuthentication no refuses")),
    "permit_empty_passwords": dict(_NO, default="no", description=(
        "PermitEmptyPasswords must be no (high)")),
    "x11_forwarding": dict(_NO, default="no", description=(
        "X11Forwarding must be no (low): a server needs no X11 display")),
    "max_auth_tries": {
        "type": ["integer", "null"], "minimum": 1, "maximum": 100, "default": 4,
        "description": "the largest MaxAuthTries allowed (low; CIS: 4)"},
    "weak_ciphers": dict(_WEAK, default=WEAK_CIPHERS, description=(
        "ciphers that must not be in `sshd -T`'s Ciphers (medium), as globs")),
    "weak_macs": dict(_WEAK, default=WEAK_MACS, description=(
        "MACs that must not be in `sshd -T`'s MACs (medium), as globs")),
    "weak_kex": dict(_WEAK, default=WEAK_KEX, description=(
        "key exchanges that must not be in `sshd -T`'s KexAlgorithms (medium), as globs")),
    "host_key_mode": {
        "type": ["string", "null"], "pattern": r"^0?[0-7]{3}$", "default": "0600",
        "x-expected": "an octal mode in quotes within 0640, like \"0600\"",
        "description": "the widest mode of the private HostKey files, owned by root "
                       "(medium); group ssh_keys may read them (RHEL: 0640)"},
}

# The schema of the vars (fleetcheck.varschema).
VARS = {
    DECLARED: {
        "type": "object",
        "description": "sshd directives and the value each must have in `sshd -T` "
                       "(sshd.config): {PermitRootLogin: prohibit-password}; true/false "
                       "are yes/no, a list is joined as sshd prints it",
        "x-expected": "a mapping of Directive: value (like {PermitRootLogin: no})",
        "x-key": "an sshd_config keyword (letters and digits: PermitRootLogin)",
        "patternProperties": {
            r"^[A-Za-z][A-Za-z0-9]{0,63}$": {
                "type": ["string", "number", "boolean", "array"],
                "items": {"type": ["string", "number"], "description": "one word"},
                "x-expected": "a string, a number, a boolean or a list of words",
                "description": "the value, in sshd's words"},
        },
        "additionalProperties": False,
    },
    BASELINE: {
        "type": "object",
        "description": "the sshd hardening rules (sshd.baseline), each its own record, "
                       "judged on `sshd -T` where sshd is installed; null turns a rule "
                       "off, and a rule whose directive the host declares in `sshd` is "
                       "left to sshd.config",
        "x-expected": "a mapping of rule: setting (like {x11_forwarding: no})",
        "properties": _RULE_SCHEMAS,
        "additionalProperties": False,
    },
}


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sshd -T")


@dataclass
class SshdConfig:
    settings: dict[str, str] = field(default_factory=dict)   # first value of each keyword
    repeated: dict[str, list[str]] = field(default_factory=dict)  # every value, when several

    def get(self, keyword: str) -> str | None:
        return self.settings.get(keyword.lower())

    def every(self, keyword: str) -> list[str]:
        """Every value of a keyword `sshd -T` prints once per value (HostKey)."""
        key = keyword.lower()
        return list(self.repeated.get(key) or ([self.settings[key]] if key in self.settings
                                                 else []))

    @property
    def installed(self) -> bool:
        """False where the shell found no sshd (from_result): `sshd -T` always prints
        settings, so a parsed output is never empty."""
        return bool(self.settings)


def parse(text: str) -> SshdConfig:
    cfg = SshdConfig()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, _, value = line.strip().partition(" ")
        if not key.isalnum() or key.lower() != key:
            raise ParseError(f"line {n}: expected 'keyword value', got {shown(line)}")
        if key in cfg.settings:
            cfg.repeated.setdefault(key, [cfg.settings[key]]).append(value)
        else:
            cfg.settings[key] = value
    if not cfg.settings:
        raise ParseError("line 1: empty output: is this `sshd -T`?")
    return cfg


def from_result(rc: int, stdout: str, stderr: str) -> SshdConfig:
    """Exit 127 (the shell found no sshd: openssh-server is not installed) is an
    SshdConfig without settings (`installed` false); any other failure (a config sshd
    refuses, no host key it can load) is the command's error, as for any fact."""
    if rc == 127:
        return SshdConfig()
    return default_from_result(parse, command({}), rc, stdout, stderr)


# ------------------------------------------------------------ judging the baseline

@dataclass
class Verdict:
    """One rule judged on `sshd -T`: what it asks and what is in effect (as evidence),
    whether that passes, why not, and the value its fix writes (None: none can)."""
    expected: Any
    actual: Any
    ok: bool
    problem: str = ""
    fix: str | None = None


def declared_directive(hostvars: Mapping[str, Any], keyword: str | None) -> str | None:
    """The key of the var `sshd` naming `keyword` (any case), or None: that directive is
    the inventory's own, judged by sshd.config alone."""
    declared = hostvars.get(DECLARED)
    if not keyword or not isinstance(declared, Mapping):
        return None
    return next((k for k in declared if str(k).lower() == keyword.lower()), None)


def weak_ones(effective: list[str], weak: list[str]) -> list[str]:
    """The algorithms of `effective` that match a pattern of `weak` (any case)."""
    lowered = [p.lower() for p in weak]
    return [a for a in effective if any(fnmatchcase(a.lower(), p) for p in lowered)]


def judge(item: str, value: Any, cfg: SshdConfig) -> Verdict:
    """Rule `item` (not host_key_mode: see the sshd_hostkeys fact) with its setting
    `value` on the configuration in effect."""
    rule = RULES[item]
    want = setting(item, value)
    actual = cfg.get(rule.directive)
    name = rule.directive
    if actual is None:
        return Verdict(want, None, False, f"`sshd -T` prints no {name}", None)
    if rule.how == "no":
        return Verdict("no", actual, actual.lower() == "no", f"{name} is {actual}", "no")
    if rule.how == "root":
        rank = ROOT_LOGIN.get(actual.lower(), len(ROOT_LOGIN))   # unknown: the widest
        return Verdict(f"at most {want}", actual, rank <= ROOT_LOGIN[want],
                       f"{name} is {actual}, at most {want} allowed", want)
    if rule.how == "max":
        tries = int(actual) if actual.isascii() and actual.isdigit() and len(actual) < 10 \
            else None
        ok = tries is not None and tries <= want
        return Verdict(f"at most {want}", actual, ok,
                       f"{name} is {actual}, at most {want} allowed", str(want))
    effective = [a for a in actual.split(",") if a]
    weak = weak_ones(effective, want)
    rest = [a for a in effective if a not in weak]
    return Verdict(f"none of {', '.join(want)}", actual, not weak,
                   f"{name} offers {', '.join(weak)}", ",".join(rest) or None)
