"""fleetcheck.connect.common: the environment a command is started with; fleetcheck.connect.hostkeys:
the known_hosts and ssh_config files parsed once for a whole fleet.

environ_snapshot: the race it closes (a vfork child exec'ing with an `environ` another thread is
reallocating; EFAULT once in a few dozen runs) cannot be forced on purpose; what is
proven here is what closes it: commands get an explicit copy, taken again when
another thread changes the environment in the middle of the copy."""

import os
from collections.abc import MutableMapping

import paramiko

from fleetcheck.connect import common as connection
from fleetcheck.connect import hostkeys
from fleetcheck.connect.backends import FleetLocalBackend
from fleetcheck.connect.common import environ_snapshot


class ChangingEnviron(MutableMapping):
    """os.environ as another thread changes it: a listed key is gone when read, once."""

    def __init__(self, data):
        self.data, self.vanish = dict(data), "PYTEST_CURRENT_TEST"

    def __iter__(self):
        return iter(list(self.data))

    def __getitem__(self, key):
        if key == self.vanish:
            self.vanish = None
            raise KeyError(key)
        return self.data[key]

    def __len__(self):
        return len(self.data)

    def __setitem__(self, key, value):
        self.data[key] = value

    def __delitem__(self, key):
        del self.data[key]


def test_copy_is_taken_again_when_a_key_vanishes(monkeypatch):
    env = ChangingEnviron({"PATH": "/usr/bin", "PYTEST_CURRENT_TEST": "x (call)"})
    monkeypatch.setattr(connection.os, "environ", env)
    assert environ_snapshot() == {"PATH": "/usr/bin", "PYTEST_CURRENT_TEST": "x (call)"}


def test_local_command_gets_an_explicit_copy(monkeypatch):
    seen = {}
    real_popen = connection.subprocess.Popen

    def popen(*args, **kwargs):
        seen.update(kwargs)
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(connection.subprocess, "Popen", popen)
    monkeypatch.setenv("FLEETCHECK_ENV_PROBE", "present")
    res = FleetLocalBackend().run("echo $FLEETCHECK_ENV_PROBE")
    assert res.stdout.strip() == "present"
    assert isinstance(seen["env"], dict) and seen["env"] is not os.environ


# --- known_hosts and ssh_config, parsed once per process ---------------------------

def test_known_hosts_parsed_once_for_every_host(tmp_path, monkeypatch):
    key = paramiko.RSAKey.generate(1024)
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"10.0.0.{i} ssh-rsa {key.get_base64()}\n" for i in range(1, 60))
                     + f"[10.0.0.7]:2222 ssh-rsa {key.get_base64()}\n")
    parses = []
    real = hostkeys.parse_known_hosts
    monkeypatch.setattr(hostkeys, "parse_known_hosts",
                        lambda path: parses.append(path) or real(path))
    monkeypatch.setattr(hostkeys, "PARSED", hostkeys.ParsedFiles())
    clients = []
    for i in range(1, 51):
        client = paramiko.SSHClient()
        hostkeys.add_host_keys(client, str(known), f"10.0.0.{i}", 22)
        clients.append(client)
    assert len(parses) == 1
    # each client knows its own host's key, under the name paramiko looks up
    assert clients[4].get_host_keys().lookup("10.0.0.5")["ssh-rsa"] == key
    assert clients[4].get_host_keys().lookup("10.0.0.6") is None
    other_port = paramiko.SSHClient()
    hostkeys.add_host_keys(other_port, str(known), "10.0.0.7", 2222)
    assert other_port.get_host_keys().lookup("[10.0.0.7]:2222")["ssh-rsa"] == key
    # a changed file (a key added by --ssh-accept-new) is read again
    with open(known, "a") as fh:
        fh.write(f"10.0.1.1 ssh-rsa {key.get_base64()}\n")
    fresh = paramiko.SSHClient()
    hostkeys.add_host_keys(fresh, str(known), "10.0.1.1", 22)
    assert len(parses) == 2 and fresh.get_host_keys().lookup("10.0.1.1") is not None


def test_missing_known_hosts_adds_nothing(tmp_path):
    client = paramiko.SSHClient()
    hostkeys.add_host_keys(client, str(tmp_path / "none"), "10.0.0.1", 22)
    assert len(client.get_host_keys()) == 0


def test_output_that_is_not_utf8_is_text_not_an_exception(tmp_path):
    """A fact's output with latin-1 bytes (a file name, a config comment) reaches its
    parser as text with the byte escaped, never as a UnicodeDecodeError."""
    from fleetcheck.facts.base import Command
    from fleetcheck.connect.hosts import ConnectOptions, FleetHost
    from fleetcheck.inventory.model import HostEntry

    host = FleetHost(HostEntry("l", {"ansible_connection": "local"}, ["all"], "t"),
                     ConnectOptions())
    res = host.run(Command("printf 'caf\\351\\n'; printf 'err\\351' >&2"))
    assert (res.stdout, res.stderr) == ("caf\\xe9\n", "err\\xe9")
    (one, two) = host.run_batch([Command("printf 'a\\351'"), Command("echo b")])
    assert (one.stdout, two.stdout) == ("a\\xe9", "b\n")
