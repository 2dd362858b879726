"""Connections to hosts: testinfra backends, hardened for fleets, and open_host.

testinfra does the sudo-less command building and the encoding. What a fleet needs
besides lives here:

- every inventory value that reaches a command line is checked again where the
  command line is built (fleetcheck.values: a host, a user, a path, never an option),
  and the command lines are argv lists with ``--`` before the positional words: the
  OpenSSH argv (fleetcheck.connect.openssh), ``su ... -- USER``, ``sudo -u USER
  -- ...``;
- host keys: strict unless ``--ssh-accept-new``, never weakened by an ssh_config
  (fleetcheck.connect.hostkeys);
- a timeout on everything that waits for a host: connecting, opening a channel, the
  exec request (paramiko waits for its reply forever: fleetcheck.connect.paramiko_backend), the command;
  keepalives and TCP_USER_TIMEOUT so a dead link ends the connection;
- paramiko: TCP_NODELAY on the socket (per command ~46 ms without it on these
  machines, ~2.5 ms with);
- each backend's ``last_executed``: what was executed for the last command, become
  wrapper included (the command log records it);
- a classification of connection failures into one short reason (refused, timeout,
  auth failed, host key unknown/changed) so a host is marked unreachable once.
"""

from __future__ import annotations

from typing import Any

import testinfra.host
from testinfra.backend import base as tbase
from testinfra.backend.docker import DockerBackend
from testinfra.backend.kubectl import KubectlBackend
from testinfra.backend.local import LocalBackend
from testinfra.backend.lxc import LxcBackend
from testinfra.backend.podman import PodmanBackend

from fleetcheck import values
from fleetcheck.connect.common import DEFAULT_COMMAND_TIMEOUT, Become, run_process
from fleetcheck.connect.failures import Unreachable
from fleetcheck.connect.openssh import FleetSshBackend
from fleetcheck.connect.paramiko_backend import FleetParamikoBackend


class _OnController(Become):
    """A backend whose commands start on the controller (``/bin/sh -c COMMAND``, the
    words quoted by testinfra): with fleetcheck's command timeout, the whole process
    group ended after it (testinfra's run_local waits for ever)."""

    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    last_executed: Any = None

    def run_local(self, command: str, *args: str) -> tbase.CommandResult:
        command = self.quote(command, *args)
        argv = ["/bin/sh", "-c", command]
        self.last_executed = argv
        rc, stdout, stderr = run_process(argv, self.command_timeout, command)
        return self.result(rc, self.encode(command), stdout, stderr)


class FleetLocalBackend(_OnController, LocalBackend):
    """This machine."""

    NAME = "local"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.sudo_user is not None:
            values.require(values.user, self.sudo_user, "ansible_become_user")


# Ansible connections run through testinfra's backend of the same kind
# (hostvars.TESTINFRA_CONNECTIONS): `docker exec`, `podman exec`, `kubectl exec`,
# `lxc exec` started on the controller with the timeout above.
class FleetDockerBackend(_OnController, DockerBackend):
    pass


class FleetPodmanBackend(_OnController, PodmanBackend):
    pass


class FleetKubectlBackend(_OnController, KubectlBackend):
    pass


class FleetLxdBackend(_OnController, LxcBackend):
    pass


def _container_backend(entry, common: dict) -> tbase.BaseBackend:
    """The testinfra backend of ``entry.connection`` (docker, podman, kubectl, lxd), its
    words from the vars Ansible's connection plugin reads; each checked (a container,
    pod or namespace name is never an option: values.host)."""
    kind, hostvars = entry.connection, entry.vars
    if kind == "kubectl":
        def name(var):
            value = hostvars.get(var)
            return None if value is None else values.host(value, var)
        kubeconfig = hostvars.get("ansible_kubectl_kubeconfig")
        return FleetKubectlBackend(
            name("ansible_kubectl_pod") or values.host(entry.address, "ansible_host"),
            container=name("ansible_kubectl_container"),
            namespace=name("ansible_kubectl_namespace"),
            context=name("ansible_kubectl_context"),
            kubeconfig=None if kubeconfig is None else values.local_path(
                kubeconfig, "ansible_kubectl_kubeconfig"),
            **common)
    container = values.host(entry.address, "ansible_host")
    if kind == "lxd":
        return FleetLxdBackend(container, **common)
    spec = container if entry.user is None else \
        f"{values.user(entry.user, 'ansible_user')}@{container}"
    cls = FleetDockerBackend if kind == "docker" else FleetPodmanBackend
    return cls(spec, **common)


def open_host(entry, *, accept_new: bool = False, connect_timeout: float,
              command_timeout: float, known_hosts: str | None,
              ssh_config: str | None, key_filename: str | None,
              proxy_jump: str | None = None) -> testinfra.host.Host:
    """Build (without connecting) a testinfra Host for an inventory HostEntry; raises
    Unreachable ("not connecting: ...") for a value that must not reach ssh or su,
    even though the inventory's load checked it already."""
    if entry.refused:
        raise Unreachable(entry.refused)
    common = {"sudo": entry.become, "sudo_user": entry.become_user}
    try:
        if entry.connection == "local":
            backend: tbase.BaseBackend = FleetLocalBackend(**common)
            backend.command_timeout = command_timeout
        elif entry.connection in ("docker", "podman", "kubectl", "lxd"):
            backend = _container_backend(entry, common)
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
