"""The running kernel and the kernels installed beside it, in one round trip; and the
var `kernel` of the whole area (kernel.running, kernel.modules, kernel.tainted,
kernel.cmdline: its schema and value kinds are declared here).

Our lines, one `key=value` each:

    running=6.1.0-26-amd64          uname -r
    boot=6.1.0-28-amd64             one per /boot/vmlinuz-* (RHEL's -rescue- left out)
    modules=6.1.0-28-amd64          one per /lib/modules/* (and /usr/lib/modules/*) that
                                    holds modules.dep(.bin) or a vmlinuz: a kernel
    leftover=6.1.0-9-amd64          a modules directory without them: what a purge
                                    leaves behind (dkms builds), no kernel
    proc_version=Linux version ...  /proc/version
    package_version=6.1.112-1       dpkg: the version of linux-image-$(uname -r)
    fleetcheck-kernel: end          the last line (a cut output is an error)

Debian rebuilds a kernel without changing its ABI (uname -r) now and then: the
package is upgraded in place and only /proc/version's `Debian 6.1.112-1 (date)`
against the installed package's version shows that the running build is not the
installed one (needrestart's "ABI compatible upgrade pending").

A host that shows no installed kernel (no vmlinuz in /boot, no modules tree: a
container, or a VM booted by its hypervisor from a kernel outside its disk) cannot say
whether a newer kernel waits; kernel.running says so and judges only what the
inventory declares.

Releases are compared as :func:`compare` says (Debian, Ubuntu, RHEL, Fedora, Arch
release strings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, FactError, ParseError, shown, var_setting

NAME = "kernel"
VAR = "kernel"
MAX_FIELD = 4096
MAX_LINES = 2000
END = "fleetcheck-kernel: end"
SCRIPT = r"""r=$(uname -r) || exit
echo "running=$r"
for k in /boot/vmlinuz-*; do
  [ -e "$k" ] || continue
  case $k in *-rescue-*) continue ;; esac
  echo "boot=${k#/boot/vmlinuz-}"
done
for d in /lib/modules/* /usr/lib/modules/*; do
  [ -d "$d" ] || continue
  if [ -e "$d/modules.dep" ] || [ -e "$d/modules.dep.bin" ] || [ -e "$d/vmlinuz" ]; then
    echo "modules=${d##*/}"
  else
    echo "leftover=${d##*/}"
  fi
done
[ -r /proc/version ] && echo "proc_version=$(head -n 1 /proc/version)"
if command -v dpkg-query >/dev/null 2>&1; then
  v=$(dpkg-query -W -f '${Version}' "linux-image-$r" 2>/dev/null) && [ -n "$v" ] &&
    echo "package_version=$v"
fi
echo 'fleetcheck-kernel: end'
"""
_SINGLE = ("running", "proc_version", "package_version")
_LISTS = ("boot", "modules", "leftover")
# What a release may hold (uname -r: no blank, no '/')
RELEASE = re.compile(r"[A-Za-z0-9._+~-]{1,256}")
# Debian's build in /proc/version: `... #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)`
_DEBIAN_BUILD = re.compile(r" Debian (\S+) \(\d{4}-\d{2}-\d{2}\)\s*$")


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


# -- comparing releases ----------------------------------------------------------------

_PREFIX = re.compile(r"[0-9]+(?:[.-][0-9]+)*")
_PRE_RELEASE = re.compile(r"[-.~_]?rc[0-9]", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")


def _numbers(text: str) -> tuple[tuple[int, str], ...]:
    """Digit runs as comparable numbers: by length, then digits (no int() of host text)."""
    return tuple((len(d), d) for d in (run.lstrip("0") for run in _DIGITS.findall(text)))


def release_key(release: str) -> tuple:
    """(the leading numbers, 0 for a release candidate else 1, the rest's shape with its
    digits blanked, the rest's numbers). The leading numbers are the upstream version
    and the distribution's ABI or release number: 6.1.0-26 (Debian), 5.15.0-105
    (Ubuntu), 5.14.0-427.13.1 (RHEL), 6.8.9-300 (Fedora); the rest is the flavour or
    dist tag (-amd64, .el9_4.x86_64, -arch1-1)."""
    match = _PREFIX.match(release)
    prefix = match.group() if match else ""
    rest = release[len(prefix):]
    return (_numbers(prefix), 0 if _PRE_RELEASE.match(rest) else 1,
            _DIGITS.sub("#", rest), _numbers(rest))


def compare(a: str, b: str) -> int:
    """1 when release `a` is newer than `b`, -1 when older, 0 when the same or not
    comparable. The leading numbers decide (6.1.0-26 > 6.1.0-9; 4.18.0-553.1.1 >
    4.18.0-553, where a plain natural sort puts `553.el8` first); a release candidate
    (-rc7) is older than its release; the rest decides only between two of the same
    shape (-arch1-2 > -arch1-1, .el9_4 > .el9_3): two flavours of one version
    (6.1.0-26-amd64, 6.1.0-26-cloud-amd64) are not ordered."""
    ka, kb = release_key(a), release_key(b)
    if ka[:2] != kb[:2]:
        return 1 if ka[:2] > kb[:2] else -1
    if ka[2] != kb[2]:
        return 0
    return (ka[3] > kb[3]) - (ka[3] < kb[3])


def newest(releases: list[str]) -> str | None:
    """The release no other is newer than (the first such in the list)."""
    best = None
    for release in releases:
        if best is None or compare(release, best) > 0:
            best = release
    return best


# -- the fact ---------------------------------------------------------------------------

@dataclass
class Kernel:
    running: str
    boot: list[str] = field(default_factory=list)       # /boot/vmlinuz-*
    modules: list[str] = field(default_factory=list)    # /lib/modules/* with a kernel
    leftover: list[str] = field(default_factory=list)   # modules dirs without one
    proc_version: str | None = None
    package_version: str | None = None  # dpkg's version of linux-image-<running>

    @property
    def installed(self) -> list[str]:
        """Every kernel release installed: in /boot or with a modules tree, once each."""
        return sorted(set(self.boot) | set(self.modules))

    @property
    def newest(self) -> str | None:
        return newest(self.installed)

    @property
    def newer(self) -> list[str]:
        """The installed releases newer than the running one."""
        return [r for r in self.installed if compare(r, self.running) > 0]

    @property
    def build_version(self) -> str | None:
        """Debian's version of the running build, from /proc/version."""
        found = _DEBIAN_BUILD.search(self.proc_version or "")
        return found.group(1) if found else None

    @property
    def rebuilt(self) -> bool:
        """Debian: the installed package of the running release is another build than
        the one running (same ABI, upgraded in place)."""
        build = self.build_version
        return bool(build and self.package_version and build != self.package_version)


def parse(text: str) -> Kernel:
    found: dict[str, Any] = {key: [] for key in _LISTS}
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"line {MAX_LINES + 1}: more than {MAX_LINES} lines")
    if not lines or lines[-1] != END:
        raise ParseError(f"line {max(len(lines), 1)}: no {END!r} line at the end "
                         "(truncated output?)")
    lines = lines[:-1]
    for n, line in enumerate(lines, start=1):
        key, sep, value = line.partition("=")
        if not sep or key not in (*_SINGLE, *_LISTS):
            raise ParseError(f"line {n}: expected one of {', '.join(_SINGLE + _LISTS)}=..., "
                             f"got {shown(line)}")
        if len(value) > MAX_FIELD or not value.isprintable():
            raise ParseError(f"line {n}: {key}= must be printable, at most {MAX_FIELD} "
                             f"characters: {shown(value)}")
        if key != "proc_version" and not RELEASE.fullmatch(value):
            raise ParseError(f"line {n}: {key}= is not a kernel release or version: "
                             f"{shown(value)}")
        if key in _LISTS:
            if value not in found[key]:
                found[key].append(value)
        elif key in found:
            raise ParseError(f"line {n}: {key}= given twice")
        else:
            found[key] = value
    if "running" not in found:
        raise ParseError(f"line {len(lines) + 1}: no running= line before the end")
    return Kernel(**found)


# -- the var `kernel` (every check of the area) -------------------------------------------

MODULE_STATES = ("loaded", "not_loaded", "blacklisted")
_MODULE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
TAINT_LETTERS = tuple("PFSRMBUDAWCIOELKXTNJ")


def module_name(value: Any, what: str = "the module name") -> str:
    """A kernel module as modprobe names it (letters, digits, '_', '-'; '-' and '_' are
    the same to the kernel), at most 64 characters, never an option: it is written
    into /etc/modprobe.d by kernel.modules' fix."""
    text = values.word(value, what)
    if not _MODULE.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a module name (letters, digits, '_', "
                                 f"'-'), got {shown(text)}")
    return text


def module_key(name: str) -> str:
    """The kernel's form of a module name: `usb-storage` is `usb_storage`."""
    return name.replace("-", "_")


def release(value: Any, what: str = "the kernel release") -> str:
    text = values.word(value, what)
    if not RELEASE.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be a kernel release as `uname -r` prints "
                                 f"it (6.1.0-26-amd64), got {shown(text)}")
    return text


# The vars whose values reach a command or a file (checked at load: fleetcheck.values):
# the files read instead of /proc, the module names the fix writes, and the declared
# releases and boot parameters (compared only; no control character).
VALUE_KINDS = {
    "kernel.modules{}": module_name,
    "kernel.modules_path": values.path,
    "kernel.tainted.path": values.path,
    "kernel.cmdline.path": values.path,
    "kernel.cmdline.present[]": values.text,
    "kernel.cmdline.absent[]": values.text,
    "kernel.running.minimum": release,
    "kernel.running.version": release,
}

DEFAULT_PATHS = {"modules": "/proc/modules", "tainted": "/proc/sys/kernel/tainted",
                 "cmdline": "/proc/cmdline"}
_PATH_NOTE = ("; a lab or a test places a captured copy elsewhere and names it here (the "
              "lab's hosts share one kernel)")
_STRINGS = {"type": "array", "items": {"type": "string", "description": "a boot parameter: "
            "`name` (present with any value, or absent altogether) or `name=value` (that "
            "value)"}, "x-expected": "a list of boot parameters (like [quiet, console=ttyS0])"}
VARS = {
    VAR: {
        "type": "object",
        "description": "the kernel (kernel.running, kernel.modules, kernel.tainted, "
                       "kernel.cmdline); a key null turns its check off",
        "x-expected": "a mapping (like {running: {newest_installed: true}})",
        "properties": {
            "running": {
                "type": "object", "description": "kernel.running: which kernel must run",
                "properties": {
                    "newest_installed": {"type": "boolean", "default": True,
                                         "description": "the newest kernel installed "
                                         "(/boot, /lib/modules) runs: else a reboot is due"},
                    "minimum": {"type": "string", "x-expected": "a release as a string "
                                "(quote it: \"6.1.0-26\")",
                                "description": "the oldest release allowed (`uname -r` "
                                "compared number by number: 6.1.0-26)"},
                    "version": {"type": "string", "x-expected": "a release as a string",
                                "description": "exactly this release runs (`uname -r`: "
                                "6.1.0-26-amd64)"},
                },
                "additionalProperties": False,
            },
            "modules": {
                "type": "object", "description": "kernel.modules: module -> loaded | "
                "not_loaded | blacklisted (not loaded, and `blacklist` or `install .. "
                "/bin/false` in modprobe.d: --remediate writes "
                "/etc/modprobe.d/fleetcheck-blacklist.conf); null: not judged",
                "x-expected": "a mapping of module: loaded | not_loaded | blacklisted",
                "x-key": "a module name (letters, digits, '_', '-')",
                "patternProperties": {r"^[A-Za-z0-9_][A-Za-z0-9_-]*$": {
                    "enum": list(MODULE_STATES), "description": "what the module must be"}},
                "additionalProperties": False,
            },
            "modules_path": {"type": "string", "default": DEFAULT_PATHS["modules"],
                             "description": "the list of loaded modules to read"
                             + _PATH_NOTE},
            "tainted": {
                "type": "object", "description": "kernel.tainted: the taint flags judged",
                "properties": {
                    "allowed": {"type": "array", "default": [],
                                "items": {"enum": list(TAINT_LETTERS), "description":
                                          "a taint letter (O: out-of-tree module, ...)"},
                                "x-expected": "a list of taint letters (like [O, E])",
                                "description": "taint flags that are no finding"},
                    "path": {"type": "string", "default": DEFAULT_PATHS["tainted"],
                             "description": "the taint value to read" + _PATH_NOTE},
                },
                "additionalProperties": False,
            },
            "cmdline": {
                "type": "object", "description": "kernel.cmdline: the boot parameters "
                "judged (those after `--` are init's, not the kernel's)",
                "properties": {
                    "present": dict(_STRINGS, description="boot parameters that must be "
                                    "given"),
                    "absent": dict(_STRINGS, description="boot parameters that must not "
                                   "be given (a `name` alone: with no value either)"),
                    "path": {"type": "string", "default": DEFAULT_PATHS["cmdline"],
                             "description": "the command line to read" + _PATH_NOTE},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any], key: str) -> Any:
    """The value of `kernel.<key>` (None when the var or the key is unset or null)."""
    return var_setting(hostvars, VAR, key)


def path_of(hostvars: Mapping[str, Any], what: str) -> str:
    """The file a fact reads for `what` (modules, tainted, cmdline): the var's, else
    /proc's; checked again with its kind (a FactError for a bad one)."""
    if what == "modules":
        chosen = settings(hostvars, "modules_path")
    else:
        sub = settings(hostvars, what)
        chosen = sub.get("path") if isinstance(sub, Mapping) else None
    try:
        return values.path(chosen or DEFAULT_PATHS[what], f"the kernel {what} path")
    except values.UnsafeValue as exc:
        raise FactError(str(exc)) from None
