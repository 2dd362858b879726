"""The OpenSSH binary as a backend (``ansible_connection: ssh``): its argv built here
as a list, never through a shell of ours."""

from __future__ import annotations

import shlex
from typing import Any

from testinfra.backend import base as tbase
from testinfra.backend.ssh import SshBackend

from fleetcheck.connect import hostkeys
from fleetcheck.connect.common import (
    KEEPALIVE_SECONDS,
    SERVER_ALIVE_COUNT,
    Become,
    checked_target,
    jump_hops,
    run_process,
)
from fleetcheck.connect.failures import CommandTimeout, Unreachable, classify_ssh_stderr


def _escape_tokens(word: str) -> str:
    """A word of an OpenSSH ProxyCommand, which the shell runs after ssh expanded
    its %-tokens: quoted for the shell, '%' doubled."""
    return shlex.quote(word.replace("%", "%%"))


class FleetSshBackend(Become, SshBackend):
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
        address, port, user = checked_target(
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
