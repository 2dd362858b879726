"""The controller's own probes of a host's services, as a client sees them: DNS queries
(dns), HTTP and TLS (web), SMTP relay tests (smtp), requests through an HTTP
proxy from a bound source address (proxy). Each sends traffic only to the
address the inventory gives (a host's address, the inventory's nameservers), with
timeouts and bounded reads; none follows a name or a redirect elsewhere."""

from __future__ import annotations

import ipaddress


class NotAllowed(RuntimeError):
    """A probe sent to an address that is not the host's inventory IP address."""


def target(address: str | None, what: str) -> tuple[str | None, str | None]:
    """(the IP address `what` connects to, None) or (None, why it does not apply): the
    host's inventory address, an IP address (a name would need a DNS lookup)."""
    if not address:
        return None, "no address in the inventory (ansible_host)"
    try:
        return str(ipaddress.ip_address(address)), None
    except ValueError:
        return None, (f"the inventory address {address} is a name: {what} connects to "
                      "inventory IP addresses only (no DNS lookup)")
