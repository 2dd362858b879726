"""The base search, as an LDAP client sees the directory: ldap3 to the host's inventory
address, never anywhere else.

Not a fact of a host (nothing runs on it): the controller connects itself, only to the
IP address the inventory gives the host (no DNS lookup: a name is not applicable),
with a timeout on the connection and on every reply. With `starttls` it sends the
StartTLS extended operation first, with `ldaps` it speaks TLS from the first byte;
either way the certificate is verified against the declared CA bundle (else the
controller's system store) and must be valid for `tls_name`. Then a simple bind
(`bind_dn`, its password read from the controller's environment by the check: it is
never part of the result) or an anonymous one, then one search of `base_dn` with BASE
scope (the entry itself, `(objectClass=*)`, its objectClass only, a size limit of 1
and a time limit), then an unbind. ldap3 reads no schema or root DSE (get_info NONE)
and follows no referral. The judging is pure (:func:`problems`).
"""

from __future__ import annotations

import math
import ssl
import warnings
from dataclasses import dataclass, field

from fleetcheck.facts import ldap as ldapfact
from fleetcheck.facts.ldap import dn
from fleetcheck.probes import NotAllowed
from fleetcheck.probes import target as probe_target

MAX_TEXT = 300
NO_SUCH_OBJECT = 32


def target(address: str | None) -> tuple[str | None, str | None]:
    """(the IP address to search, None) or (None, why the check does not apply)."""
    return probe_target(address, "the base search")


@dataclass
class BaseSearch:
    address: str
    port: int
    tls: str                           # none | starttls | ldaps
    base_dn: str
    bind: str                          # "anonymous" or the bind DN
    stage: str = "connect"             # how far it got: connect, tls, bind, search, done
    connected: bool = False
    tls_started: bool = False
    bound: bool = False
    result: int | None = None          # the search's LDAP result code
    description: str | None = None     # its name (noSuchObject, insufficientAccessRights)
    message: str | None = None         # the server's diagnostic message
    found: bool = False                # the entry came back
    entry_dn: str | None = None
    object_classes: list[str] = field(default_factory=list)
    error: str | None = None           # why it stopped before the search's answer

    def shown(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], "")}


def _text(value) -> str:
    return " ".join(str(value).split())[:MAX_TEXT]


def _tls_error(exc: Exception, tls_name: str | None) -> str | None:
    """A certificate for another name, said in one line (ldap3's message holds the
    whole certificate)."""
    if "doesn't match any name" in str(exc):
        return f"the server's certificate is not valid for {tls_name or 'the address'}"
    return None


def _start_tls(conn, out: BaseSearch, tls_name: str | None) -> bool:
    if conn.start_tls():
        return True
    out.error = f"StartTLS failed: {_text(conn.last_error or conn.result)}"
    return False


def base_search(address: str, port: int, *, base_dn: str, tls: str = "none",
                ca_file: str | None = None, tls_name: str | None = None,
                bind_dn: str | None = None, password: str | None = None,
                timeout: float = 5.0, allowed: str) -> BaseSearch:
    """One LDAP session to `address` (which must be `allowed`, the host's inventory IP
    address): [StartTLS,] bind, a BASE search of `base_dn`, unbind."""
    ldap3 = ldapfact.ldap3()
    LDAPException = ldap3.core.exceptions.LDAPException

    if address != allowed or target(address)[0] != address:
        raise NotAllowed(f"LDAP search to {address}: only the host's inventory IP address "
                         f"({allowed}) may be asked")
    base_dn = dn(base_dn, "base_dn")
    if bind_dn is not None:
        bind_dn = dn(bind_dn, "bind_dn")
    out = BaseSearch(address, int(port), tls, base_dn, bind_dn or "anonymous")
    tls_conf = None
    if tls in ("starttls", "ldaps"):
        names = [tls_name] if tls_name else None
        tls_conf = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file,
                             valid_names=names, sni=tls_name,
                             version=ssl.PROTOCOL_TLS_CLIENT)
    server = ldap3.Server(address, port=int(port), use_ssl=tls == "ldaps", tls=tls_conf,
                          get_info=ldap3.NONE, connect_timeout=timeout)
    conn = ldap3.Connection(server, user=bind_dn, password=password if bind_dn else None,
                            authentication=ldap3.SIMPLE if bind_dn else ldap3.ANONYMOUS,
                            auto_bind=ldap3.AUTO_BIND_NONE,
                            # whole seconds: ldap3 packs it into SO_RCVTIMEO as integers
                            receive_timeout=max(1, math.ceil(timeout)),
                            read_only=True, raise_exceptions=False, auto_referrals=False,
                            check_names=True)
    with warnings.catch_warnings():
        # ldap3 checks the certificate's name with ssl.match_hostname (deprecated)
        warnings.simplefilter("ignore", DeprecationWarning)
        return _session(conn, out, base_dn, tls, tls_name, timeout, LDAPException)


def _session(conn, out: BaseSearch, base_dn: str, tls: str, tls_name: str | None,
             timeout: float, LDAPException) -> BaseSearch:
    import ldap3

    try:
        conn.open()
        out.connected = True
        if tls == "ldaps":
            out.tls_started = True
        if tls == "starttls":
            out.stage = "tls"
            if not _start_tls(conn, out, tls_name):
                return out
            out.tls_started = True
        out.stage = "bind"
        if not conn.bind():
            res = conn.result or {}
            out.error = (f"the bind as {out.bind} is refused: {res.get('description')}"
                         + (f" ({_text(res['message'])})" if res.get("message") else ""))
            return out
        out.bound = True
        out.stage = "search"
        conn.search(base_dn, "(objectClass=*)", search_scope=ldap3.BASE,
                    attributes=["objectClass"], size_limit=1,
                    time_limit=max(1, math.ceil(timeout)))
        res = conn.result or {}
        out.result, out.description = res.get("result"), res.get("description")
        out.message = _text(res["message"]) if res.get("message") else None
        for entry in (conn.response or [])[:1]:
            if entry.get("type") == "searchResEntry":
                out.found = True
                out.entry_dn = _text(entry.get("dn"))
                classes = (entry.get("attributes") or {}).get("objectClass") or []
                out.object_classes = [_text(c) for c in list(classes)[:20]]
        out.stage = "done"
    except LDAPException as exc:
        out.error = _tls_error(exc, tls_name) or _text(f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        out.error = _text(f"{type(exc).__name__}: {exc}")
    except Exception as exc:    # noqa: BLE001 - a hostile answer ldap3 cannot decode
        out.error = _text(f"the session broke: {type(exc).__name__}: {exc}")
    finally:
        try:
            conn.unbind()
        except (LDAPException, OSError):
            pass
    return out


def problems(res: BaseSearch) -> list[tuple[str, str]]:
    """(severity, text): high when the server does not answer (no connection, the TLS
    declared cannot be had, the bind is refused, the session breaks) or the base entry
    is not there (noSuchObject, or hidden from this identity: an empty answer)."""
    where = f"{res.address}:{res.port}"
    if not res.connected:
        return [("high", f"no LDAP server answers at {where}: {res.error}")]
    if res.error:
        what = {"tls": f"TLS ({res.tls}) with {where}",
                "bind": f"the bind at {where}", "search": f"the search at {where}"}
        return [("high", f"{what.get(res.stage, where)}: {res.error}")]
    if res.result == NO_SUCH_OBJECT:
        return [("high", f"{res.base_dn} does not exist at {where} (noSuchObject"
                 + (f": {res.message}" if res.message else "") + ")")]
    if res.result not in (0, None) and not res.found:
        return [("high", f"the base search of {res.base_dn} at {where} as {res.bind} "
                 f"fails: {res.description} ({res.result})"
                 + (f": {res.message}" if res.message else ""))]
    if not res.found:
        return [("high", f"the base search of {res.base_dn} at {where} as {res.bind} "
                 "returns no entry (missing, or not readable by this identity)")]
    return []


__all__ = ["BaseSearch", "NotAllowed", "base_search", "problems", "target"]
