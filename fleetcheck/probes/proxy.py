"""Requests through an HTTP proxy, as its clients see it: requests to the host's
inventory IP address only, from a declared address of the controller.

Not a fact of a host (nothing runs on it): the controller asks the proxy for the
declared http:// URL (an absolute-form `GET http://name/ HTTP/1.1`: the proxy resolves
the URL's name and fetches it; the controller looks nothing up and connects to no one
but the proxy). The request's source address is bound (urllib3's source_address) to
the declared inside or outside address, so one controller can be both a client the
proxy's acls allow and one they refuse. One request each, a timeout on the
connection and the answer, no redirect followed, the body not read. Who answered is
told by Squid's own header: `X-Squid-Error: ERR_ACCESS_DENIED` on its refusal (403),
another ERR_ code when it tried and failed (the request was allowed); an answer
without it comes from the origin. The judging is pure (:func:`problems`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from fleetcheck.facts.squid import http_url
from fleetcheck.probes import NotAllowed
from fleetcheck.probes import target as probe_target
from fleetcheck.values import address as ip_address

MAX_REASON = 300
DENIED = ("ERR_ACCESS_DENIED", "ERR_CACHE_ACCESS_DENIED", "ERR_PROXY_AUTH_REQUIRED")


def target(address: str | None) -> tuple[str | None, str | None]:
    """(the proxy's IP address, None) or (None, why the requests do not apply)."""
    return probe_target(address, "the proxy request")


class _From(HTTPAdapter):
    """Connections (to the proxy too) from one source address."""

    def __init__(self, source: str):
        self._source = (source, 0)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = self._source
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        proxy_kwargs["source_address"] = self._source
        return super().proxy_manager_for(proxy, **proxy_kwargs)


@dataclass
class Request:
    role: str                       # inside | outside
    source: str                     # the controller's address it was sent from
    status: int | None = None
    squid_error: str | None = None  # X-Squid-Error's code (ERR_ACCESS_DENIED)
    server: str | None = None
    error: str | None = None        # why there is no answer
    unbound: bool = False           # the source address is not the controller's

    @property
    def refused(self) -> bool:
        return self.squid_error in DENIED or self.status == 407

    @property
    def served(self) -> bool:
        """The origin answered (2xx/3xx, no Squid error)."""
        return (self.status is not None and 200 <= self.status < 400
                and self.squid_error is None)

    def shown(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        return f"{self.status}" + (f" {self.squid_error}" if self.squid_error else "")


def through(proxy: str, port: int, url: str, *, source: str, role: str, timeout: float,
            allowed: str) -> Request:
    """GET `url` through the proxy at `proxy`:`port` (which must be `allowed`, the
    host's inventory IP address), from `source`."""
    if proxy != allowed or target(proxy)[0] != proxy:
        raise NotAllowed(f"a request through {proxy}: only the host's inventory IP address "
                         f"({allowed}) may be asked")
    url, source = http_url(url), ip_address(source)
    host = f"[{proxy}]" if ":" in proxy else proxy
    out = Request(role, source)
    with requests.Session() as session:
        session.trust_env = False          # no environment proxy, no netrc
        session.mount("http://", _From(source))
        session.mount("https://", _From(source))
        try:
            resp = session.get(url, proxies={"http": f"http://{host}:{int(port)}"},
                               headers={"User-Agent": "fleetcheck"}, stream=True,
                               allow_redirects=False, timeout=(timeout, timeout))
        except requests.RequestException as exc:
            out.error = reason(exc)
            out.unbound = "Cannot assign requested address" in str(exc)
            return out
        with resp:
            out.status = resp.status_code
            code = resp.headers.get("X-Squid-Error")
            out.squid_error = code.split()[0][:64] if code and code.split() else None
            out.server = (resp.headers.get("Server") or "")[:80] or None
    return out


def reason(exc: BaseException) -> str:
    text = str(exc)
    for pat in (r"Connection refused", r"timed out", r"No route to host",
                r"Cannot assign requested address", r"Connection reset by peer",
                r"Remote end closed connection without response"):
        m = re.search(pat, text)
        if m:
            return m.group(0)
    return " ".join(text.split())[:MAX_REASON]


def problems(inside: Request | None, outside: Request | None, where: str
             ) -> list[tuple[str, str]]:
    """(severity, text): the outside client served, or let through to the origin (a
    Squid error other than a denial: the proxy tried) is an open proxy (high); the
    inside client refused (high) or unanswered (high: the proxy is down for its users);
    a source address the controller does not have is medium (nothing judged). The
    outside client refused by Squid, or not answered at all (a firewall in front: a
    refusal too), passes."""
    found = []
    for req in (inside, outside):
        if req is not None and req.unbound:
            found.append(("medium", f"the {req.role} address {req.source} is not one of "
                          "this controller's: nothing could be asked from it"))
    if inside is not None and not inside.unbound and not inside.served:
        if inside.refused:
            found.append(("high", f"{where} refuses the inside client {inside.source}: "
                          f"{inside.shown()}"))
        else:
            found.append(("high", f"{where} does not serve the inside client "
                          f"{inside.source}: {inside.shown()}"))
    if outside is not None and not outside.unbound and outside.status is not None \
            and not outside.refused:
        what = "served" if outside.served else "let through"
        found.append(("high", f"open proxy: {where} {what} the outside client "
                      f"{outside.source}: {outside.shown()}"))
    return found


__all__ = ["NotAllowed", "Request", "problems", "target", "through"]
