"""What the backends share: the timeouts, privilege escalation, commands started on
the controller, and the checks of what a remote backend is built from (every value
checked where the command line is built: fleetcheck.values)."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

from fleetcheck import values
from fleetcheck.connect.failures import CommandTimeout

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_COMMAND_TIMEOUT = 60.0
KEEPALIVE_SECONDS = 5          # paramiko keepalive, OpenSSH ServerAliveInterval
SERVER_ALIVE_COUNT = 3         # OpenSSH: unanswered keepalives before it gives up


class Become:
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
                     port_number(port, "the jump host's port")))
    return hops


def port_number(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) \
            or not str(value).isdigit() or not 0 < int(value) < 65536:
        raise values.UnsafeValue(f"{what} must be a port number, got {values.shown(value)}")
    return int(value)


def checked_target(address: Any, port: Any, user: Any, sudo_user: Any, files: dict[str, Any],
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
    return address, port_number(port, "ansible_port"), user
