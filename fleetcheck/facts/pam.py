"""PAM (LPIC-2 210.2): the files of /etc/pam.d as Linux-PAM reads them, and the var
`pam` of the area (pam.su_wheel, pam.modules: its schema and value kinds are here).

The fact's command prints every regular file of the directory (at most MAX_FILES, each
cut at 64 KiB) after a line `fleetcheck-pam: file NAME`, between `fleetcheck-pam: dir
PATH` and `fleetcheck-pam: end`. Text without our first line is one file's
(:func:`parse_file`: pam.su_wheel's fix reads back what it writes with it).

The syntax (pam.d(5), Linux-PAM's pam_handlers.c): one rule a line, `type control
module-path arguments`; a `#` ends the line (a comment); a `\\` at the end of a line
continues it (a blank or comment line in between is skipped); the type is auth,
account, password or session, case-insensitive, a leading `-` meaning "skip it quietly
when the module is missing"; the control a keyword (required, requisite, sufficient,
optional, include, substack) or `[value=action ...]`; an argument holding blanks is
written in brackets (`[user ingroup wheel]`, `\\]` for a `]` inside). Debian adds
`@include FILE`: every rule of FILE at that point. Linux-PAM refuses a line of any
other shape (the stack of its type then fails): so does the parser (ParseError, the file
and line).

:meth:`PamConfig.stack` resolves a service's stack of one type as libpam runs it:
`include` inserts the rules of that type of the named file, `substack` too (as a
sub-stack: a `done` or `die` inside ends only the sub-stack), `@include` every rule of
the file of that type; a missing file or a loop is listed in `problems`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown, var_setting

NAME = "pam"
VAR = "pam"
DEFAULT_DIR = "/etc/pam.d"
MARK_DIR = "fleetcheck-pam: dir "
MARK_FILE = "fleetcheck-pam: file "
END = "fleetcheck-pam: end"
MAX_FILES = 400
MAX_LINES = 200000
MAX_LINE = 8192
MAX_DEPTH = 16          # Linux-PAM's PAM_SUBSTACK_MAX_LEVEL
SCRIPT = f"""d="$1"
echo "{MARK_DIR}$d"
n=0
if [ -d "$d" ]; then
  for f in "$d"/*; do
    [ -f "$f" ] || continue
    n=$((n + 1)); [ $n -gt {MAX_FILES} ] && break
    echo "{MARK_FILE}${{f##*/}}"
    head -c 65536 -- "$f"; echo
  done
fi
echo '{END}'
"""
TYPES = ("auth", "account", "password", "session")
KEYWORDS = ("required", "requisite", "sufficient", "optional", "include", "substack")
_FILE_NAME = re.compile(r"[A-Za-z0-9_.+@-]{1,255}")
_ACTION = re.compile(r"[A-Za-z_]+=(?:[A-Za-z]+|[0-9]+)")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s sh %s", SCRIPT, pam_dir(hostvars))


def pam_dir(hostvars: Mapping[str, Any]) -> str:
    """The pam.d directory (pam.dir), checked again with its kind (a FactError)."""
    try:
        return values.path(var_setting(hostvars, VAR, "dir") or DEFAULT_DIR, "pam.dir")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None


@dataclass
class Rule:
    type: str             # auth | account | password | session | @include
    control: str          # required, ..., include, substack, or `[success=1 default=ignore]`
    module: str           # the module (pam_unix.so or a path), or the included file
    args: list[str] = field(default_factory=list)
    line: int = 0
    quiet: bool = False   # `-type`: skipped when the module is missing

    @property
    def module_name(self) -> str:
        """The module's file name: /lib/security/pam_unix.so is pam_unix.so."""
        return self.module.rsplit("/", 1)[-1]

    @property
    def actions(self) -> dict[str, str]:
        """The `[value=action]` pairs (empty for a keyword control)."""
        if not self.control.startswith("["):
            return {}
        return dict(pair.split("=", 1) for pair in self.control[1:-1].split())

    def shown(self) -> str:
        return " ".join([("-" if self.quiet else "") + self.type, self.control, self.module,
                         *self.args]).strip()


@dataclass
class StackRule:
    """A rule of a resolved stack: where it is (file, line) and the includes it came
    through (`su line 52 @include common-auth`)."""
    rule: Rule
    file: str
    via: list[str] = field(default_factory=list)
    substack: int = 0     # how many substacks deep

    @property
    def where(self) -> str:
        return f"{self.file} line {self.rule.line}"


@dataclass
class PamConfig:
    dir: str | None = None
    present: bool = True
    files: dict[str, list[Rule]] = field(default_factory=dict)

    def stack(self, service: str, type_: str) -> tuple[list[StackRule], list[str]]:
        """(the rules of `type_` libpam runs for `service`, in order; the problems met:
        a missing service file or included file, a loop, too deep)."""
        out: list[StackRule] = []
        problems: list[str] = []
        if service not in self.files:
            return out, [f"no file {service} in {self.dir or DEFAULT_DIR} (libpam uses "
                         "`other` for it)"]
        self._expand(service, type_, [], 0, out, problems, (service,))
        return out, problems

    def _expand(self, name, type_, via, sub, out, problems, seen) -> None:
        for rule in self.files[name]:
            here = f"{name} line {rule.line}"
            whole = rule.type == "@include"
            if not whole and (rule.type != type_ or rule.control not in ("include", "substack")):
                if rule.type == type_:
                    out.append(StackRule(rule, name, list(via), sub))
                continue
            target = rule.module.rsplit("/", 1)[-1]
            step = f"{here} {'@include' if whole else rule.control} {target}"
            if target not in self.files:
                problems.append(f"{here}: {target} not found in {self.dir or DEFAULT_DIR}")
            elif target in seen or len(seen) >= MAX_DEPTH:
                problems.append(f"{here}: {target} includes itself or nests too deep")
            else:
                self._expand(target, type_, via + [step],
                             sub + (rule.control == "substack"), out, problems,
                             seen + (target,))


def parse(text: str) -> PamConfig:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    if not lines or not lines[0].startswith(MARK_DIR):
        return PamConfig(files={"": parse_file(text)})
    if lines[-1] != END:
        raise ParseError(f"line {len(lines)}: no {END!r} line at the end (truncated)")
    out = PamConfig(dir=lines[0][len(MARK_DIR):])
    name, start, body = None, 0, []
    for n, line in enumerate(lines[1:-1], start=2):
        if line.startswith(MARK_FILE):
            if name is not None:
                out.files[name] = parse_file("\n".join(body), name, start)
            name, start, body = line[len(MARK_FILE):], n, []
            if not _FILE_NAME.fullmatch(name) or name in out.files:
                raise ParseError(f"line {n}: not a file name, or given twice: {shown(name)}")
        elif name is None:
            raise ParseError(f"line {n}: a line before the first {MARK_FILE!r}: {shown(line)}")
        else:
            body.append(line)
    if name is not None:
        out.files[name] = parse_file("\n".join(body), name, start)
    out.present = bool(out.files)
    return out


def parse_file(text: str, name: str = "", offset: int = 0) -> list[Rule]:
    """The rules of one pam.d file (lines numbered from 1; `offset`: the line of its
    marker in a dump, for the messages)."""
    rules = []
    for n, line in _logical(text.splitlines()):
        where = f"line {n + offset}" + (f" ({name} line {n})" if name else "")
        rules.append(_rule(line, n, where))
    return rules


def _logical(lines: list[str]):
    """(first line number, the logical line): `#` ends a line, a `\\` at its end (after
    blanks) continues it, blank and comment lines are skipped (also inside one)."""
    start, parts = None, []
    for n, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            raise ParseError(f"line {n}: longer than {MAX_LINE} characters")
        text = raw.split("#", 1)[0]
        ended = "#" in raw
        if not text.strip():
            continue       # nothing in this line (libpam reads on, also inside one)
        start = n if start is None else start
        stripped = text.rstrip(" \t\r\n")
        if stripped.endswith("\\") and not ended:
            parts.append(stripped[:-1])
            continue
        parts.append(text)
        yield start, " ".join(parts)
        start, parts = None, []
    if start is not None:
        yield start, " ".join(parts)


def _words(line: str, where: str) -> list[str]:
    """Blank-separated words; a word starting with `[` runs to its `]` (`\\]` inside)."""
    words, i, n = [], 0, len(line)
    while i < n:
        if line[i] in " \t\r\n":
            i += 1
            continue
        if line[i] == "[":
            j, word = i + 1, ["["]
            while j < n and line[j] != "]":
                if line[j] == "\\" and j + 1 < n and line[j + 1] == "]":
                    j += 1
                word.append(line[j])
                j += 1
            if j >= n:
                raise ParseError(f"{where}: a '[' without its ']': {shown(line)}")
            words.append("".join(word) + "]")
            i = j + 1
            continue
        j = i
        while j < n and line[j] not in " \t\r\n":
            j += 1
        words.append(line[i:j])
        i = j
    return words


def _rule(line: str, n: int, where: str) -> Rule:
    if any(not c.isprintable() and c not in "\t\r" for c in line):
        raise ParseError(f"{where}: a control character: {shown(line)}")
    words = _words(line, where)
    if words[0] == "@include":
        if len(words) != 2 or not _FILE_NAME.fullmatch(words[1]):
            raise ParseError(f"{where}: @include takes one file name: {shown(line)}")
        return Rule("@include", "", words[1], line=n)
    quiet = words[0].startswith("-")
    type_ = words[0].lstrip("-").lower()
    if type_ not in TYPES:
        raise ParseError(f"{where}: not a module type ({', '.join(TYPES)}): "
                         f"{shown(words[0])}")
    if len(words) < 3:
        raise ParseError(f"{where}: expected `type control module`, got {shown(line)}")
    control = words[1]
    if control.startswith("["):
        pairs = control[1:-1].split()
        if not pairs or not all(_ACTION.fullmatch(p) for p in pairs):
            raise ParseError(f"{where}: not a [value=action ...] control: {shown(control)}")
        control = "[" + " ".join(p.lower() for p in pairs) + "]"
    elif control.lower() in KEYWORDS:
        control = control.lower()
    else:
        raise ParseError(f"{where}: not a control ({', '.join(KEYWORDS)}, or [...]): "
                         f"{shown(control)}")
    if words[2].startswith("["):
        raise ParseError(f"{where}: expected a module path, got {shown(words[2])}")
    return Rule(type_, control, words[2], [w[1:-1] if w.startswith("[") else w
                                           for w in words[3:]], n, quiet)


# -- the var `pam` (every check of the area) ---------------------------------------------

_MODULE = re.compile(r"(?:/[A-Za-z0-9_.+-]+)*/?[A-Za-z0-9_.+-]+\.so")


def group_name(value: Any, what: str = "the group") -> str:
    """A group name as pam_wheel's `group=` takes it (written into /etc/pam.d/su by
    pam.su_wheel's fix): letters, digits, '_', '-', '.', not starting with '-'."""
    text = values.word(value, what)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}", text):
        raise values.UnsafeValue(f"{what} must be a group name, got {shown(text)}")
    return text


def service_name(value: Any, what: str = "the PAM service") -> str:
    text = values.word(value, what)
    if not _FILE_NAME.fullmatch(text) or text in (".", ".."):
        raise values.UnsafeValue(f"{what} must be a pam.d file name, got {shown(text)}")
    return text


def module_name(value: Any, what: str = "the PAM module") -> str:
    text = values.word(value, what)
    if not _MODULE.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a module file (pam_unix.so), got "
                                 f"{shown(text)}")
    return text


VALUE_KINDS = {
    "pam.dir": values.path,
    "pam.su_wheel.group": group_name,
    "pam.su_wheel.service": service_name,
    "pam.modules[].service": service_name,
    "pam.modules[].module": module_name,
    "pam.modules[].control": values.text,
    "pam.modules[].args[]": values.text,
}

VARS = {
    VAR: {
        "type": "object",
        "description": "PAM (pam.su_wheel, pam.modules): what the stacks of /etc/pam.d must "
                       "hold; a key null turns its check off",
        "x-expected": "a mapping (like {su_wheel: {group: wheel}})",
        "properties": {
            "dir": {"type": "string", "default": DEFAULT_DIR,
                    "description": "the directory of the PAM service files"},
            "su_wheel": {
                "type": ["object", "null"], "default": None,
                "description": "pam.su_wheel: su requires membership of a group "
                "(pam_wheel), root still allowed (pam_rootok first); null: not judged",
                "properties": {
                    "group": {"type": "string", "default": "wheel",
                              "description": "the group whose members may su (pam_wheel's "
                              "group=, default wheel)"},
                    "service": {"type": "string", "default": "su",
                                "description": "the PAM service of su (su-l includes it)"},
                },
                "additionalProperties": False,
            },
            "modules": {
                "type": "array", "default": [],
                "description": "pam.modules: rules that must be in a service's stack",
                "x-expected": "a list of {service, type, module, control, args}",
                "items": {
                    "type": "object", "description": "one rule",
                    "required": ["service", "type", "module"],
                    "properties": {
                        "service": {"type": "string", "description": "the pam.d file "
                                    "(sshd, login, common-auth, system-auth)"},
                        "type": {"enum": list(TYPES), "description": "the stack"},
                        "module": {"type": "string", "description": "the module "
                                   "(pam_faillock.so; a path matches by its file name)"},
                        "control": {"type": "string", "description": "its control "
                                    "(required, or [success=1 default=ignore]); unset: any"},
                        "args": {"type": "array", "items": {"type": "string",
                                 "description": "an argument"}, "default": [],
                                 "description": "arguments it must have (others may be "
                                 "there too)"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any], key: str) -> Any:
    """The value of `pam.<key>` (None when the var or the key is unset or null)."""
    return var_setting(hostvars, VAR, key)


def same_control(declared: str, actual: str) -> bool:
    """A declared control against a rule's (keywords case-insensitive, a bracket
    control as its set of pairs)."""
    text = declared.strip()
    if text.startswith("[") and text.endswith("]"):
        return actual.startswith("[") and \
            set(text[1:-1].lower().split()) == set(actual[1:-1].split())
    return text.lower() == actual
