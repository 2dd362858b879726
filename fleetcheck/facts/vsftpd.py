"""vsftpd (LPIC-2 212.2): vsftpd.conf's syntax as vsftpd 3.0.3 reads it, the fact
`vsftpd` (installed, running, the configuration file's text) and the var `ftp` of the
area (ftp.vsftpd: its schema and value kinds are declared here). The anonymous login
as a client sees it is the controller's own test (fleetcheck.probes.ftp).

vsftpd.conf (vsftpd.conf(5), and what Debian bookworm's vsftpd 3.0.3-13+b2 does with
a file, tried one line at a time in inetd mode: its `500 OOPS` messages are quoted):

- one directive a line, `name=value`, split at the first `=`; the name's leading
  blanks are dropped, nothing else is: `anonymous_enable = YES` is the unknown name
  `anonymous_enable ` (`unrecognised variable`) and `anonymous_enable=NO ` (or a CR
  before the line end) a `bad bool value`;
- a line whose first character is `#` is a comment, and a line of blanks is skipped;
  `  # note` is neither (`missing value in config file for: # note`);
- names are lower case and must be vsftpd's own (NAMES below: every name that
  binary accepts); a boolean is YES/TRUE/1 or NO/FALSE/0 in any case, and an empty
  one is a `missing value`;
- the last definition of a name wins.

vsftpd stops at the first line it refuses: it does not start. The parser keeps such
lines as `refused` (line, text, vsftpd's reason) rather than raising: a refused file
is a finding (high), not an unreadable fact. A ParseError is for our own wrapper lines.

Defaults (DEFAULTS): the compiled-in value where the file has no line. Debian's man
page says `anonymous_enable Default: NO`, but its binary (upstream tunables.c: 1)
lets `USER anonymous` in when the file does not say NO (tried on bookworm's 3.0.3
with a file without the line: 331, then the anonymous login was attempted): the
binary's default, YES, is the one judged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import Command, ParseError, bounded_lines, shown, var_setting

NAME = "vsftpd"
VAR = "ftp"
MAX_LINES = 20000
MAX_LINE = 4096
MAX_BYTES = 1048576
MAX_REFUSED = 20
MARK = "fleetcheck-vsftpd: "
END = MARK + "end"
SEARCHED = ("/etc/vsftpd.conf", "/etc/vsftpd/vsftpd.conf")   # Debian's, then RHEL's

# Every name Debian bookworm's vsftpd 3.0.3 accepts: the man page's three lists, and
# the names of its binary's strings it did not refuse (`name=1`, one a time), which
# added allow_writeable_chroot, ftp_enable, http_enable, isolate, isolate_network,
# ptrace_sandbox, seccomp_sandbox and utf8_filesystem (booleans: `name=x` is a bad
# bool value).
BOOLEANS = frozenset("""
allow_anon_ssl allow_writeable_chroot anon_mkdir_write_enable anon_other_write_enable
anon_upload_enable anon_world_readable_only anonymous_enable ascii_download_enable
ascii_upload_enable async_abor_enable background check_shell chmod_enable chown_uploads
chroot_list_enable chroot_local_user connect_from_port_20 debug_ssl delete_failed_uploads
deny_email_enable dirlist_enable dirmessage_enable download_enable dual_log_enable
force_anon_data_ssl force_anon_logins_ssl force_dot_files force_local_data_ssl
force_local_logins_ssl ftp_enable guest_enable hide_ids http_enable implicit_ssl isolate
isolate_network listen listen_ipv6 local_enable lock_upload_files log_ftp_protocol
ls_recurse_enable mdtm_write no_anon_password no_log_lock one_process_model
passwd_chroot_enable pasv_addr_resolve pasv_enable pasv_promiscuous port_enable
port_promiscuous ptrace_sandbox require_cert require_ssl_reuse run_as_launching_user
seccomp_sandbox secure_email_list_enable session_support setproctitle_enable ssl_enable
ssl_request_cert ssl_sslv2 ssl_sslv3 ssl_tlsv1 strict_ssl_read_eof
strict_ssl_write_shutdown syslog_enable tcp_wrappers text_userdb_names tilde_user_enable
use_localtime use_sendfile userlist_deny userlist_enable utf8_filesystem validate_cert
virtual_use_local_privs write_enable xferlog_enable xferlog_std_format
""".split())
NUMBERS = frozenset("""
accept_timeout anon_max_rate anon_umask chown_upload_mode connect_timeout
data_connection_timeout delay_failed_login delay_successful_login file_open_mode
ftp_data_port idle_session_timeout listen_port local_max_rate local_umask max_clients
max_login_fails max_per_ip pasv_max_port pasv_min_port trans_chunk_size
""".split())
STRINGS = frozenset("""
anon_root banned_email_file banner_file ca_certs_file chown_username chroot_list_file
cmds_allowed cmds_denied deny_file download_file dsa_cert_file dsa_private_key_file
email_password_file ftp_username ftpd_banner guest_username hide_file listen_address
listen_address6 local_root message_file nopriv_user pam_service_name pasv_address
rsa_cert_file rsa_private_key_file secure_chroot_dir ssl_ciphers upload_file
user_config_dir user_sub_token userlist_file vsftpd_log_file xferlog_file
""".split())
NAMES = BOOLEANS | NUMBERS | STRINGS
TRUE, FALSE = ("YES", "TRUE", "1"), ("NO", "FALSE", "0")
# Compiled-in values (vsftpd 3.0.3's tunables.c, anonymous_enable tried: see above).
DEFAULTS = {"anonymous_enable": "YES", "local_enable": "NO", "write_enable": "NO",
            "anon_upload_enable": "NO", "anon_mkdir_write_enable": "NO",
            "anon_other_write_enable": "NO", "chroot_local_user": "NO",
            "chroot_list_enable": "NO", "allow_writeable_chroot": "NO",
            "anon_world_readable_only": "YES", "listen": "NO", "listen_ipv6": "NO",
            "listen_port": "21", "ssl_enable": "NO", "no_anon_password": "NO",
            "pasv_enable": "YES", "port_enable": "YES", "hide_ids": "NO",
            "ftp_username": "ftp", "pam_service_name": "ftp"}
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass
class Directive:
    name: str
    value: str
    line: int


@dataclass
class Refused:
    line: int
    text: str
    reason: str     # vsftpd's own words


@dataclass
class VsftpdConf:
    directives: list[Directive] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    def effective(self) -> dict[str, str]:
        """name -> value as written, the last definition winning."""
        return {d.name: d.value for d in self.directives}

    def value(self, name: str) -> tuple[str | None, bool]:
        """(the value in effect, whether the file sets it): the file's, else the
        compiled-in default (None where DEFAULTS does not know it)."""
        mine = self.effective()
        if name in mine:
            return mine[name], True
        return DEFAULTS.get(name), False

    def enabled(self, name: str) -> bool | None:
        """A boolean's value in effect (None: unknown, or not a valid boolean)."""
        return as_bool(self.value(name)[0])


def as_bool(text: Any) -> bool | None:
    """vsftpd's reading of a boolean (YES/TRUE/1, NO/FALSE/0, any case), else None."""
    if isinstance(text, bool):
        return text
    if text is None:
        return None
    word = str(text).upper()
    return True if word in TRUE else False if word in FALSE else None


def parse_conf(text: str) -> VsftpdConf:
    """vsftpd.conf as vsftpd reads it (see the module's docstring); the lines it would
    refuse are kept in `refused`, at most MAX_REFUSED."""
    lines = bounded_lines(text, MAX_BYTES, MAX_LINES)
    out = VsftpdConf()

    def refuse(n: int, raw: str, reason: str) -> None:
        if len(out.refused) < MAX_REFUSED:
            out.refused.append(Refused(n, shown(raw, 120), reason))

    for n, raw in enumerate(lines, start=1):
        if raw.startswith("#") or not raw.strip():
            continue
        if len(raw) > MAX_LINE:
            refuse(n, raw, f"a line longer than {MAX_LINE} characters")
            continue
        name, eq, value = raw.lstrip(" \t").partition("=")
        if not eq or (not value and name in BOOLEANS):
            refuse(n, raw, f"missing value in config file for: {name}")
        elif not _NAME.fullmatch(name) or name not in NAMES:
            refuse(n, raw, f"unrecognised variable in config file: {name}")
        elif name in BOOLEANS and as_bool(value) is None:
            refuse(n, raw, f"bad bool value in config file for: {name}")
        else:
            out.directives.append(Directive(name, value, n))
    return out


# -- the fact: installed, running, the file -------------------------------------------

SCRIPT = f"""PATH="$PATH:/usr/sbin:/sbin"
bin=$(command -v vsftpd 2>/dev/null) || {{ echo '{MARK}not installed'; exit 0; }}
echo "{MARK}installed $bin"
if pidof vsftpd >/dev/null 2>&1 || pgrep -x vsftpd >/dev/null 2>&1; then
  echo '{MARK}running yes'; else echo '{MARK}running no'; fi
conf=
for f in "$@"; do [ -e "$f" ] && {{ conf=$f; break; }}; done
if [ -z "$conf" ]; then echo "{MARK}config $1 missing"
else
  echo "{MARK}config $conf size $(wc -c < "$conf")"
  head -c {MAX_BYTES} -- "$conf" | awk '{{ print "| " $0 }}'
fi
echo '{END}'
"""


def config_path(hostvars: Mapping[str, Any]) -> str | None:
    """`ftp.vsftpd.config` (None: the first of SEARCHED that exists)."""
    conf = settings(hostvars) or {}
    path = conf.get("config")
    return None if path is None else values.path(path, "ftp.vsftpd.config")


def command(hostvars: Mapping[str, Any]) -> Command:
    path = config_path(hostvars)
    paths = (path,) if path else SEARCHED
    return Command("sh -c %s sh" + " %s" * len(paths), SCRIPT, *paths)


@dataclass
class Vsftpd:
    installed: bool = True
    binary: str | None = None
    running: bool | None = None
    path: str | None = None          # the file read (or looked for)
    exists: bool = False
    size: int | None = None
    config: VsftpdConf = field(default_factory=VsftpdConf)


_CONFIG = re.compile(r"config (/\S*) (?:(missing)|size ([0-9]{1,12}))")


def parse(text: str) -> Vsftpd:
    """The fact's output (our lines, the file's lines each after `| `); text without
    our first line is a vsftpd.conf alone (a capture)."""
    if not text.startswith(MARK):
        out = Vsftpd(exists=True, size=len(text.encode("utf-8", "replace")))
        out.config = parse_conf(text)
        return out
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES + 10:
        raise ParseError(f"line {MAX_LINES + 11}: more than {MAX_LINES} lines")
    if lines == [MARK + "not installed"]:
        return Vsftpd(installed=False)
    if lines[-1] != END:
        raise ParseError(f"line {len(lines)}: no {END!r} line at the end (truncated)")
    out, body, seen = Vsftpd(), [], set()
    for n, line in enumerate(lines[:-1], start=1):
        if line.startswith("| ") or line == "|":
            if "config" not in seen or not out.exists:
                raise ParseError(f"line {n}: a file line before the config line")
            body.append(line[2:])
            continue
        word = line[len(MARK):] if line.startswith(MARK) else None
        found = _CONFIG.fullmatch(word or "")
        if word and word.startswith("installed /") and n == 1:
            out.binary, _ = word[len("installed "):], seen.add("installed")
        elif word in ("running yes", "running no") and "installed" in seen:
            out.running, _ = word == "running yes", seen.add("running")
        elif found and "running" in seen and "config" not in seen:
            seen.add("config")
            out.path, out.exists = found.group(1), found.group(2) is None
            out.size = int(found.group(3)) if out.exists else None
        else:
            raise ParseError(f"line {n}: unexpected {shown(line)}")
    if seen != {"installed", "running", "config"}:
        raise ParseError(f"line {len(lines)}: the installed, running or config line is "
                         "missing")
    if out.exists:
        if out.size is not None and out.size > MAX_BYTES:
            raise ParseError(f"line {len(lines)}: {out.path} has {out.size} bytes, more "
                             f"than {MAX_BYTES}")
        out.config = parse_conf("".join(b + "\n" for b in body))
    return out


# -- the var `ftp` ----------------------------------------------------------------------

def directive_name(value: Any, what: str = "the directive") -> str:
    text = values.word(value, what)
    if not _NAME.fullmatch(text) or text not in NAMES:
        raise values.UnsafeValue(f"{what} must be a vsftpd.conf directive, got {shown(text)}")
    return text


def directive_value(value: Any, what: str = "the value") -> str:
    """A value written into vsftpd.conf: one line of printable text, no blank at
    either end (vsftpd keeps them: `NO ` is a bad bool value)."""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    text = values.text(str(value) if isinstance(value, (int, float)) else value, what,
                       max_len=1024)
    if text != text.strip() or not text:
        raise values.UnsafeValue(f"{what} must not be empty nor start or end with a "
                                 f"blank: {shown(text)}")
    return text


VALUE_KINDS = {
    "ftp.vsftpd.config": values.path,
    "ftp.vsftpd.directives{}": directive_name,
    "ftp.vsftpd.directives.*": directive_value,
}
DEFAULT_PROBE = {"port": 21, "timeout": 10, "password": "fleetcheck-probe@ftp-test.invalid"}
VARS = {
    VAR: {
        "type": "object",
        "description": "FTP servers (ftp.vsftpd); a key null turns its check off",
        "x-expected": "a mapping (like {vsftpd: {chroot_local_user: true}})",
        "properties": {
            "vsftpd": {
                "type": ["object", "null"],
                "description": "ftp.vsftpd: vsftpd.conf where vsftpd is installed, and "
                               "the anonymous login tried from the controller",
                "properties": {
                    "config": {"type": ["string", "null"], "default": None,
                               "description": "vsftpd.conf's path (null: "
                               + ", else ".join(SEARCHED) + ")"},
                    "anonymous_enable": {"type": "boolean", "default": False,
                                         "description": "whether anonymous logins are "
                                         "allowed (the file and the login test)"},
                    "chroot_local_user": {"type": ["boolean", "null"], "default": None,
                                          "description": "local users are chrooted to "
                                          "their home (null: not judged)"},
                    "directives": {
                        "type": "object", "default": {},
                        "description": "other vsftpd.conf directives that must be in "
                                       "effect (booleans compared as vsftpd reads them)",
                        "x-key": "a vsftpd.conf directive name",
                        "additionalProperties": {"type": ["string", "number", "boolean"],
                                                 "description": "its value"}},
                    "probe": {"type": "boolean", "default": True,
                              "description": "try USER anonymous from the controller to "
                              "the host's inventory address"},
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                             "default": DEFAULT_PROBE["port"],
                             "description": "the FTP control port of the login test"},
                    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120,
                                "default": DEFAULT_PROBE["timeout"],
                                "description": "seconds for the connection and each reply"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


ANON_WRITES = ("anon_upload_enable", "anon_mkdir_write_enable", "anon_other_write_enable")


def same(want: Any, have: str | None) -> bool:
    """A declared value against the one in effect: as booleans where both read as one."""
    if have is None:
        return False
    if as_bool(want) is not None and as_bool(have) is not None:
        return as_bool(want) == as_bool(have)
    return directive_value(want) == have


def declared(conf: Mapping[str, Any]) -> dict[str, str]:
    """Every directive ftp.vsftpd judges, name -> wanted value (YES/NO for booleans),
    from `settings()`."""
    out = {"anonymous_enable": "YES" if conf["anonymous_enable"] else "NO"}
    if conf["chroot_local_user"] is not None:
        out["chroot_local_user"] = "YES" if conf["chroot_local_user"] else "NO"
    for name, value in (conf.get("directives") or {}).items():
        if value is not None and str(name) not in out:
            out[str(name)] = directive_value(value)
    return out


def settings(hostvars: Mapping[str, Any]) -> dict | None:
    """`ftp.vsftpd` with its defaults (None when the var or the key is unset or null)."""
    conf = var_setting(hostvars, VAR, "vsftpd")
    if conf is None:
        return None
    base = {"config": None, "anonymous_enable": False, "chroot_local_user": None,
            "directives": {}, "probe": True, **DEFAULT_PROBE}
    return {**base, **{k: v for k, v in conf.items() if v is not None}}
