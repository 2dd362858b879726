"""Fixtures for the inventory-source tests: a dynamic inventory, a test CA, secrets."""

from __future__ import annotations

import pytest
from inventory_server import make_ca, server_cert

TOKEN = "tok-3c1f9a7e-SECRET-bearer"
PASSWORD = "pw-9d2e-SECRET-basic"

INVENTORY = {
    "_meta": {"hostvars": {
        "web1": {"ansible_host": "192.0.2.10", "role": "web", "env": 11, "online": True},
        "web2": {"ansible_host": "192.0.2.11", "role": "web", "env": 12},
        "db1": {"ansible_host": "192.0.2.20", "role": "db", "env": 11, "online": False,
                "ansible_port": 2222, "ansible_become": True, "ansible_become_method": "su"},
    }},
    "all": {"vars": {"ansible_user": "root", "dns": {"zone": "example.test"}},
            "children": ["web", "db"]},
    "web": {"hosts": ["web1", "web2"], "vars": {"tier": "front"}},
    "db": ["db1"],
}


@pytest.fixture
def secrets_env(monkeypatch):
    monkeypatch.setenv("FC_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("FC_TEST_USER", "auditor")
    monkeypatch.setenv("FC_TEST_PASSWORD", PASSWORD)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """(ca.pem, server cert, server key): the server's certificate is for 127.0.0.1."""
    directory = tmp_path_factory.mktemp("ca")
    ca_path, ca_cert, ca_key = make_ca(directory)
    cert, key = server_cert(directory, ca_cert, ca_key)
    return ca_path, cert, key
