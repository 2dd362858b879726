"""Fixtures for the inventory-source tests: secrets in the environment, a test CA."""

from __future__ import annotations

import pytest
from inventory_server import make_ca, server_cert
from source_data import PASSWORD, TOKEN

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
