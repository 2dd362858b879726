"""Inventory scripts: an executable file with a shebang is run with --list, as Ansible
runs one; its JSON is read like the HTTP answer. Failing, hanging and junk-printing
scripts are one line each."""

from __future__ import annotations

import json
import time

import pytest
from source_data import INVENTORY

from fleetcheck.inventory import InventoryError, SourceOptions, load
from fleetcheck.inventory.sources import kind


def script(tmp_path, body: str, name: str = "inv.sh", mode: int = 0o755):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)
    return path


def error_of(path, timeout: float = 5.0) -> str:
    with pytest.raises(InventoryError) as info:
        load([str(path)], SourceOptions(timeout=timeout))
    assert "\n" not in str(info.value)
    return str(info.value)


def test_good_script_gets_list(tmp_path):
    data = tmp_path / "data.json"
    data.write_text(json.dumps(INVENTORY))
    path = script(tmp_path, f'[ "$1" = --list ] || exit 9\ncat {data}\n')
    assert kind(str(path)) == "script"
    inv = load([str(path)])
    assert list(inv.hosts) == ["web1", "web2", "db1"]
    assert inv.hosts["web1"].source == str(path)


def test_python_script(tmp_path):
    path = tmp_path / "inv.py"
    path.write_text("#!/usr/bin/env python3\nimport json, sys\n"
                    "assert sys.argv[1:] == ['--list']\n"
                    "print(json.dumps({'app': {'hosts': ['a1'], 'vars': {'role': 'app'}}}))\n")
    path.chmod(0o755)
    inv = load([str(path)])
    assert inv.hosts["a1"].vars["role"] == "app"


def test_failing_script(tmp_path):
    path = script(tmp_path, 'echo "starting" >&2\necho "cmdb: 503 from upstream" >&2\nexit 3\n')
    assert error_of(path) == f"{path}: the inventory script exited 3: cmdb: 503 from upstream"


def test_script_killed_by_a_signal(tmp_path):
    path = script(tmp_path, "kill -TERM $$\n")
    assert error_of(path) == f"{path}: the inventory script was killed by signal 15"


def test_hanging_script_is_killed_with_its_children(tmp_path):
    marker = tmp_path / "child-alive"
    path = script(tmp_path, f"(sleep 30; touch {marker}) &\nsleep 30\n")
    start = time.monotonic()
    text = error_of(path, timeout=0.5)
    assert time.monotonic() - start < 5
    assert text == (f"{path}: the inventory script did not finish within 0.5s (killed); "
                    "--inventory-timeout sets the limit")


@pytest.mark.parametrize("body,expected", [
    ("echo 'Loading...'\n", "the inventory script printed output that is not JSON "
                            "(line 1 column 1: Expecting value)"),
    ("true\n", "the inventory script printed nothing (line 1 column 1: Expecting value)"),
    ("printf '\\377\\376'\n", "the inventory script printed bytes that are not UTF-8 (byte 0)"),
    ("echo '[1, 2]'\n", "not an Ansible dynamic inventory: the JSON document must be an "
                        "object of groups, got a list"),
    ("echo '{\"web\": {\"hosts\": [1]}}'\n",
     "not an Ansible dynamic inventory: a host of group 'web' must be a non-empty string, "
     "got an integer"),
    ("echo '{\"web\": {\"host\": [\"a\"]}}'\n",
     "not an Ansible dynamic inventory: unknown key 'host' in group 'web' "
     "(expected hosts, vars, children)"),
    ("echo '{\"_meta\": {\"hostvars\": {\"a\": {\"ansible_port\": \"ssh\"}}}}'\n",
     "host 'a': ansible_port: expected a port number 1-65535, got 'ssh'"),
])
def test_junk_from_a_script(tmp_path, body, expected):
    path = script(tmp_path, body)
    assert error_of(path) == f"{path}: {expected}"


def test_script_that_cannot_run(tmp_path):
    path = tmp_path / "inv"
    path.write_text("#!/nonexistent/interpreter\n")
    path.chmod(0o755)
    assert error_of(path).startswith(f"{path}: cannot run the inventory script: ")


def test_executable_yaml_without_shebang_is_yaml(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    y1:\n")
    path.chmod(0o755)
    assert kind(str(path)) == "yaml"
    assert list(load([str(path)]).hosts) == ["y1"]


def test_script_not_executable_is_read_as_yaml(tmp_path):
    path = script(tmp_path, "echo '{}'\n", mode=0o644)
    assert kind(str(path)) == "yaml"
