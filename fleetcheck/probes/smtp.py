"""The relay test, as the controller sees the MTA: smtplib to the host's inventory
address, never anywhere else.

Not a fact of a host (nothing runs on it): the controller opens the SMTP session
itself. It connects only to the IP address the inventory gives the host (ansible_host:
no DNS lookup, not even for its own name: smtplib is given the EHLO name), with a
timeout on the connection and on every reply, and says EHLO, MAIL FROM an outside
sender, RCPT TO an outside recipient, then RSET and QUIT: it never says DATA, so
nothing is ever sent, whatever the MTA answers. The judging is pure (:func:`problems`).
"""

from __future__ import annotations

import ipaddress
import smtplib
from dataclasses import dataclass, field

from fleetcheck.facts.postfix import smtp_address
from fleetcheck.probes import NotAllowed
from fleetcheck.probes import target as probe_target
from fleetcheck.values import dns_name

MAX_REPLY = 300


def target(address: str | None) -> tuple[str | None, str | None]:
    """(the IP address to test, None) or (None, why the test does not apply)."""
    address, why = probe_target(address, "the relay test")
    if address is None:
        return None, why
    ip = ipaddress.ip_address(address)
    if ip.is_loopback:
        return None, (f"the inventory address {ip} is loopback: a test from this machine "
                      "comes from inside mynetworks and proves nothing")
    return str(ip), None


@dataclass
class RelayTest:
    address: str
    port: int
    connected: bool = False
    error: str | None = None          # why the session could not be had (or broke)
    broke: bool = False               # connected, then lost before RCPT's reply
    source: str | None = None         # the controller's address, as the MTA sees it
    banner: str = ""
    steps: list[str] = field(default_factory=list)   # `RCPT TO:<x> -> 554 5.7.1 ...`
    mail_code: int | None = None
    rcpt_code: int | None = None
    rcpt_reply: str = ""

    @property
    def relayed(self) -> bool:
        return self.rcpt_code is not None and 200 <= self.rcpt_code < 300


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"[:MAX_REPLY]


def relay_test(address: str, port: int, *, helo: str, sender: str, recipient: str,
               timeout: float, allowed: str) -> RelayTest:
    """One SMTP session to `address` (which must be `allowed`, the host's inventory IP
    address): EHLO (HELO if refused), MAIL FROM, RCPT TO, RSET, QUIT."""
    if address != allowed or target(address)[0] != address:
        raise NotAllowed(f"relay test to {address}: only the host's inventory IP address "
                         f"({allowed}) may be tested")
    helo, sender, recipient = dns_name(helo), smtp_address(sender), smtp_address(recipient)
    out = RelayTest(address, int(port))
    smtp = smtplib.SMTP(local_hostname=helo, timeout=timeout)
    try:
        try:
            code, banner = smtp.connect(address, int(port))
        except (OSError, smtplib.SMTPException) as exc:
            out.error = f"no SMTP session with {address}:{port}: {exc}"[:MAX_REPLY]
            return out
        out.connected = True
        out.banner = _reply(code, banner)
        out.source = smtp.sock.getsockname()[0] if smtp.sock else None
        if code != 220:
            out.error = f"the MTA greets with {out.banner}"
            return out
        code, text = smtp.ehlo(helo)
        if not 200 <= code < 300:
            code, text = smtp.helo(helo)
        out.steps.append(f"EHLO {helo} -> {_reply(code, text).splitlines()[0]}")
        code, text = smtp.mail(sender)
        out.mail_code = code
        out.steps.append(f"MAIL FROM:<{sender}> -> {_reply(code, text)}")
        if 200 <= code < 300:
            code, text = smtp.rcpt(recipient)
            out.rcpt_code, out.rcpt_reply = code, _reply(code, text)
            out.steps.append(f"RCPT TO:<{recipient}> -> {out.rcpt_reply}")
        code, text = smtp.rset()
        out.steps.append(f"RSET -> {_reply(code, text)}")
        smtp.quit()
        out.steps.append("QUIT")
    except (OSError, smtplib.SMTPException) as exc:
        out.error = f"the session broke: {exc}"[:MAX_REPLY]
        out.broke = out.rcpt_code is None
    finally:
        try:
            smtp.close()
        except OSError:
            pass
    return out


def problems(test: RelayTest, sender: str, recipient: str) -> list[tuple[str, str]]:
    """(severity, text) of what is wrong: the MTA accepted a recipient outside its
    domains from a sender outside them (high); a session that broke before RCPT's reply
    is medium (nothing could be judged). A refusal anywhere (the greeting, MAIL FROM,
    RCPT TO) is no relay."""
    if test.relayed:
        return [("high", f"open relay: {test.address}:{test.port} accepted RCPT "
                 f"TO:<{recipient}> after MAIL FROM:<{sender}> from {test.source}: "
                 f"{test.rcpt_reply}")]
    if test.broke:
        return [("medium", f"{test.address}:{test.port}: {test.error}")]
    return []


__all__ = ["NotAllowed", "RelayTest", "problems", "relay_test", "target"]
