"""Connections to hosts: testinfra backends, hardened for fleets.

testinfra does the sudo-less command building and the encoding. What a fleet needs
besides lives here:

- every inventory value that reaches a command line is checked again where the
  command line is built (fleetcheck.values: a host, a user, a path, never an option),
  and the command lines are argv lists with ``--`` before the positional words: the
  OpenSSH argv (:meth:`FleetSshBackend.ssh_argv`), ``su ... -- USER``, ``sudo -u USER
  -- ...``;
- host keys: strict unless ``--ssh-accept-new``, never weakened by an ssh_config
  (fleetcheck.hostkeys);
- a timeout on everything that waits for a host: connecting, opening a channel, the
  exec request (paramiko waits for its reply forever: :data:`WATCHDOG`), the command;
  keepalives and TCP_USER_TIMEOUT so a dead link ends the connection;
- paramiko: TCP_NODELAY on the socket (per command ~46 ms without it on these
  machines, ~2.5 ms with);
- each backend's ``last_executed``: what was executed for the last command, become
  wrapper included (the command log records it);
- a classification of connection failures into one short reason (refused, timeout,
  auth failed, host key unknown/changed) so a host is marked unreachable once.
"""

from __future__ import annotations

import heapq
import itertools
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import paramiko
import testinfra.host
from testinfra.backend import base as tbase
from testinfra.backend.local import LocalBackend
from testinfra.backend.paramiko import ParamikoBackend
from testinfra.backend.ssh import SshBackend

from fleetcheck import hostkeys, values

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_COMMAND_TIMEOUT = 60.0
KEEPALIVE_SECONDS = 5          # paramiko keepalive, OpenSSH ServerAliveInterval
SERVER_ALIVE_COUNT = 3         # OpenSSH: unanswered keepalives before it gives up

class Unreachable(Exception):
    """The host could not be reached; str() is the one-line reason."""


class CommandTimeout(Exception):
    """A command ran longer than its timeout."""


class _Become:
    """Privilege escalation by ``become_method``, the user checked where the command
    is built: ``sudo -n [-u USER] -- /bin/sh -c CMD`` (-n: fail at once, not wait,
    when sudo wants a password) or ``su -s /bin/sh -c CMD -- USER``. util-linux su
    (2.38) reads a first word ``-`` after ``--`` still as "login shell": a user is
    never '-' or an option (values.user). su asks for no password only when the
    login user is root (or PAM allows it): fleetcheck never holds a become password."""

    become_method: str = "sudo"

    def get_sudo_command(self, command: str, sudo_user: str | None) -> str:
        if self.become_method == "su":
            user = values.require(values.user, sudo_user or "root", "ansible_become_user")
            return self.quote("su -s /bin/sh -c %s -- %s", command, user)
        if sudo_user is None:
            return self.quote("sudo -n -- /bin/sh -c %s", command)
        user = values.require(values.user, sudo_user, "ansible_become_user")
        return self.quote("sudo -n -u %s -- /bin/sh -c %s", user, command)


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


def run_process(argv: list[str], timeout: float, shown: str) -> tuple[int, bytes, bytes]:
    """Run ``argv`` (no shell of ours) on the controller, ended with its whole process
    group after ``timeout`` seconds (CommandTimeout names ``shown``)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            env=environ_snapshot())
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise CommandTimeout(f"command timed out after {timeout:g}s: {shown}") from None
    return proc.returncode, stdout, stderr


class FleetLocalBackend(_Become, LocalBackend):
    """This machine: ``/bin/sh -c COMMAND`` with a timeout (testinfra's has none)."""

    NAME = "local"
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    last_executed: Any = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.sudo_user is not None:
            values.require(values.user, self.sudo_user, "ansible_become_user")

    def run_local(self, command: str, *args: str) -> tbase.CommandResult:
        command = self.quote(command, *args)
        argv = ["/bin/sh", "-c", command]
        self.last_executed = argv
        rc, stdout, stderr = run_process(argv, self.command_timeout, command)
        return self.result(rc, self.encode(command), stdout, stderr)


def _escape_tokens(word: str) -> str:
    """A word of an OpenSSH ProxyCommand, which the shell runs after ssh expanded
    its %-tokens: quoted for the shell, '%' doubled."""
    return shlex.quote(word.replace("%", "%%"))


class FleetSshBackend(_Become, SshBackend):
    """The OpenSSH binary, its argv built here as a list (no shell on the controller):

    ``ssh [-F CONFIG] -o <host key policy> -o BatchMode=yes ... [-l USER] -p PORT
    [-i KEY] [-o ProxyCommand=...] -- ADDRESS COMMAND``

    ``--`` ends ssh's options (OpenSSH 9.2: ``ssh -- -oProxyCommand=...`` is refused
    as "hostname contains invalid characters"); -l beats a User in the config. A
    jump host is a ProxyCommand built here rather than -J: OpenSSH 9.2 builds -J's
    command line with the -F path unquoted for the shell, and gives the jump host
    none of our -o options (its host key would be checked by the config's rules).
    No ControlMaster: a shared connection would skip this run's host key check."""

    NAME = "ssh"

    def __init__(self, address: str, *, port: int, user: str | None,
                 key_filename: str | None, ssh_config: str | None,
                 known_hosts: str | None, accept_new: bool, proxy_jump: str | None,
                 connect_timeout: float, command_timeout: float, **kwargs: Any):
        address, port, user = _checked(
            address, port, user, kwargs.get("sudo_user"), {
                "ansible_ssh_private_key_file": key_filename,
                "fleetcheck_ssh_config": ssh_config, "fleetcheck_known_hosts": known_hosts,
            }, proxy_jump)
        super().__init__(address, ssh_config=ssh_config, ssh_identity_file=key_filename,
                         timeout=max(1, int(connect_timeout)), controlpersist=0, **kwargs)
        self.host = tbase.HostSpec(address, str(port), user, None)
        self.hostname = address
        self.known_hosts = known_hosts
        self.accept_new = accept_new
        self.hops = jump_hops(proxy_jump) if proxy_jump else []
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.last_executed: Any = None
        self.warnings = (hostkeys.config_warnings(ssh_config, known_hosts)
                         if ssh_config else [])

    def _options(self, user: str | None, port: int) -> list[str]:
        argv = ["-F", self.ssh_config] if self.ssh_config else []
        argv += hostkeys.ssh_options(self.known_hosts, self.accept_new)
        alive = max(1, min(KEEPALIVE_SECONDS, int(self.connect_timeout)))
        for option in ("BatchMode=yes", f"ConnectTimeout={max(1, int(self.connect_timeout))}",
                       f"ServerAliveInterval={alive}", f"ServerAliveCountMax={SERVER_ALIVE_COUNT}",
                       "ControlMaster=no", "ControlPath=none"):
            argv += ["-o", option]
        if user:
            argv += ["-l", user]
        argv += ["-p", str(port)]
        if self.ssh_identity_file:  # IdentityFile expands %-tokens
            argv += ["-i", self.ssh_identity_file.replace("%", "%%")]
        return argv

    def _proxy_command(self, hops: list[tuple[str | None, str, int]]) -> str:
        """``ssh <the same options> -W [%h]:%p -- HOP`` for the last of ``hops``,
        through the ones before it."""
        user, host, port = hops[-1]
        words = ["ssh", *self._options(user or self.host.user, port)]
        if len(hops) > 1:
            words += ["-o", "ProxyCommand=" + self._proxy_command(hops[:-1])]
        return " ".join([*map(_escape_tokens, words), "-W", "'[%h]:%p'", "--",
                         _escape_tokens(host)])

    def ssh_argv(self, command: str) -> list[str]:
        argv = ["ssh", *self._options(self.host.user, int(self.host.port))]
        if self.hops:
            argv += ["-o", "ProxyCommand=" + self._proxy_command(self.hops)]
        return [*argv, "--", self.host.name, command]

    def run_ssh(self, command: str) -> tbase.CommandResult:
        argv = self.ssh_argv(command)
        self.last_executed = argv
        rc, stdout, stderr = run_process(argv, self.command_timeout, command)
        if rc == 255:
            raise Unreachable(classify_ssh_stderr(self.decode(stderr)))
        return self.result(rc, self.encode(command), stdout, stderr)

    def alive(self, timeout: float) -> bool:
        """Does the host answer a `true` within ``timeout`` seconds (a new connection)?"""
        try:
            return run_process(self.ssh_argv("true"), timeout, "true")[0] != 255
        except CommandTimeout:
            return False


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


class FleetParamikoBackend(_Become, ParamikoBackend):
    NAME = "paramiko"

    def __init__(self, address: str, *, port: int, user: str | None,
                 known_hosts: str | None = None, accept_new: bool = False,
                 key_filename: str | None = None, ssh_config: str | None = None,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
                 proxy_jump: str | None = None, **kwargs: Any):
        address, port, user = _checked(
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


def jump_hops(spec: str) -> list[tuple[str | None, str, int]]:
    """Every hop of ``[user@]host[:port][,...]``, each user and host checked."""
    hops = []
    for hop in spec.split(","):
        try:
            user, host, port = parse_jump(hop)
        except ValueError:
            raise values.UnsafeValue(f"fleetcheck_proxy_jump: bad port in "
                                     f"{values.shown(hop)}") from None
        if user is not None:
            values.require(values.user, user, "the jump host's user")
        hops.append((user, values.require(values.host, host, "the jump host"),
                     _port(port, "the jump host's port")))
    return hops


def _port(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) \
            or not str(value).isdigit() or not 0 < int(value) < 65536:
        raise values.UnsafeValue(f"{what} must be a port number, got {values.shown(value)}")
    return int(value)


def _collect(chan: paramiko.Channel, timeout: float, command: bytes,
             shown_timeout: float | None = None):
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
                f"command timed out after {shown_timeout or timeout:g}s: "
                f"{command.decode(errors='replace')}")
        if chan.eof_received:
            chan.status_event.wait(min(remaining, 0.05))
        else:
            select.select([chan], [], [], min(remaining, 0.05))
    return chan.recv_exit_status(), b"".join(out), b"".join(err)


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


def open_host(entry, *, accept_new: bool = False, connect_timeout: float,
              command_timeout: float, known_hosts: str | None,
              ssh_config: str | None, key_filename: str | None,
              proxy_jump: str | None = None) -> testinfra.host.Host:
    """Build (without connecting) a testinfra Host for an inventory HostEntry; raises
    Unreachable ("not connecting: ...") for a value that must not reach ssh or su,
    even though the inventory's load checked it already."""
    common = {"sudo": entry.become, "sudo_user": entry.become_user}
    try:
        if entry.connection == "local":
            backend: tbase.BaseBackend = FleetLocalBackend(**common)
            backend.command_timeout = command_timeout
        else:
            cls = FleetSshBackend if entry.connection == "ssh" else FleetParamikoBackend
            backend = cls(entry.address, port=entry.port, user=entry.user,
                          key_filename=key_filename, ssh_config=ssh_config,
                          known_hosts=known_hosts, accept_new=accept_new,
                          proxy_jump=proxy_jump, connect_timeout=connect_timeout,
                          command_timeout=command_timeout, **common)
    except values.UnsafeValue as exc:
        raise Unreachable(f"not connecting: {exc}") from None
    backend.become_method = entry.become_method
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host


def _checked(address: Any, port: Any, user: Any, sudo_user: Any, files: dict[str, Any],
             proxy_jump: str | None) -> tuple[str, int, str | None]:
    """What a remote backend is built from, checked where the command line is built
    (fleetcheck.values; UnsafeValue says which var): (address without [], port, user)."""
    address = values.require(values.host, address, "ansible_host")
    if user is not None:
        values.require(values.user, user, "ansible_user")
    if sudo_user is not None:
        values.require(values.user, sudo_user, "ansible_become_user")
    for var, path in files.items():
        if path is not None:
            values.require(values.local_path, path, var)
    if proxy_jump:
        jump_hops(proxy_jump)
    address = address[1:-1] if address.startswith("[") else address
    return address, _port(port, "ansible_port"), user
