"""Hosts for one worker: one connection each, reused by every check, and a fact cache.

A host that cannot be reached is found unreachable once; every later check of it
fails at once with the same reason instead of waiting for its own timeout.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, NoReturn

import paramiko
import testinfra.host

from fleetcheck import facts as fact_registry
from fleetcheck import values
from fleetcheck.connect import batch, hostkeys
from fleetcheck.connect.backends import open_host
from fleetcheck.connect.common import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    environ_snapshot,
)
from fleetcheck.connect.failures import CommandTimeout, Unreachable, classify
from fleetcheck.facts.base import Command, FactError, default_from_result
from fleetcheck.inventory.hostvars import to_timeout

# Inventory vars that name files; relative paths are taken from the inventory file's
# directory, as an admin writing `../keys/id_ed25519` next to the inventory expects.
PATH_VARS = ("fleetcheck_known_hosts", "fleetcheck_ssh_config",
             "ansible_ssh_private_key_file", "ansible_private_key_file")


@dataclass(frozen=True)
class ConnectOptions:
    accept_new: bool = False
    connect_timeout: float | None = None   # from the command line: beats inventory vars


@dataclass
class CommandResult:
    command: str
    rc: int | None           # None: no exit status (timed out, connection lost, batch cut)
    stdout: str
    stderr: str
    duration: float | None   # None: one of a batch (fleetcheck.connect.batch), timed as a whole
    # What ran, become wrapper included (connection.py: an argv list on the controller,
    # the exec request's string on a paramiko channel); None: nothing was sent.
    executed: list[str] | str | None = None
    error: str | None = None  # why there is no exit status


def _timeout(value: Any, var: str, default: float) -> float:
    """A timeout var as seconds, or ValueError naming the var (one line). Null is
    "not set", as at the inventory's load (fleetcheck.inventory.hostvars)."""
    if value is None:
        return default
    try:
        return to_timeout(value)
    except ValueError as exc:
        raise ValueError(f"{var}: {exc}") from None


def text(data: bytes) -> str:
    """A command's output as text: UTF-8, any other byte shown as `\\xNN` (a
    latin-1 file name, a binary file) rather than a UnicodeDecodeError; the df
    fact escapes its bytes the same way."""
    return data.decode("utf-8", "backslashreplace")


class FleetHost:
    """One inventory host as the checks see it: name, vars, facts.

    Thread-safe: the gathering threads (fleetcheck.gather) and the test thread share
    it. `lock` (re-entrant) serializes its connection, its commands and its fact
    cache, so two threads never race to run the same command.
    """

    def __init__(self, entry, options: ConnectOptions,
                 command_log: Callable[..., None] | None = None):
        self.entry = entry
        self.name: str = entry.name
        self.vars: dict[str, Any] = entry.vars
        self.options = options
        self.command_timeout = _timeout(self.vars.get("fleetcheck_command_timeout"),
                                        "fleetcheck_command_timeout", DEFAULT_COMMAND_TIMEOUT)
        self.connect_timeout = (
            _timeout(options.connect_timeout, "--connect-timeout", DEFAULT_CONNECT_TIMEOUT)
            if options.connect_timeout is not None else
            _timeout(self.vars.get("fleetcheck_connect_timeout"), "fleetcheck_connect_timeout",
                     DEFAULT_CONNECT_TIMEOUT))
        self.facts = FactCache(self)
        self._testinfra = None
        self._api: TestinfraApi | None = None
        self.unreachable_reason: str | None = None
        self.commands_run = 0
        self.lock = threading.RLock()
        self.command_log = command_log

    def path_var(self, name: str) -> str | None:
        return self._path(self.vars.get(name))

    def _path(self, value) -> str | None:
        if not value:
            return None
        value = os.path.expanduser(str(value))
        source = getattr(self.entry, "source", None)
        # Relative to the inventory file; an inventory from a URL has no directory,
        # its relative paths are taken from the current directory.
        if not os.path.isabs(value) and source and "://" not in source:
            value = os.path.join(os.path.dirname(os.path.abspath(self.entry.source)), value)
        return value

    @property
    def key_file(self) -> str | None:
        """The private key Ansible would use (HostEntry.key_file: ansible_ssh_private_
        key_file, ansible_private_key_file, ansible.cfg's), relative to the inventory."""
        return self._path(self.entry.key_file)

    @property
    def warnings(self) -> list[str]:
        """What the user should hear about how this host is reached, one line each:
        the directives of its ssh_config that fleetcheck overrides (host key policy,
        fleetcheck.connect.hostkeys). Read from the vars and the file, without connecting;
        the same file gives the same lines for every host that names it."""
        config = self.path_var("fleetcheck_ssh_config")
        if config is None or self.entry.connection == "local":
            return []
        return hostkeys.config_warnings(config, self.path_var("fleetcheck_known_hosts"))

    def describe(self) -> dict[str, Any]:
        """How this host is reached, for the run's metadata: never a secret (no
        password var is read here), only names, paths and numbers."""
        entry = self.entry
        view: dict[str, Any] = {"connection": entry.connection}
        if entry.connection != "local":
            view.update(address=entry.address, port=entry.port, user=entry.user,
                        key_file=self.key_file, proxy_jump=entry.proxy_jump)
        view.update(become=entry.become)
        if entry.become:
            view.update(become_method=entry.become_method,
                        become_user=entry.become_user or "root")
        view.update(command_timeout=self.command_timeout,
                    connect_timeout=self.connect_timeout)
        return {k: v for k, v in view.items() if v is not None}

    def connect(self):
        """The testinfra Host, connected; raises Unreachable (once found, always)."""
        # Without the lock once decided: a gathering thread holds it for the whole of
        # each command it runs, and a check must not wait for that to learn this.
        if self._testinfra is not None:
            return self._testinfra
        if self.unreachable_reason is not None:
            raise Unreachable(self.unreachable_reason)
        refused = self.entry.refused
        if refused:
            self.unreachable_reason = refused
            raise Unreachable(refused)
        with _waiting_for(self.lock):
            return self._connect()

    def _connect(self):
        if self.unreachable_reason is not None:
            raise Unreachable(self.unreachable_reason)
        if self._testinfra is None:
            host = None
            try:
                self._check_files()
                host = open_host(
                    self.entry, accept_new=self.options.accept_new,
                    connect_timeout=self.connect_timeout,
                    command_timeout=self.command_timeout,
                    known_hosts=self.path_var("fleetcheck_known_hosts"),
                    ssh_config=self.path_var("fleetcheck_ssh_config"),
                    key_filename=self.key_file,
                    proxy_jump=self.entry.proxy_jump,
                )
                connect = getattr(host.backend, "connect", None)
                if connect is not None:
                    connect()
                result = host.run("true")
                if result.rc != 0:
                    raise Unreachable(
                        f"`true` exited {result.rc}: {result.stderr.strip()[:200]}")
            except Exception as exc:  # noqa: BLE001 - every failure becomes a reason
                self.unreachable_reason = classify(exc, self.connect_timeout)
                if host is not None:
                    _close(host)
                raise Unreachable(self.unreachable_reason) from None
            self._testinfra = host
        return self._testinfra

    def _check_files(self) -> None:
        """The ssh_config and known_hosts the inventory names: see hostkeys.trusted_file
        (a key file is ssh's and paramiko's to check)."""
        source = getattr(self.entry, "source", None)
        try:
            owner = os.stat(source).st_uid if source and "://" not in source else None
        except OSError:
            owner = None
        try:
            for var in ("fleetcheck_ssh_config", "fleetcheck_known_hosts"):
                path = self.path_var(var)
                if path is not None:
                    hostkeys.trusted_file(path, var, owner)
        except values.UnsafeValue as exc:
            raise Unreachable(f"not connecting: {exc}") from None

    @property
    def testinfra(self):
        return self.connect()

    def _send(self, rendered: str):
        """(testinfra's result, what was executed) of one remote command line, the
        host's lock held by the caller. A broken connection marks the host lost (its
        remaining checks report unreachable at once). After a CommandTimeout on a
        remote host the connection is probed: a stuck channel after a cut link looks
        like a slow command, and a host that does not answer a `true` within
        min(connect timeout, 10 s) is lost too; otherwise the timeout is the
        caller's to handle. Either exception carries ``executed``: what was sent."""
        host = self.connect()
        backend = host.backend
        backend.last_executed = None
        try:
            try:
                res = host.run(rendered)
            except CommandTimeout:
                alive = getattr(backend, "alive", None)
                if alive is not None and not alive(min(self.connect_timeout, 10.0)):
                    self._lost(f"no answer after a command timed out "
                               f"({self.command_timeout:g}s)")
                raise
            except (Unreachable, paramiko.SSHException, EOFError, OSError) as exc:
                self._lost(classify(exc, self.connect_timeout))
            if res.rc == -1 and self.entry.connection != "local":
                self._lost("the channel closed without an exit status")
        except (CommandTimeout, Unreachable) as exc:
            exc.executed = backend.last_executed
            raise
        return res, backend.last_executed

    def _log(self, result: CommandResult, **batch_info: Any) -> None:
        if self.command_log is not None:
            self.command_log(self.name, "host", result, **batch_info)

    def run(self, command: Command | str, *args: Any,
            ok: tuple[int, ...] | None = None, **kwargs: Any):
        """Run a Command (quoted in one place) with this host's timeout: a CommandResult.
        A timeout is a FactError; a lost connection Unreachable ("connection lost:
        ..."), also when the connection stopped answering during the command.

        A string is testinfra's ``host.run("ls -l -- %s", path)``: the same quoting,
        the same connection, timeout and command log, and testinfra's result back
        (``rc``, ``stdout``, ``succeeded``, ...), so a testinfra test runs unchanged."""
        if isinstance(command, str):
            if kwargs:
                raise TypeError(f"host.run: unexpected arguments {sorted(kwargs)}")
            for arg in args:  # testinfra quotes strings only (shlex.quote): the same
                if not isinstance(arg, str):
                    raise TypeError(f"expected string or bytes-like object, got "
                                    f"'{type(arg).__name__}'")
            return self._send_logged(Command(command, *args))[0]
        if args or kwargs:
            raise TypeError("host.run(Command) takes no further arguments but ok=")
        res, result = self._send_logged(command)
        if ok is not None and result.rc not in ok:
            raise FactError(f"`{result.command}` exited {result.rc}: "
                            f"{result.stderr.strip()[:300]}")
        return result

    def _send_logged(self, command: Command):
        """(testinfra's result, our CommandResult) of one command, logged."""
        rendered = command.render()
        with self.lock:
            start = time.monotonic()
            try:
                res, executed = self._send(rendered)
            except (CommandTimeout, Unreachable) as exc:
                executed = getattr(exc, "executed", None)
                if executed is not None:  # sent: it is in the log, without an exit status
                    self.commands_run += 1
                    self._log(CommandResult(rendered, None, "", "", time.monotonic() - start,
                                            executed, str(exc)))
                if isinstance(exc, CommandTimeout):
                    raise FactError(str(exc)) from None
                raise
            self.commands_run += 1
        result = CommandResult(rendered, res.rc, text(res.stdout_bytes),
                               text(res.stderr_bytes), time.monotonic() - start, executed)
        self._log(result)
        return res, result

    # -- testinfra's host API ----------------------------------------------------------

    @property
    def api(self) -> "TestinfraApi":
        """testinfra's Host over this host's connection (connects on first use)."""
        connected = self.connect()
        if self._api is None or self._api.backend is not connected.backend:
            self._api = TestinfraApi(self, connected.backend)
        return self._api

    def __getattr__(self, name: str):
        """testinfra's host API on a FleetHost: ``host.package("nginx")``,
        ``host.file(...)``, ``host.check_output(...)``, ``host.sudo()``, ... (modules
        and methods of testinfra's Host), over the same connection as the checks."""
        if name.startswith("_") or name in _OWN:
            raise AttributeError(name)
        return getattr(self.api, name)

    def run_batch(self, commands: list[Command]) -> list[CommandResult] | None:
        """Run `commands` in one remote command (fleetcheck.connect.batch); each one's result,
        or None when the batch did not come back whole (timed out, broke off): the
        caller then runs them one by one, each with its own timeout. A lost
        connection is Unreachable, as in run(). The log has a line per command; the
        first holds what was executed for the whole batch."""
        rendered = [c.render() for c in commands]
        mark = batch.new_mark()
        parts = None
        lost: Unreachable | None = None
        error = None
        with self.lock:
            start = time.monotonic()
            try:
                res, executed = self._send(batch.script(rendered, mark))
                parts = batch.split(text(res.stdout_bytes), text(res.stderr_bytes), mark,
                                    len(rendered))
                if parts is None:
                    error = "the batch did not come back whole"
            except (CommandTimeout, Unreachable) as exc:
                executed = getattr(exc, "executed", None)
                error = str(exc)
                lost = exc if isinstance(exc, Unreachable) else None
                if lost is not None and executed is None:
                    raise  # nothing was sent
            self.commands_run += len(rendered)
        seconds = time.monotonic() - start
        # what came back, or (broken off) each command without an exit status
        results = [CommandResult(cmd, rc, out, err, None, executed if i == 0 else None,
                                 None if parts is not None else error)
                   for i, (cmd, (rc, out, err))
                   in enumerate(zip(rendered, parts or [(None, "", "")] * len(rendered)))]
        for i, result in enumerate(results):
            self._log(result, batch=(len(results), seconds, parts is not None, mark, i))
        if lost is not None:
            raise lost
        return results if parts is not None else None

    def run_on_controller(self, command: Command) -> CommandResult:
        """Run a probe of this host from the controller (smbclient -L, showmount -e):
        a fact module with RUNS_ON = "controller" builds it from the host's vars (its
        address); it runs here with this host's command timeout."""
        rendered = command.render()
        argv = ["/bin/sh", "-c", rendered]
        start = time.monotonic()
        try:
            res = subprocess.run(argv, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, errors="replace",
                                 timeout=self.command_timeout,
                                 env=dict(environ_snapshot(), LC_ALL="C", LANG="C"))
        except subprocess.TimeoutExpired:
            message = (f"`{rendered}` (on the controller) timed out after "
                       f"{self.command_timeout:g}s")
            if self.command_log is not None:
                self.command_log(self.name, "controller", CommandResult(
                    rendered, None, "", "", time.monotonic() - start, argv, message))
            raise FactError(message) from None
        result = CommandResult(rendered, res.returncode, res.stdout, res.stderr,
                               time.monotonic() - start, argv)
        if self.command_log is not None:
            self.command_log(self.name, "controller", result)
        return result

    def _lost(self, why: str) -> NoReturn:
        self.unreachable_reason = f"connection lost: {why}"
        self.close()
        raise Unreachable(self.unreachable_reason)

    def close(self, timeout: float = -1) -> bool:
        """Close the connection; False when a thread kept the host's lock for
        `timeout` seconds (a command in flight after Ctrl-C: the process's exit ends it)."""
        if not self.lock.acquire(timeout=timeout):
            return False
        try:
            if self._testinfra is not None:
                _close(self._testinfra)
                self._testinfra = None
        finally:
            self.lock.release()
        return True


def _close(host) -> None:
    close = getattr(host.backend, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail
            pass


# Attributes of FleetHost itself, never looked up in testinfra's Host (set in
# __init__ or properties: a missing one during construction must not recurse).
_OWN = frozenset({"entry", "name", "vars", "options", "command_timeout", "connect_timeout",
                  "facts", "unreachable_reason", "commands_run", "lock", "command_log",
                  "api", "testinfra"})


class TestinfraApi(testinfra.host.Host):
    """testinfra's Host whose commands go through the FleetHost: one connection, its
    lock, timeout, lost-connection detection and command log. Its modules
    (``package``, ``service``, ``file``, ...) bind to it, so theirs do too."""

    def __init__(self, fleet_host: FleetHost, backend):
        super().__init__(backend)
        self._fleet = fleet_host

    def __repr__(self) -> str:
        return f"<fleetcheck host {self._fleet.name}>"

    def run(self, command: str, *args: str, **kwargs: Any):
        # the backend's own sudo wrapping (host.sudo()) is applied when it is sent
        return self._fleet.run(command, *args, **kwargs)


# Seconds a thread spent waiting for others (a host's lock held by a gathering
# thread, a batch it had to send first) since it last asked: a check's duration in the
# reports is its own cost, these waits taken out (fleetcheck.plugin).
_WAITED = threading.local()


def _add_wait(seconds: float) -> None:
    _WAITED.seconds = getattr(_WAITED, "seconds", 0.0) + seconds


def take_waited() -> float:
    """This thread's waiting seconds since the last call (and start again from 0)."""
    seconds = getattr(_WAITED, "seconds", 0.0)
    _WAITED.seconds = 0.0
    return seconds


@contextlib.contextmanager
def _waiting_for(lock):
    """Hold `lock`; the time spent getting it counts as waiting."""
    t0 = time.monotonic()
    with lock:
        _add_wait(time.monotonic() - t0)
        yield


class FactCache:
    """Parsed facts of one host, each gathered once per run (per command line)."""

    def __init__(self, host: FleetHost):
        self.host = host
        self._values: dict[tuple[str, str], Any] = {}
        # (fact, params) -> its key above: a check over 200 sysctl items asks for the
        # same fact 200 times, and building its command each time costs more than
        # the check itself.
        self._keys: dict[tuple, tuple[str, str]] = {}
        self.raw: dict[str, CommandResult] = {}
        self._on_miss: tuple[int, Callable[[], None]] | None = None

    def on_miss(self, flush: Callable[[], None] | None) -> None:
        """`flush` runs before this thread reads a fact that is not in: the gathering
        thread sends its pending batch (fleetcheck.gather), which may hold that fact.
        None: no more."""
        self._on_miss = (threading.get_ident(), flush) if flush is not None else None

    def get(self, fact: str, /, **params: Any):
        """The parsed fact; `params` select what to read (a path, a service name, ...)."""
        # A fact already in is read without the host's lock, which a gathering thread
        # holds while it runs the host's next command (dict reads are atomic).
        memo = _memo(fact, params)
        value = self._values.get(self._keys.get(memo), _MISSING) if memo else _MISSING
        hook = self._on_miss
        if value is _MISSING and hook is not None and hook[0] == threading.get_ident():
            t0 = time.monotonic()
            hook[1]()
            _add_wait(time.monotonic() - t0)
            value = self._values.get(self._keys.get(memo), _MISSING) if memo else _MISSING
        if value is _MISSING:
            with _waiting_for(self.host.lock):
                value = self._get(fact, params, memo)
        if isinstance(value, _Failed):
            raise value.exc
        return value

    def peek(self, fact: str, /, **params: Any):
        """The parsed fact if it is in (gathered, not failed), else None: nothing runs."""
        memo = _memo(fact, params)
        value = self._values.get(self._keys.get(memo), _MISSING) if memo else _MISSING
        return None if value is _MISSING or isinstance(value, _Failed) else value

    def _get(self, fact: str, params: dict[str, Any], memo: tuple | None):
        module, command, key = self._plan(fact, params, memo)
        if key not in self._values:
            try:
                if getattr(module, "RUNS_ON", "host") == "controller":
                    result = self.host.run_on_controller(command)
                else:
                    result = self.host.run(command)
                value = self._convert(fact, module, command, result, params)
            except FactError as exc:
                value = _Failed(exc)
            self._values[key] = value
        return self._values[key]

    def _plan(self, fact: str, params: dict[str, Any], memo: tuple | None):
        module = fact_registry.get(fact)
        command = module.command(self.host.vars, **params)
        key = (fact, command.render())
        if memo is not None:
            self._keys[memo] = key
        return module, command, key

    def _convert(self, fact: str, module, command: Command, result: CommandResult,
                 params: dict[str, Any]):
        self.raw[fact] = result
        try:
            convert = getattr(module, "from_result", None)
            if convert is not None:
                return convert(result.rc, result.stdout, result.stderr, **params)
            return default_from_result(module.parse, command, result.rc,
                                       result.stdout, result.stderr)
        except (FactError, fact_registry.ParseError) as exc:
            return _Failed(exc)

    def gather_many(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        """Gather these facts, the host-side ones not yet in as one command
        (fleetcheck.connect.batch); the rest (controller probes, a batch that broke off) one
        by one, as get() would."""
        with self.host.lock:
            batch: list[tuple[str, dict[str, Any], Any, Command, tuple]] = []
            seen = set()
            for fact, params in requests:
                try:
                    module, command, key = self._plan(fact, params, _memo(fact, params))
                except Exception:  # noqa: BLE001 - get() below meets it again
                    continue
                if key in self._values or key in seen:
                    continue
                seen.add(key)
                if getattr(module, "RUNS_ON", "host") == "host":
                    batch.append((fact, params, module, command, key))
            results = self.host.run_batch([b[3] for b in batch]) if len(batch) > 1 else None
            if results is not None:
                for (fact, params, module, command, _key), result in zip(batch, results):
                    self._values[_key] = self._convert(fact, module, command, result, params)
        for fact, params in requests:
            try:
                self.get(fact, **params)
            except Unreachable:
                raise
            except Exception:  # noqa: BLE001 - cached or met again: its check reports it
                continue

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def clear(self) -> None:
        """Forget everything (after a change on the host, facts are gathered afresh)."""
        with self.host.lock:
            self._values.clear()
            self._keys.clear()
            self.raw.clear()


@dataclass
class _Failed:
    exc: Exception


_MISSING = object()


def _memo(fact: str, params: dict[str, Any]) -> tuple | None:
    """(fact, params) as a dict key, or None when a parameter is unhashable."""
    memo = (fact, *sorted(params.items()))
    try:
        hash(memo)
    except TypeError:
        return None
    return memo


# descriptors one connection may hold at once: its socket, a channel's poll pipe, a
# jump host's, the OpenSSH client's pipes
DESCRIPTORS_PER_HOST = 6


def descriptors_for(hosts: int) -> int:
    """Raise this process's soft limit of open files (often 1024) towards its hard limit
    so that `hosts` connections fit (DESCRIPTORS_PER_HOST each, and 256 for the rest);
    never lowered. Returns the soft limit in force."""
    import resource  # noqa: PLC0415 - POSIX only, as the connections

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = DESCRIPTORS_PER_HOST * hosts + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if new > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            return new
    return soft


class HostPool:
    """The FleetHosts of this worker process, created on first use."""

    def __init__(self, entries: dict[str, Any], options: ConnectOptions,
                 command_log: Callable[..., None] | None = None):
        self.entries = entries
        self.options = options
        self.command_log = command_log
        self._hosts: dict[str, FleetHost] = {}
        self._lock = threading.Lock()
        descriptors_for(len(entries))

    def get(self, name: str) -> FleetHost:
        with self._lock:
            if name not in self._hosts:
                self._hosts[name] = FleetHost(self.entries[name], self.options,
                                              self.command_log)
            return self._hosts[name]

    def close(self, patience: float = 0.2) -> None:
        """Close every connection. A host whose lock a gathering thread still holds
        (a command in flight after Ctrl-C) is waited for at most `patience` seconds in
        all, then left to the process's exit."""
        deadline = time.monotonic() + patience
        for host in list(self._hosts.values()):
            host.close(timeout=max(0.0, deadline - time.monotonic()))
