"""Direct probes from the controller to the lab hosts (DNS, SMB, NFS)."""

from __future__ import annotations

import shutil
import socket
import subprocess

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename
import dns.tsigkeyring
import dns.zone


def query(server: str, name: str, rdtype: str):
    """(rcode, [answer strings]) of one UDP query to one server."""
    q = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
    r = dns.query.udp(q, server, timeout=2.0)
    answers = [rd.to_text() for rrset in r.answer for rd in rrset
               if rrset.rdtype == dns.rdatatype.from_text(rdtype)]
    return dns.rcode.to_text(r.rcode()), answers


def ptr(server: str, address: str) -> list[str]:
    return query(server, dns.reversename.from_address(address).to_text(), "PTR")[1]


def a(server: str, name: str) -> list[str]:
    return query(server, name, "A")[1]


def serial(server: str, zone: str) -> int:
    rcode, ans = query(server, zone, "SOA")
    assert rcode == "NOERROR" and ans, f"{server}: no SOA for {zone} ({rcode})"
    return int(ans[0].split()[2])


def axfr(server: str, zone: str, key: tuple[str, str] | None = None) -> list[str] | None:
    """Names in the zone, or None when the transfer is refused."""
    kw = {}
    if key:
        kw["keyring"] = dns.tsigkeyring.from_text({key[0]: ("hmac-sha256", key[1])})
        kw["keyname"] = key[0]
    try:
        z = dns.zone.from_xfr(dns.query.xfr(server, zone, timeout=3.0, lifetime=5.0, **kw))
    except (dns.exception.DNSException, EOFError, ConnectionError, OSError):
        return None
    return sorted(str(n) for n in z.nodes)


def smb_shares(address: str) -> list[str] | None:
    """Disk shares listed anonymously (smbclient -L -N), None if smbd does not answer."""
    res = subprocess.run(["smbclient", "-L", f"//{address}", "-N", "-g"], capture_output=True,
                         text=True, timeout=30)
    if res.returncode != 0:
        return None
    return [line.split("|")[1] for line in res.stdout.splitlines() if line.startswith("Disk|")]


def showmount(address: str) -> dict[str, str]:
    res = subprocess.run(["showmount", "--no-headers", "-e", address], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    out = {}
    for line in res.stdout.splitlines():
        path, clients = line.split(None, 1)
        out[path] = clients.strip()
    return out


def tcp_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
