"""Apache's configuration as Apache itself reads it: the modules it loads and every file
it includes, in order, with the directives that web.userdir and web.allow_override
judge (where they are, in which sections).

Apache names its own files: `apache2ctl -t -D DUMP_INCLUDES` (Apache 2.4; `httpd` on
RHEL) lists every configuration file it read, nested as included; `-t -D DUMP_MODULES`
the modules loaded. The files themselves are then read as they are on disk. Our framing:

    fleetcheck-apache: tool apache2ctl     the tool (`none`: Apache is not installed)
    fleetcheck-apache: modules 0           DUMP_MODULES' exit status, then its output
    fleetcheck-apache: includes 0          DUMP_INCLUDES' exit status, then its output
    fleetcheck-apache: file /etc/apache2/apache2.conf
    |...                                   each line of the file, behind a `|`

A file is named by its real path (`readlink -f`: a site is edited in sites-available,
not through its sites-enabled link), in the order of the listing.
    fleetcheck-apache: end

Bounded: at most 500 files, 256 KiB and 5000 lines of each, 1000 lines of each listing.
A file's line cannot pass for a framing line (the `|`). A directive is active unless it
sits in an `<IfModule>` whose module is (not) loaded; `<IfDefine>`, `<If>` and the
other conditional sections are taken as active (what they depend on is not known to a
reader of files)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, shown

NAME = "apache_config"
MARK = "fleetcheck-apache: "
END = MARK + "end"
MAX_LINES = 600_000
TOOLS = ("apache2ctl", "httpd", "apachectl")
SCRIPT = r"""PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
t=; command -v timeout >/dev/null 2>&1 && t="timeout 60"
a=none
for c in apache2ctl httpd apachectl; do command -v "$c" >/dev/null 2>&1 && { a=$c; break; }; done
echo "fleetcheck-apache: tool $a"
if [ "$a" != none ]; then
  out=$($t "$a" -t -D DUMP_MODULES 2>&1); rc=$?
  echo "fleetcheck-apache: modules $rc"; printf '%s\n' "$out" | head -n 1000
  inc=$($t "$a" -t -D DUMP_INCLUDES 2>&1); rc=$?
  echo "fleetcheck-apache: includes $rc"; printf '%s\n' "$inc" | head -n 1000
  printf '%s\n' "$inc" | sed -n 's/^ *([0-9*]*) \(\/.*\)$/\1/p' | head -n 500 |
  while IFS= read -r f; do
    r=$(readlink -f -- "$f" 2>/dev/null) && [ -n "$r" ] || r=$f
    echo "fleetcheck-apache: file $r"
    head -c 262144 -- "$f" 2>/dev/null | head -n 5000 | sed 's/^/|/'
  done
fi
echo 'fleetcheck-apache: end'
"""


def command(hostvars) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class Directive:
    name: str                   # as written (Apache's names are case-insensitive)
    args: list[str]
    file: str
    line: int
    sections: list[str]         # the enclosing sections, outermost first: "Directory /var/www"
    active: bool = True         # False: inside an <IfModule> that does not hold
    end: int = 0                # its last line (a directive continued with `\\`)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def section(self, *kinds: str) -> str | None:
        """The innermost enclosing section of one of `kinds` (lower case), or None."""
        for s in reversed(self.sections):
            if s.split(" ", 1)[0].lower() in kinds:
                return s
        return None


@dataclass
class ApacheConfig:
    tool: str | None = None
    modules_exit: int | None = None
    includes_exit: int | None = None
    modules: list[str] = field(default_factory=list)     # userdir_module, ...
    includes: list[str] = field(default_factory=list)    # the files, in Apache's order
    config: list[Directive] = field(default_factory=list)  # every file's, in that order
    unread: list[str] = field(default_factory=list)      # listed, but not read back
    messages: list[str] = field(default_factory=list)    # what the listings said beside

    @property
    def installed(self) -> bool:
        return self.tool is not None

    def loaded(self, module: str) -> bool:
        return module_name(module) in self.modules

    def directives(self, *names: str) -> list[Directive]:
        """The directives named (any case) in every included file, in Apache's order."""
        wanted = {n.lower() for n in names}
        return [d for d in self.config if d.name.lower() in wanted]


def module_name(name: str) -> str:
    """`mod_userdir.c` (an IfModule's file form) or `userdir_module` as the latter."""
    m = re.fullmatch(r"mod_(\w+)\.c", name)
    return f"{m.group(1)}_module" if m else name


def words(text: str) -> list[str]:
    """A directive line split as Apache does: blanks, "double" or 'single' quoted words
    (a backslash escapes the quote)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in "\"'":
            quote, i, word = text[i], i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] == quote:
                    i += 1
                word.append(text[i])
                i += 1
            out.append("".join(word))
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        out.append(text[i:j])
        i = j
    return out


_OPEN = re.compile(r"^<\s*([A-Za-z]+)\s*(.*?)\s*>$")
_CLOSE = re.compile(r"^</\s*([A-Za-z]+)\s*>$")


def directives(lines: list[str], path: str, loaded=lambda module: True) -> list[Directive]:
    """Every directive of one file with its sections; `loaded(module)` decides
    <IfModule> (a `!` negates). A section left open at the end of the file is closed
    there (Apache refuses such a file: web.config_valid says so)."""
    out: list[Directive] = []
    stack: list[tuple[str, bool]] = []      # (section, holds)
    n = 0
    while n < len(lines):
        start, text = n + 1, lines[n].strip()
        while text.endswith("\\") and n + 1 < len(lines):
            n += 1
            text = text[:-1] + " " + lines[n].strip()
        n += 1
        if not text or text.startswith("#"):
            continue
        close = _CLOSE.match(text)
        if close:
            if stack and stack[-1][0].split(" ", 1)[0].lower() == close.group(1).lower():
                stack.pop()
            continue
        opened = _OPEN.match(text)
        if opened:
            kind, arg = opened.group(1), " ".join(words(opened.group(2)))
            holds = True
            if kind.lower() == "ifmodule":
                negate = arg.startswith("!")
                holds = loaded(arg.lstrip("!")) != negate
            stack.append((f"{kind} {arg}".strip(), holds))
            continue
        parts = words(text)
        out.append(Directive(parts[0], parts[1:], path, start, [s for s, _ in stack],
                             all(h for _, h in stack), n))
    return out


def _message(cfg: ApacheConfig, line: str) -> None:
    if line.strip() not in cfg.messages and len(cfg.messages) < 50:
        cfg.messages.append(line.strip())


def parse(text: str) -> ApacheConfig:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    if not lines or lines[-1] != END:
        raise ParseError(f"line {max(len(lines), 1)}: no {END!r} line at the end "
                         "(truncated output?)")
    if not lines[0].startswith(MARK + "tool "):
        raise ParseError(f"line 1: expected {MARK}tool TOOL, got {shown(lines[0], 80)}")
    cfg = ApacheConfig()
    tool = lines[0][len(MARK) + 5:].strip()
    if tool not in TOOLS + ("none",):
        raise ParseError(f"line 1: unknown tool {shown(tool, 40)}")
    cfg.tool = None if tool == "none" else tool
    part, files = None, []
    for no, line in enumerate(lines[1:-1], start=2):
        if line.startswith(MARK):
            head, _, rest = line[len(MARK):].partition(" ")
            if head in ("modules", "includes"):
                try:
                    setattr(cfg, f"{head}_exit", int(rest))
                except ValueError:
                    raise ParseError(f"line {no}: {head} without an exit status") from None
                part = head
            elif head == "file" and rest.startswith("/"):
                part = "file"
                files.append((rest, []))
            else:
                raise ParseError(f"line {no}: unknown framing line {shown(line, 80)}")
            continue
        if part == "file":
            if not line.startswith("|"):
                raise ParseError(f"line {no}: a file's line without its '|'")
            files[-1][1].append(line[1:])
        elif part == "modules":
            m = re.fullmatch(r"\s+(\w+)\s+\((?:static|shared)\)", line)
            if m:
                cfg.modules.append(m.group(1))
            elif line.strip() and line.strip() != "Loaded Modules:":
                _message(cfg, line)
        elif part == "includes":
            m = re.fullmatch(r"\s*\((?:\*|\d+)\) (/.*)", line)
            if m:
                cfg.includes.append(m.group(1))
            elif line.strip() and line.strip() != "Included configuration files:":
                _message(cfg, line)
        elif line.strip():
            raise ParseError(f"line {no}: output before any section: {shown(line, 80)}")
    for path, text in files:
        cfg.config += directives(text, path, cfg.loaded)
    cfg.unread = cfg.includes[len(files):]      # past the script's 500 files
    return cfg


# -- what web.userdir and web.allow_override judge -------------------------------------

OVERRIDES = ("None", "All", "AuthConfig", "FileInfo", "Indexes", "Limit", "Options")


def override_value(value: Any, what: str = "the AllowOverride value") -> str:
    """Classes of AllowOverride (None alone, or some of AuthConfig ... Options), as the
    fix writes them on one line."""
    text = values.text(value, what, max_len=200)
    words = text.split()
    names = {w.lower(): w for w in OVERRIDES}
    if not words or any(w.lower() not in names for w in words) or (
            len(words) > 1 and {"none", "all"} & {w.lower() for w in words}):
        raise values.UnsafeValue(f"{what} must be None, All, or classes of "
                                 f"{', '.join(OVERRIDES[2:])}, got {shown(text)}")
    return " ".join(names[w.lower()] for w in words)


def granted(directive: Directive) -> set[str]:
    """What an AllowOverride grants, in lower case: `Options=Indexes,MultiViews` is
    `options`; `Nonfatal=...` only changes how errors are reported and grants nothing."""
    out = set()
    for word in directive.args:
        head = word.split("=", 1)[0].lower()
        if head != "nonfatal":
            out.add(head)
    return out or {"none"}


def overriding(cfg: ApacheConfig, allowed) -> list[Directive]:
    """The active AllowOverride directives that grant more than `allowed` (All allows
    every class), and the AllowOverrideList ones that are not None."""
    allow = {a.lower() for a in allowed}
    if "all" in allow:
        allow |= {o.lower() for o in OVERRIDES}
    out = []
    for d in cfg.directives("AllowOverride", "AllowOverrideList"):
        if not d.active:
            continue
        if d.name.lower() == "allowoverridelist":
            if [a.lower() for a in d.args] != ["none"]:
                out.append(d)
        elif granted(d) - {"none"} - allow:
            out.append(d)
    return out


@dataclass
class UserDirs:
    loaded: bool
    patterns: list[Directive]       # UserDir DIR...: what is served
    disabled_all: list[Directive]   # UserDir disabled
    disabled: set[str]              # UserDir disabled USER...
    enabled: set[str]               # UserDir enabled USER... (after a disabled-all)

    @property
    def served(self) -> bool:
        return self.loaded and bool(self.patterns) and (not self.disabled_all
                                                        or bool(self.enabled))

    def serves(self, user: str) -> bool:
        if not self.served or user in self.disabled:
            return False
        return user in self.enabled if self.disabled_all else True


def userdirs(cfg: ApacheConfig) -> UserDirs:
    """mod_userdir's settings as the active UserDir directives make them (every context
    taken together: a virtual host that serves home directories serves them)."""
    found = UserDirs(cfg.loaded("userdir_module"), [], [], set(), set())
    for d in cfg.directives("UserDir"):
        if not d.active or not d.args:
            continue
        key, users = d.args[0].lower(), d.args[1:]
        if key == "disabled":
            if users:
                found.disabled.update(users)
            else:
                found.disabled_all.append(d)
        elif key == "enabled":
            found.enabled.update(users)
        else:
            found.patterns.append(d)
    return found
