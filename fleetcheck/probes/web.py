"""The web as the controller sees it: a host's URLs and HTTPS endpoints asked directly.

Nothing runs on the host: the controller connects to the host's inventory address
(ansible_host, else its name, as ssh does) and nowhere else. An HTTP request names the
declared site in its Host header (and, over HTTPS, in SNI and the certificate check),
so name-based virtual hosts are reached without asking any DNS. Redirects are followed
only when declared, at most MAX_REDIRECTS, and only while they stay on the same name
(so on the same address); every connection and read has a timeout and a body is read
up to a bound. The judging functions are pure.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from cryptography import x509
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
# oldest first; the ssl module's names
_VERSIONS = {"TLSv1": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3"}
ORDER = tuple(_VERSIONS)


def _pinned(name: str) -> ssl.SSLContext:
    """An unverified context offering only protocol `name`, at security level 0."""
    ctx = _unverified("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():     # TLSv1 / TLSv1_1 are deprecated: we mean them
        warnings.simplefilter("ignore", DeprecationWarning)
        version = getattr(ssl.TLSVersion, _VERSIONS[name])
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def older_than(minimum: str) -> list[str]:
    """The protocols older than `minimum` (TLSv1.2: TLSv1, TLSv1.1)."""
    return list(ORDER[:ORDER.index(minimum)])


# -- HTTP ------------------------------------------------------------------------------

class _NamedTLS(HTTPAdapter):
    """HTTPS to an address, with the site's name in SNI and the certificate check."""

    def __init__(self, name: str, **kwargs):
        self._name = name
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._name
        kwargs["assert_hostname"] = self._name
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Answer:
    url: str                       # the declared URL (the last one followed)
    status: int | None = None
    location: str | None = None
    body: str = ""
    error: str | None = None       # why there is no status
    hops: list[str] = field(default_factory=list)   # "301 -> URL" for each redirect followed


def _target(declared: str, address: str) -> tuple[str, str, str]:
    """(the URL with the address in place of the name, the name, the Host header)."""
    parts = urlsplit(declared)
    name = parts.hostname or ""
    host = f"[{address}]" if ":" in address else address
    netloc = host + (f":{parts.port}" if parts.port else "")
    header = name + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), name, header


def fetch(declared: str, address: str, *, timeout: float, max_body: int,
          follow: bool = False, verify: bool | str = True) -> Answer:
    """GET `declared` from `address`; `verify`: True (the system store), a CA file, or
    False."""
    answer = Answer(declared)
    current = declared
    first_name = urlsplit(declared).hostname
    for _ in range(MAX_REDIRECTS + 1):
        target, name, header = _target(current, address)
        with requests.Session() as session:
            session.trust_env = False           # no proxy, no netrc: straight to the host
            session.mount("https://", _NamedTLS(name))
            session.mount("http://", HTTPAdapter(max_retries=0))
            try:
                with warnings.catch_warnings():   # unverified on purpose: web.tls judges it
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                    resp = session.get(target, headers={"Host": header,
                                                        "User-Agent": "fleetcheck"},
                                       timeout=(timeout, timeout), allow_redirects=False,
                                       stream=True, verify=verify)
            except requests.RequestException as exc:
                answer.error = _reason(exc)
                return answer
            with resp:
                answer.url, answer.status = current, resp.status_code
                answer.location = resp.headers.get("Location")
                try:
                    data = resp.raw.read(max_body, decode_content=True) or b""
                except Exception as exc:   # noqa: BLE001 - a broken body is a finding
                    answer.error = f"reading the body: {_reason(exc)}"
                    return answer
                answer.body = data.decode(resp.encoding or "utf-8", "replace")
        if not (follow and answer.status in REDIRECTS and answer.location):
            return answer
        nxt = urljoin(current, answer.location)
        if urlsplit(nxt).scheme not in ("http", "https") or urlsplit(nxt).hostname != first_name:
            answer.error = f"redirect to {nxt} leaves {first_name}: not followed"
            return answer
        answer.hops.append(f"{answer.status} -> {nxt}")
        current = nxt
    answer.error = f"more than {MAX_REDIRECTS} redirects"
    return answer


def _reason(exc: BaseException) -> str:
    """A requests/urllib3 error as one short line (its innermost reason)."""
    text = str(exc)
    for pat in (r"\[SSL: [A-Z_]+\][^')\"]*", r"certificate verify failed: [^')\"]*",
                r"Connection refused", r"timed out", r"Name or service not known",
                r"No route to host", r"Connection reset by peer"):
        m = re.search(pat, text)
        if m:
            return m.group(0).strip()
    return type(exc).__name__ + (": " + text[:160] if text else "")


def judge_answer(answer: Answer, want_status: list[int], body: str | None) -> list[tuple[str, str]]:
    """(severity, text) problems of one URL's answer."""
    if answer.error and answer.status is None:
        return [("high", f"{answer.url}: {answer.error}")]
    if answer.error:
        return [("high", f"{answer.url}: {answer.error} (status {answer.status})")]
    if answer.status not in want_status:
        where = f", Location {answer.location}" if answer.location else ""
        return [("high", f"{answer.url} answered {answer.status}, expected "
                         f"{'/'.join(map(str, want_status))}{where}")]
    if body is not None and not re.search(body, answer.body):
        return [("medium", f"{answer.url}: the body does not match {body!r}")]
    return []


# -- TLS -------------------------------------------------------------------------------

@dataclass
class TlsResult:
    name: str
    port: int
    error: str | None = None              # no handshake at all
    subject: str | None = None
    issuer: str | None = None
    sans: list[str] = field(default_factory=list)
    not_after: str | None = None          # ISO, UTC
    days_left: float | None = None
    version: str | None = None            # negotiated by default
    verify_error: str | None = None       # chain or hostname: None when it verified
    accepted: dict[str, bool | None] = field(default_factory=dict)   # old protocol -> ...


def _connect(address: str, port: int, name: str, ctx: ssl.SSLContext, timeout: float):
    sock = socket.create_connection((address, port), timeout=timeout)
    try:
        return ctx.wrap_socket(sock, server_hostname=name)
    except BaseException:
        sock.close()
        raise


def _unverified(ciphers: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def _name(names: x509.Name) -> str:
    return names.rfc4514_string()


def probe_tls(address: str, port: int, name: str, *, cafile: str | None, timeout: float,
              minimum: str, now: dt.datetime | None = None) -> TlsResult:
    """Handshakes with `address`:`port` naming `name`: one unverified (the certificate,
    its dates and names), one verified against `cafile` (chain and hostname), one
    pinned to each protocol older than `minimum` (at OpenSSL security level 0, so that
    the controller offers it at all)."""
    res = TlsResult(name, port)
    try:
        with _connect(address, port, name, _unverified(), timeout) as tls:
            der = tls.getpeercert(binary_form=True)
            res.version = tls.version()
    except (OSError, ssl.SSLError) as exc:
        res.error = f"no TLS handshake with {address}:{port}: {exc}"
        return res
    cert = x509.load_der_x509_certificate(der)
    res.subject, res.issuer = _name(cert.subject), _name(cert.issuer)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        res.sans = [str(v) for v in ext.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        pass
    after = cert.not_valid_after_utc
    res.not_after = after.isoformat()
    res.days_left = round(((after - (now or dt.datetime.now(dt.timezone.utc)))
                           .total_seconds()) / 86400, 2)
    try:
        ctx = ssl.create_default_context(cafile=cafile)
        with _connect(address, port, name, ctx, timeout):
            pass
    except ssl.SSLCertVerificationError as exc:
        res.verify_error = exc.verify_message or str(exc)
    except (OSError, ssl.SSLError) as exc:
        res.verify_error = f"verified handshake failed: {exc}"
    for version in older_than(minimum):
        try:
            with _connect(address, port, name, _pinned(version), timeout):
                res.accepted[version] = True
        except ssl.SSLError as exc:
            # the controller's OpenSSL cannot offer it at all: not judged
            res.accepted[version] = None if "NO_PROTOCOLS_AVAILABLE" in str(exc) else False
        except OSError:
            res.accepted[version] = False
    return res


def judge_tls(res: TlsResult, warn_days: int, crit_days: int) -> list[tuple[str, str]]:
    where = f"{res.name}:{res.port}"
    if res.error:
        return [("high", res.error)]
    problems = []
    days = res.days_left if res.days_left is not None else 0.0
    if days <= 0:
        problems.append(("high", f"{where}: the certificate expired on {res.not_after}"))
    elif days < crit_days:
        problems.append(("high", f"{where}: the certificate expires in {days:.1f} days "
                                 f"(crit {crit_days})"))
    elif days < warn_days:
        problems.append(("low", f"{where}: the certificate expires in {days:.1f} days "
                                f"(warn {warn_days})"))
    if res.verify_error:
        problems.append(("high", f"{where}: the certificate does not verify: "
                                 f"{res.verify_error} (subject {res.subject}, names "
                                 f"{', '.join(res.sans) or 'none'})"))
    old = [v for v, ok in res.accepted.items() if ok]
    if old:
        problems.append(("medium", f"{where} accepts {', '.join(old)}"))
    return problems


def shown(res: TlsResult) -> dict[str, Any]:
    return {k: getattr(res, k) for k in ("subject", "issuer", "sans", "not_after",
                                         "days_left", "version", "verify_error",
                                         "accepted", "error")}
