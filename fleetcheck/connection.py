"""Connections to hosts: testinfra backends, hardened for fleets.

testinfra does the command building, sudo wrapping and encoding. What it does not do,
and a fleet needs, lives here:

- paramiko: strict host keys (RejectPolicy unless the user opts in), TCP_NODELAY on
  the socket (per command ~46 ms without it on these machines, ~2.5 ms with), a
  connect timeout and a timeout on every command;
- local and ssh (OpenSSH binary): a timeout on every command;
- a classification of connection failures into one short reason (refused, timeout,
  auth failed, host key unknown/changed) so a host is marked unreachable once.
"""

from __future__ import annotations

import os
import select
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import paramiko
import testinfra.host
from testinfra.backend import base as tbase
from testinfra.backend.local import LocalBackend
from testinfra.backend.paramiko import ParamikoBackend
from testinfra.backend.ssh import SshBackend

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_COMMAND_TIMEOUT = 60.0


class Unreachable(Exception):
    """The host could not be reached; str() is the one-line reason."""


class CommandTimeout(Exception):
    """A command ran longer than its timeout."""


class _Become:
    """Privilege escalation by ``become_method``: testinfra wraps a command in
    ``sudo [-u USER] /bin/sh -c CMD``; with ``su`` the same command goes through
    ``su -s /bin/sh -c CMD USER`` (quoted by testinfra's one quote()). su asks for no
    password only when the login user is root (or PAM allows it): fleetcheck never
    holds a become password."""

    become_method: str = "sudo"

    def get_sudo_command(self, command: str, sudo_user: str | None) -> str:
        if self.become_method == "su":
            return self.quote("su -s /bin/sh -c %s %s", command, sudo_user or "root")
        return super().get_sudo_command(command, sudo_user)


def environ_snapshot() -> dict[str, str]:
    """A copy of this process's environment, for a command started from a thread.

    Without an explicit env, the child of subprocess's vfork() execs with the
    process's `environ` array, which another thread may reallocate meanwhile: pytest's
    test thread sets PYTEST_CURRENT_TEST at every step while the gathering threads
    start commands, and one exec in a few dozen runs failed with EFAULT ("Bad
    address: '/bin/sh'"). A dict given as env is turned into the child's own array by
    the starting thread. Copying os.environ itself can race that thread (a key gone
    between listing and reading): copy again."""
    for _ in range(100):
        try:
            return dict(os.environ)
        except (KeyError, RuntimeError):
            continue
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


class _TimedLocalRun:
    """run_local with a timeout (testinfra's has none)."""

    command_timeout: float = DEFAULT_COMMAND_TIMEOUT

    def run_local(self, command: str, *args: str) -> tbase.CommandResult:
        command = self.quote(command, *args)
        cmd = self.encode(command)
        # Own process group, so a timeout ends the whole command, not just the shell.
        proc = subprocess.Popen(cmd, shell=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, env=environ_snapshot())
        try:
            stdout, stderr = proc.communicate(timeout=self.command_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise CommandTimeout(
                f"command timed out after {self.command_timeout:g}s: {command}"
            ) from None
        return self.result(proc.returncode, cmd, stdout, stderr)


class FleetLocalBackend(_Become, _TimedLocalRun, LocalBackend):
    NAME = "local"


class FleetSshBackend(_Become, _TimedLocalRun, SshBackend):
    """OpenSSH binary; strict host keys and BatchMode so it never prompts."""

    NAME = "ssh"

    def run_ssh(self, command: str) -> tbase.CommandResult:
        cmd, cmd_args = self._build_ssh_command(command)
        out = self.run_local(" ".join(cmd), *cmd_args)
        out.command = self.encode(command)
        if out.rc == 255:
            raise Unreachable(classify_ssh_stderr(out.stderr))
        return out


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Trust on first use: record the new key in the known_hosts file, then accept."""

    def __init__(self, known_hosts: str):
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):
        client.get_host_keys().add(hostname, key.get_name(), key)
        os.makedirs(os.path.dirname(os.path.abspath(self.known_hosts)), exist_ok=True)
        with open(self.known_hosts, "a", encoding="ascii") as fh:
            fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


class _ParsedFiles:
    """known_hosts and ssh_config, parsed once per process (per path, size and mtime)
    rather than once per host: a fleet's known_hosts holds a line per host, so
    parsing it for every connection grew with the square of the fleet (at 50 hosts,
    2500 keys decoded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: dict[tuple, Any] = {}

    def get(self, path: str, parse: Callable[[str], Any]) -> Any:
        try:
            st = os.stat(path)
            key = (path, parse, st.st_size, st.st_mtime_ns)
        except OSError:
            key = (path, parse, None, None)
        with self._lock:  # the first thread parses; the others wait for it
            if key not in self._parsed:
                self._parsed[key] = parse(path)
            return self._parsed[key]


def _parse_known_hosts(path: str) -> paramiko.HostKeys | None:
    if not os.path.exists(path):
        return None
    keys = paramiko.HostKeys()
    keys.load(path)
    return keys


def _parse_ssh_config(path: str) -> paramiko.SSHConfig:
    with open(path, encoding="utf-8") as fh:
        parsed = paramiko.SSHConfig()
        parsed.parse(fh)
    return parsed


_PARSED = _ParsedFiles()


def _add_host_keys(client: paramiko.SSHClient, known_hosts: str, hostname: str,
                   port: int) -> None:
    """Give `client` the known keys of the host it connects to, under the name
    paramiko looks them up by (`host`, or `[host]:port` off port 22)."""
    known = _PARSED.get(known_hosts, _parse_known_hosts)
    if known is None:
        return
    name = hostname if port == 22 else f"[{hostname}]:{port}"
    found = known.lookup(name)
    if found:
        mine = client.get_host_keys()
        for keytype in list(found.keys()):
            mine.add(name, keytype, found[keytype])


class FleetParamikoBackend(_Become, ParamikoBackend):
    NAME = "paramiko"

    def __init__(self, hostspec: str, *args: Any, known_hosts: str | None = None,
                 accept_new: bool = False, key_filename: str | None = None,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
                 proxy_jump: str | None = None, **kwargs: Any):
        super().__init__(hostspec, *args, timeout=max(1, int(connect_timeout)), **kwargs)
        self.proxy_jump = proxy_jump
        self._client: paramiko.SSHClient | None = None
        self._jump: paramiko.SSHClient | None = None
        self.known_hosts = known_hosts
        self.accept_new = accept_new
        self.key_filename = key_filename
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout

    # Not functools.cached_property (testinfra's choice): before Python 3.12 it holds
    # one lock for every instance while it computes, so the hosts gathered at once
    # (fleetcheck.gather) connected one after the other, and 10 unreachable hosts
    # cost 10 connect timeouts instead of one. FleetHost.lock guards each instance.
    @property
    def client(self) -> paramiko.SSHClient:
        if self._client is None:
            self._client = self._connect_client()
        return self._client

    def _connect_client(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        known = self.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
        client.set_missing_host_key_policy(
            _HostKeyPolicy(known) if self.accept_new else paramiko.RejectPolicy()
        )
        cfg: dict[str, Any] = {
            "hostname": self.host.name,
            "port": int(self.host.port) if self.host.port else 22,
            "username": self.host.user,
            "password": self.host.password,
        }
        if self.ssh_config:
            parsed = _PARSED.get(self.ssh_config, _parse_ssh_config)
            self._load_ssh_config(client, cfg, parsed, os.path.dirname(self.ssh_config))
        _add_host_keys(client, known, cfg["hostname"], cfg["port"])
        if self.key_filename:
            cfg["key_filename"] = self.key_filename
        if self.ssh_identity_file:
            cfg["key_filename"] = self.ssh_identity_file
        if "sock" not in cfg and self.proxy_jump:
            cfg["sock"] = self._jump_channel(cfg)
        if "sock" not in cfg:  # not through a ProxyCommand or a jump host
            sock = socket.create_connection((cfg["hostname"], cfg["port"]),
                                            timeout=self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            cfg["sock"] = sock
        client.connect(
            timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
            auth_timeout=self.connect_timeout, **cfg,
        )
        return client

    def _jump_channel(self, cfg: dict[str, Any]) -> paramiko.Channel:
        """ProxyJump: SSH to the jump host (same known_hosts, key and host key policy;
        its user defaults to the target's), then a direct-tcpip channel to the target
        through it, used as the target connection's socket."""
        user, host, port = parse_jump(self.proxy_jump)
        jump = paramiko.SSHClient()
        known = self.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
        _add_host_keys(jump, known, host, port)
        jump.set_missing_host_key_policy(
            _HostKeyPolicy(known) if self.accept_new else paramiko.RejectPolicy())
        sock = socket.create_connection((host, port), timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            jump.connect(hostname=host, port=port, username=user or cfg.get("username"),
                         key_filename=cfg.get("key_filename"), sock=sock,
                         timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                         auth_timeout=self.connect_timeout)
        except Exception as exc:
            jump.close()
            raise Unreachable(f"jump host {self.proxy_jump}: "
                              f"{classify(exc, self.connect_timeout)}") from None
        self._jump = jump
        transport = jump.get_transport()
        assert transport is not None
        try:
            return transport.open_channel("direct-tcpip", (cfg["hostname"], cfg["port"]),
                                          ("127.0.0.1", 0), timeout=self.connect_timeout)
        except (paramiko.SSHException, OSError) as exc:
            raise Unreachable(f"jump host {self.proxy_jump} could not open a channel to "
                              f"{cfg['hostname']}:{cfg['port']}: {exc}") from None

    def _exec_command(self, command: bytes) -> tuple[int, bytes, bytes]:
        transport = self.client.get_transport()
        assert transport is not None
        chan = transport.open_session(timeout=self.connect_timeout)
        try:
            if self.get_pty:
                chan.get_pty()
            chan.exec_command(command)
            return _collect(chan, self.command_timeout, command)
        finally:
            chan.close()

    def connect(self) -> None:
        """Connect now, outside testinfra's run(), which retries a failed connect."""
        self.client  # noqa: B018 - the cached property connects

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._jump is not None:
            self._jump.close()
            self._jump = None


def parse_jump(spec: str) -> tuple[str | None, str, int]:
    """``[user@]host[:port]`` -> (user, host, port); only the first hop of a list."""
    spec = spec.split(",", 1)[0].strip()
    if spec.startswith("ssh://"):
        spec = spec[len("ssh://"):]
    user, _, hostport = spec.rpartition("@")
    host, port = hostport, 22
    if hostport.startswith("["):  # [v6]:port
        host, _, rest = hostport[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 22
    elif hostport.count(":") == 1:
        host, port_text = hostport.split(":")
        port = int(port_text)
    return (user or None), host, port


def _collect(chan: paramiko.Channel, timeout: float, command: bytes):
    """Read stdout and stderr together (no deadlock on a full stderr) until exit."""
    deadline = time.monotonic() + timeout
    out: list[bytes] = []
    err: list[bytes] = []
    while True:
        while chan.recv_ready():
            out.append(chan.recv(65536))
        while chan.recv_stderr_ready():
            err.append(chan.recv_stderr(65536))
        if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
            if chan.eof_received or chan.closed:
                break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CommandTimeout(
                f"command timed out after {timeout:g}s: {command.decode(errors='replace')}"
            )
        if chan.eof_received:
            chan.status_event.wait(min(remaining, 0.05))
        else:
            select.select([chan], [], [], min(remaining, 0.05))
    return chan.recv_exit_status(), b"".join(out), b"".join(err)


def classify(exc: BaseException, timeout: float) -> str:
    """One short, actionable reason for a failed connection."""
    if isinstance(exc, Unreachable):
        return str(exc)
    if isinstance(exc, paramiko.BadHostKeyException):
        return (f"host key CHANGED for {exc.hostname} (possible man-in-the-middle): "
                "check it and fix the known_hosts entry")
    if isinstance(exc, paramiko.AuthenticationException):
        return f"authentication failed: {exc}"
    if isinstance(exc, paramiko.SSHException) and (
            "banner" in str(exc) or "No existing session" in str(exc)):
        # paramiko says one or the other when the SSH handshake never completes
        return f"connect timeout after {timeout:g}s: no SSH handshake (is sshd answering?)"
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return ("host key unknown: add it to known_hosts (inventory var "
                "fleetcheck_known_hosts or ~/.ssh/known_hosts) or run with --ssh-accept-new")
    if isinstance(exc, (ConnectionRefusedError, paramiko.ssh_exception.NoValidConnectionsError)):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"connect timeout after {timeout:g}s"
    if isinstance(exc, socket.gaierror):
        return f"name does not resolve: {exc.strerror}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"{type(exc).__name__}: {exc}".strip()


def classify_ssh_stderr(stderr: str) -> str:
    text = stderr.strip()
    low = text.lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("timed out", "connect timeout"),
        ("host key verification failed", "host key unknown or changed: check known_hosts "
                                         "or run with --ssh-accept-new"),
        ("permission denied", "authentication failed"),
        ("could not resolve", "name does not resolve"),
    ):
        if needle in low:
            return reason
    return text.splitlines()[-1] if text else "ssh failed (exit 255)"


def open_host(entry, *, accept_new: bool = False, connect_timeout: float,
              command_timeout: float, known_hosts: str | None,
              ssh_config: str | None, key_filename: str | None,
              proxy_jump: str | None = None) -> testinfra.host.Host:
    """Build (without connecting) a testinfra Host for an inventory HostEntry."""
    common = {"sudo": entry.become, "sudo_user": entry.become_user}
    if entry.connection == "local":
        backend: tbase.BaseBackend = FleetLocalBackend(**common)
        backend.command_timeout = command_timeout
    else:
        spec = entry.address
        if entry.user:
            spec = f"{entry.user}@{spec}"
        spec = f"{spec}:{entry.port}"
        if entry.connection == "ssh":
            extra = ["-o BatchMode=yes", "-o StrictHostKeyChecking=" +
                     ("accept-new" if accept_new else "yes")]
            if known_hosts:
                extra.append("-o UserKnownHostsFile=" + shlex.quote(known_hosts))
            if proxy_jump:
                extra.append("-o ProxyJump=" + shlex.quote(proxy_jump))
            backend = FleetSshBackend(
                spec, ssh_config=ssh_config, ssh_identity_file=key_filename,
                timeout=max(1, int(connect_timeout)), ssh_extra_args=" ".join(extra),
                controlpersist=0, **common,
            )
            backend.command_timeout = command_timeout
        else:
            backend = FleetParamikoBackend(
                spec, ssh_config=ssh_config, known_hosts=known_hosts,
                accept_new=accept_new, key_filename=key_filename,
                connect_timeout=connect_timeout, command_timeout=command_timeout,
                proxy_jump=proxy_jump, **common,
            )
    backend.become_method = entry.become_method
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host

