"""paramiko as a backend (the default): testinfra's ParamikoBackend with strict host
keys, TCP_NODELAY, keepalives, and a bound on everything that waits for the host."""

from __future__ import annotations

import heapq
import itertools
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import paramiko
from testinfra.backend import base as tbase
from testinfra.backend.paramiko import ParamikoBackend

from fleetcheck.connect import hostkeys
from fleetcheck.connect.common import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    KEEPALIVE_SECONDS,
    Become,
    checked_target,
    jump_hops,
)
from fleetcheck.connect.failures import CommandTimeout, Unreachable, classify


class _Watchdog:
    """One thread for the process that calls a function when a wait runs past its
    bound: paramiko's Channel.exec_command and get_pty wait for the server's reply
    with no timeout (a link cut after the request went out hung a run >300 s)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: list[list[Any]] = []   # [when, seq, callback or None]
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def bound(self, seconds: float, on_expiry: Callable[[], None]) -> Iterator[None]:
        entry = [time.monotonic() + seconds, next(self._seq), on_expiry]
        with self._cond:
            heapq.heappush(self._due, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fleetcheck-watchdog",
                                                daemon=True)
                self._thread.start()
            if self._due[0] is entry:  # sooner than what the thread waits for
                self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                entry[2] = None  # done in time: dropped when the thread next looks

    def _run(self) -> None:
        # Wakes when the soonest bound is due, not once per command: entries done in
        # time stay in the heap until then (a few seconds of commands).
        while True:
            with self._cond:
                while True:
                    while self._due and self._due[0][2] is None:
                        heapq.heappop(self._due)
                    if self._due and self._due[0][0] <= time.monotonic():
                        break
                    self._cond.wait(max(0.0, self._due[0][0] - time.monotonic())
                                    if self._due else None)
                callback = heapq.heappop(self._due)[2]
            try:
                callback()
            except Exception:  # noqa: BLE001 - closing a dead transport may fail
                pass


WATCHDOG = _Watchdog()


# paramiko's transport thread wakes at its socket's timeout, 0.1 s, to see whether it
# was closed and whether a keepalive is due: a thousand idle connections woke the
# controller 10,000 times a second. Once connected, twice a second does both (the
# keepalives are a second or more apart, close() does not wait for the wakeup, and
# data arriving wakes the thread at once).
TRANSPORT_POLL_SECONDS = 0.5


def _tcp(host: str, port: int, timeout: float) -> socket.socket:
    """A connected socket: TCP_NODELAY, and TCP_USER_TIMEOUT so data (a keepalive)
    left unacknowledged that long ends the connection: a dead link is an error,
    not a wait of the kernel's 15 minutes of retransmissions."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if hasattr(socket, "TCP_USER_TIMEOUT"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                        int(max(timeout, 10.0) * 1000))
    return sock


class FleetParamikoBackend(Become, ParamikoBackend):
    NAME = "paramiko"

    def __init__(self, address: str, *, port: int, user: str | None,
                 known_hosts: str | None = None, accept_new: bool = False,
                 key_filename: str | None = None, ssh_config: str | None = None,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
                 proxy_jump: str | None = None, **kwargs: Any):
        address, port, user = checked_target(
            address, port, user, kwargs.get("sudo_user"), {
                "ansible_ssh_private_key_file": key_filename,
                "fleetcheck_ssh_config": ssh_config, "fleetcheck_known_hosts": known_hosts,
            }, proxy_jump)
        super().__init__(address, ssh_config=ssh_config,
                         timeout=max(1, int(connect_timeout)), **kwargs)
        self.host = tbase.HostSpec(address, str(port), user, None)
        self.hostname = address
        self.proxy_jump = proxy_jump
        self._client: paramiko.SSHClient | None = None
        self._jump: paramiko.SSHClient | None = None
        self.known_hosts = known_hosts
        self.accept_new = accept_new
        self.key_filename = key_filename
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.last_executed: Any = None
        self.warnings = (hostkeys.config_warnings(ssh_config, known_hosts)
                         if ssh_config else [])

    # Not functools.cached_property (testinfra's choice): before Python 3.12 it holds
    # one lock for every instance while it computes, so the hosts gathered at once
    # (fleetcheck.gather) connected one after the other, and 10 unreachable hosts
    # cost 10 connect timeouts instead of one. FleetHost.lock guards each instance.
    @property
    def client(self) -> paramiko.SSHClient:
        if self._client is None:
            self._client = self._connect_client()
        return self._client

    @client.deleter
    def client(self) -> None:
        """testinfra's run() does ``del self.client`` to connect again: close, forget."""
        self.close()

    def _load_ssh_config(self, client, cfg, ssh_config, ssh_config_dir="~/.ssh") -> None:
        # testinfra reads the file (and its Includes, through here again) without the
        # host key directives: they cannot replace fleetcheck's policy.
        super()._load_ssh_config(client, cfg, hostkeys.StrictConfig(ssh_config),
                                 ssh_config_dir)

    def _connect_client(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        known = hostkeys.known_hosts_file(self.known_hosts)
        cfg: dict[str, Any] = {"hostname": self.host.name, "port": int(self.host.port),
                               "username": self.host.user}
        if self.ssh_config:
            parsed = hostkeys.PARSED.get(self.ssh_config, hostkeys.parse_ssh_config)
            self._load_ssh_config(client, cfg, parsed, os.path.dirname(self.ssh_config))
        client.set_missing_host_key_policy(hostkeys.policy(known, self.accept_new))
        hostkeys.add_host_keys(client, known, cfg["hostname"], cfg["port"])
        if self.key_filename:
            cfg["key_filename"] = self.key_filename
        if "sock" not in cfg and self.proxy_jump:
            cfg["sock"] = self._jump_channel(cfg)
        if "sock" not in cfg:  # not through a ProxyCommand or a jump host
            cfg["sock"] = _tcp(cfg["hostname"], cfg["port"], self.connect_timeout)
        try:
            client.connect(timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, **cfg)
        except BaseException:
            client.close()
            raise
        transport = client.get_transport()
        assert transport is not None
        transport.set_keepalive(max(1, min(KEEPALIVE_SECONDS, int(self.connect_timeout))))
        if isinstance(transport.sock, socket.socket):
            transport.sock.settimeout(TRANSPORT_POLL_SECONDS)
        return client

    def _jump_channel(self, cfg: dict[str, Any]) -> paramiko.Channel:
        """ProxyJump: SSH to the jump host (same known_hosts, key and host key policy;
        its user defaults to the target's), then a direct-tcpip channel to the target
        through it, used as the target connection's socket. Only the first hop."""
        user, host, port = jump_hops(self.proxy_jump)[0]
        jump = paramiko.SSHClient()
        known = hostkeys.known_hosts_file(self.known_hosts)
        hostkeys.add_host_keys(jump, known, host, port)
        jump.set_missing_host_key_policy(hostkeys.policy(known, self.accept_new))
        try:
            sock = _tcp(host, port, self.connect_timeout)
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
        transport.set_keepalive(KEEPALIVE_SECONDS)
        try:
            return transport.open_channel("direct-tcpip", (cfg["hostname"], cfg["port"]),
                                          ("127.0.0.1", 0), timeout=self.connect_timeout)
        except (paramiko.SSHException, OSError) as exc:
            raise Unreachable(f"jump host {self.proxy_jump} could not open a channel to "
                              f"{cfg['hostname']}:{cfg['port']}: {exc}") from None

    def run(self, command: str, *args: str, **kwargs: Any) -> tbase.CommandResult:
        """testinfra's run without its silent second try of a command that may have
        run: connect again only when the connection was found dead before the
        command went out."""
        command = self.get_command(command, *args)
        cmd = self.encode(command)
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            del self.client  # closed while idle (sshd restarted, NAT timeout)
        rc, stdout, stderr = self._exec_command(cmd)
        return self.result(rc, cmd, stdout, stderr)

    def _exec_command(self, command: bytes, timeout: float | None = None,
                      probe: bool = False) -> tuple[int, bytes, bytes]:
        """Run ``command`` on a new channel within ``timeout`` (the command timeout):
        the exec request (and pty request) bounded by the watchdog too, which closes
        the transport when no reply comes: the connection is then lost. Unless a
        ``probe``, the command is ``last_executed`` once its request goes out."""
        timeout = self.command_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        transport = self.client.get_transport()
        assert transport is not None
        wait = min(self.connect_timeout, timeout)
        try:
            chan = transport.open_session(timeout=wait)
        except paramiko.SSHException as exc:
            if "Timeout" in str(exc):
                transport.close()  # no answer: the link is gone
                raise Unreachable(f"no answer opening a channel within {wait:g}s") from None
            raise
        try:
            expired = threading.Event()

            def expire() -> None:
                expired.set()
                transport.close()

            with WATCHDOG.bound(wait, expire):
                try:
                    if self.get_pty:
                        chan.get_pty()
                    if not probe:
                        self.last_executed = command.decode(errors="surrogateescape")
                    chan.exec_command(command)
                except (paramiko.SSHException, EOFError, OSError):
                    if expired.is_set():
                        raise Unreachable(
                            f"no answer to the exec request within {wait:g}s") from None
                    raise
            chan.settimeout(max(0.0, deadline - time.monotonic()))
            return _collect(chan, max(0.0, deadline - time.monotonic()), command, timeout)
        finally:
            try:
                chan.close()
            except (paramiko.SSHException, EOFError, OSError):
                pass  # the connection is gone: what ran (or not) is said above

    def alive(self, timeout: float) -> bool:
        """Does the connection still answer a `true` within ``timeout`` seconds?"""
        transport = self._client.get_transport() if self._client is not None else None
        if transport is None or not transport.is_active():
            return False
        try:
            self._exec_command(b"true", timeout, probe=True)
            return True
        except (Unreachable, CommandTimeout, paramiko.SSHException, EOFError, OSError):
            return False

    def connect(self) -> None:
        """Connect now, outside run()."""
        self.client  # noqa: B018 - the property connects

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._jump is not None:
            self._jump.close()
            self._jump = None


def _collect(chan: paramiko.Channel, timeout: float, command: bytes,
             shown_timeout: float | None = None):
    """Read stdout and stderr together (no deadlock on a full stderr) until exit."""
    deadline = time.monotonic() + timeout
    out: list[bytes] = []
    err: list[bytes] = []
    # poll(), not select(): a controller with a thousand connections has descriptors
    # past select()'s 1024 ("filedescriptor out of range in select()")
    poller = select.poll()
    poller.register(chan, select.POLLIN)
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
                f"command timed out after {shown_timeout or timeout:g}s: "
                f"{command.decode(errors='replace')}")
        if chan.eof_received:
            chan.status_event.wait(min(remaining, 0.05))
        else:
            poller.poll(min(remaining, 0.05) * 1000)
    return chan.recv_exit_status(), b"".join(out), b"".join(err)
