"""Why a host cannot be reached, in one short line: the exceptions of the connecting
stage and the classification of connection failures (refused, timeout, auth failed,
host key unknown or changed) so a host is marked unreachable once."""

from __future__ import annotations

import re
import socket

import paramiko

from fleetcheck import values


class Unreachable(Exception):
    """The host could not be reached; str() is the one-line reason."""


class CommandTimeout(Exception):
    """A command ran longer than its timeout."""


def classify(exc: BaseException, timeout: float) -> str:
    """One short, actionable reason for a failed connection."""
    if isinstance(exc, Unreachable):
        return str(exc)
    if isinstance(exc, values.UnsafeValue):
        return f"not connecting: {exc}"
    if isinstance(exc, paramiko.BadHostKeyException):
        return changed_key(exc.hostname)
    if isinstance(exc, paramiko.AuthenticationException):
        return f"authentication failed: {exc}"
    if isinstance(exc, paramiko.SSHException) and (
            "banner" in str(exc) or "No existing session" in str(exc)):
        # paramiko says one or the other when the SSH handshake never completes
        return f"connect timeout after {timeout:g}s: no SSH handshake (is sshd answering?)"
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return UNKNOWN_KEY
    if isinstance(exc, (ConnectionRefusedError, paramiko.ssh_exception.NoValidConnectionsError)):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"connect timeout after {timeout:g}s"
    if isinstance(exc, socket.gaierror):
        return f"name does not resolve: {exc.strerror}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, EOFError):
        return "the connection closed"
    return f"{type(exc).__name__}: {exc}".strip()


UNKNOWN_KEY = ("host key unknown: add it to known_hosts (inventory var "
               "fleetcheck_known_hosts or ~/.ssh/known_hosts) or run with --ssh-accept-new")


def changed_key(host: str) -> str:
    return (f"host key CHANGED for {host} (possible man-in-the-middle): check it and fix "
            "the known_hosts entry")


def classify_ssh_stderr(stderr: str) -> str:
    """One reason from what OpenSSH printed before exiting 255 (texts as OpenSSH 9.2
    prints them: tests/unit/fixtures/openssh/)."""
    text = stderr.strip()
    low = text.lower()
    if "remote host identification has changed" in low:
        found = re.search(r"Host key for (\S+) has changed", text)
        return changed_key(found.group(1) if found else "the host")
    for needle, reason in (
        ("host key verification failed", UNKNOWN_KEY),
        ("connection refused", "connection refused"),
        ("not responding", "no answer from the server (keepalive)"),
        ("timed out", "connect timeout"),
        ("permission denied", "authentication failed"),
        ("could not resolve", "name does not resolve"),
    ):
        if needle in low:
            return reason
    return text.splitlines()[-1] if text else "ssh failed (exit 255)"
