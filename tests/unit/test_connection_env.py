"""The environment a command is started with (fleetcheck.connection.environ_snapshot).

The race it closes (a vfork child exec'ing with an `environ` another thread is
reallocating; EFAULT once in a few dozen runs) cannot be forced on purpose; what is
proven here is what closes it: commands get an explicit copy, taken again when
another thread changes the environment in the middle of the copy."""

import os
from collections.abc import MutableMapping

from fleetcheck import connection
from fleetcheck.connection import FleetLocalBackend, environ_snapshot


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
