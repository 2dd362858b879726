"""The anonymous login test, as an FTP client sees the server: ftplib to the host's
inventory address, never anywhere else.

Not a fact of a host (nothing runs on it): the controller opens the FTP session
itself, only to the IP address the inventory gives the host (no DNS lookup), with a
timeout on the connection and on every reply. It reads the greeting, says
`USER anonymous`, `PASS` with a harmless address (a `.invalid` domain) when asked for
one, then `QUIT`. Nothing else: no PASV, no LIST, no STOR, no MKD. Whether an
anonymous user may upload or make directories is judged from vsftpd.conf, never by
writing on the server. The judging is pure (:func:`problems`).
"""

from __future__ import annotations

import ftplib
from dataclasses import dataclass, field

from fleetcheck.probes import NotAllowed
from fleetcheck.probes import target as probe_target

MAX_REPLY = 300


def target(address: str | None) -> tuple[str | None, str | None]:
    """(the IP address to test, None) or (None, why the test does not apply)."""
    return probe_target(address, "the login test")


@dataclass
class LoginTest:
    address: str
    port: int
    connected: bool = False
    error: str | None = None        # why there was no session, or how it broke
    banner: str = ""
    steps: list[str] = field(default_factory=list)   # `USER anonymous -> 331 ...`
    accepted: bool = False          # 230 to USER or PASS: an anonymous session
    refused: bool = False           # a 4xx/5xx reply to USER or PASS

    @property
    def judged(self) -> bool:
        return self.accepted or self.refused


def _reply(text: str) -> str:
    return " ".join(str(text).split())[:MAX_REPLY]


def _code(text: str) -> int:
    head = str(text)[:3]
    return int(head) if head.isdigit() else 0


def login_test(address: str, port: int, *, password: str, timeout: float,
               allowed: str) -> LoginTest:
    """One FTP session to `address` (which must be `allowed`, the host's inventory IP
    address): the greeting, USER anonymous, PASS (when asked), QUIT."""
    if address != allowed or target(address)[0] != address:
        raise NotAllowed(f"login test to {address}: only the host's inventory IP address "
                         f"({allowed}) may be tested")
    out = LoginTest(address, int(port))
    ftp = ftplib.FTP(timeout=timeout)
    try:
        try:
            out.banner = _reply(ftp.connect(address, int(port), timeout=timeout))
        except (OSError, EOFError, ftplib.Error) as exc:
            out.error = f"no FTP session with {address}:{port}: {exc}"[:MAX_REPLY]
            return out
        out.connected = True
        for command in ("USER anonymous", f"PASS {password}"):
            try:
                reply = ftp.sendcmd(command)
            except ftplib.error_perm as exc:       # 5xx
                reply = str(exc)
            except ftplib.error_temp as exc:       # 4xx
                reply = str(exc)
            shown = "PASS <harmless address>" if command.startswith("PASS") else command
            out.steps.append(f"{shown} -> {_reply(reply)}")
            code = _code(reply)
            if code == 230:
                out.accepted = True
                break
            if code >= 400:
                out.refused = True
                break
            if code != 331 and code != 332:
                out.error = f"an unexpected reply to {shown}: {_reply(reply)}"
                break
        try:
            out.steps.append(f"QUIT -> {_reply(ftp.quit())}")
        except (OSError, EOFError, ftplib.Error):
            out.steps.append("QUIT -> (no reply)")
    except (OSError, EOFError, ftplib.Error) as exc:
        out.error = f"the session broke: {exc}"[:MAX_REPLY]
    finally:
        try:
            ftp.close()
        except OSError:
            pass
    return out


def problems(test: LoginTest, allowed: bool) -> list[tuple[str, str]]:
    """(severity, text): an anonymous login accepted where it is not allowed is high;
    one refused where it is declared allowed is medium; a session that broke before
    USER/PASS could be judged is medium."""
    where = f"{test.address}:{test.port}"
    if test.accepted and not allowed:
        return [("high", f"anonymous FTP login accepted by {where}: "
                 f"{'; '.join(test.steps[:2])}")]
    if test.refused and allowed:
        return [("medium", f"anonymous FTP login refused by {where} (declared allowed): "
                 f"{'; '.join(test.steps[:2])}")]
    if not test.judged:
        return [("medium", f"{where}: the login test could not be judged: "
                 f"{test.error or 'no reply to USER/PASS'}")]
    return []


__all__ = ["LoginTest", "NotAllowed", "login_test", "problems", "target"]
