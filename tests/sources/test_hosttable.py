"""`python -m fleetcheck hosts`: chosen columns (built-ins, any var, @sets from the
inventory), each format, secrets hidden, and the parallel SSH reachability probe
against loopback listeners (one speaks an SSH banner, one refuses, one is silent)."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from inventory_server import InventoryServer
from source_data import INVENTORY

from fleetcheck import hosttable
from fleetcheck.inventory import InventoryError, load

REPO = Path(__file__).resolve().parents[2]

INV = """
all:
  vars:
    ansible_user: ops
    fleetcheck_columns:
      net: [name, address, port]
      who: "name,user,become,become_method,become_user"
    dns: {master: ns1}
  children:
    web:
      vars: {role: web}
      hosts:
        web1: {ansible_host: 192.0.2.10, ansible_password: hunter2-SECRET, tags: [a, b],
               ansible_ssh_pass: hunter3-SECRET, ansible_become_pass: hunter4-SECRET,
               ansible_sudo_pass: hunter5-SECRET, ansible_su_pass: hunter6-SECRET,
               db: {user: app, password: hunter7-SECRET}, passenger: on}
        web2: {ansible_host: 192.0.2.11, ansible_port: 2222, ansible_become: true,
               ansible_become_method: su, ansible_become_user: app}
    db:
      vars: {role: db}
      hosts:
        db1: {ansible_host: 192.0.2.20, online: false,
              fleetcheck_proxy_jump: "ops@192.0.2.1:22"}
"""


@pytest.fixture
def inv_file(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text(INV)
    return path


def table(inv_file, spec, fmt="table", probes=None):
    hosts = list(load([str(inv_file)]).hosts.values())
    names = hosttable.columns(spec, hosts, probe=probes is not None)
    return hosttable.render(hosttable.rows(hosts, names, probes), names, fmt)


def test_default_table(inv_file):
    assert table(inv_file, None) == (
        "name  address     port  user  groups\n"
        "web1  192.0.2.10  22    ops   web\n"
        "web2  192.0.2.11  2222  ops   web\n"
        "db1   192.0.2.20  22    ops   db\n")


def test_column_sets_vars_and_builtins(inv_file):
    out = table(inv_file, "@who,role,dns.master,tags,offline,proxy_jump")
    lines = out.splitlines()
    assert lines[0].split() == ["name", "user", "become", "become_method", "become_user",
                                "role", "dns.master", "tags", "offline", "proxy_jump"]
    assert lines[1].split() == ["web1", "ops", "false", "web", "ns1", "a,b", "false"]
    assert lines[2].split() == ["web2", "ops", "true", "su", "app", "web", "ns1", "false"]
    assert lines[3].split() == ["db1", "ops", "false", "db", "ns1", "true", "ops@192.0.2.1:22"]


def test_csv(inv_file):
    rows = list(csv.reader(io.StringIO(table(inv_file, "@net,tags", "csv"))))
    assert rows == [["name", "address", "port", "tags"], ["web1", "192.0.2.10", "22", "a,b"],
                    ["web2", "192.0.2.11", "2222", ""], ["db1", "192.0.2.20", "22", ""]]


def test_json_keeps_types(inv_file):
    data = json.loads(table(inv_file, "name,port,tags,become,dns", "json"))
    assert data[0] == {"name": "web1", "port": 22, "tags": ["a", "b"], "become": False,
                       "dns": {"master": "ns1"}}
    assert data[1]["tags"] is None


def test_secrets_are_never_printed(inv_file):
    # Ansible's *_pass names too, and a secret inside a mapping var
    columns = ("name,ansible_password,ansible_ssh_pass,ansible_become_pass,"
               "ansible_sudo_pass,ansible_su_pass,db,db.password")
    for fmt in hosttable.FORMATS:
        out = table(inv_file, columns, fmt)
        assert "hunter" not in out and hosttable.HIDDEN in out
    assert "app" in table(inv_file, "db", "json")   # the rest of the mapping is shown


def test_a_pass_followed_by_a_letter_is_not_a_secret(inv_file):
    assert hosttable.HIDDEN not in table(inv_file, "passenger", "csv")


def test_a_var_of_one_host_is_a_column(inv_file):
    out = table(inv_file, "name,online,db.user", "csv")
    assert out == "name,online,db.user\nweb1,,app\nweb2,,\ndb1,false,\n"


def test_unknown_column_set(inv_file):
    with pytest.raises(InventoryError, match=r"unknown column set @disk .*defines: @net, @who"):
        table(inv_file, "@disk")


# -- reachability -------------------------------------------------------------------------
class Listener:
    def __init__(self, banner: bytes | None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.banner = banner
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.banner is not None:
                conn.sendall(self.banner)

    def close(self):
        self.sock.close()
        for conn in self.conns:
            conn.close()


def test_check_reachable(tmp_path):
    ssh, http, silent = Listener(b"SSH-2.0-OpenSSH_9.2\r\n"), Listener(b"HTTP/1.0 400\r\n"), \
        Listener(None)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n"
                   f"    up: {{ansible_host: 127.0.0.1, ansible_port: {ssh.port}}}\n"
                   f"    http: {{ansible_host: 127.0.0.1, ansible_port: {http.port}}}\n"
                   f"    silent: {{ansible_host: 127.0.0.1, ansible_port: {silent.port}}}\n"
                   f"    refused: {{ansible_host: 127.0.0.1, ansible_port: {closed_port}}}\n"
                   "    here: {ansible_connection: local}\n")
    try:
        proc = subprocess.run([sys.executable, "-m", "fleetcheck", "hosts", "--inventory",
                               str(inv), "--columns", "name", "--check-reachable",
                               "--probe-timeout", "1", "--format", "json"],
                              capture_output=True, text=True, cwd=REPO, timeout=30)
    finally:
        for listener in (ssh, http, silent):
            listener.close()
    assert proc.returncode == 1, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["up"]["reachable"] == "yes" and rows["up"]["latency_ms"] >= 0
    assert rows["http"]["reachable"] == "no: not an SSH server"
    assert rows["silent"]["reachable"] == "no: timeout after 1s"
    assert rows["refused"] == {"name": "refused", "reachable": "no: connection refused",
                               "latency_ms": None}
    assert rows["here"]["reachable"] == "local"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "fleetcheck", "hosts", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=30)


def test_cli_formats_limit_where(inv_file):
    proc = run_cli("--inventory", str(inv_file), "--limit", "web", "--where", "become=true",
                   "--columns", "@net", "--format", "csv")
    assert (proc.returncode, proc.stdout) == (0, "name,address,port\nweb2,192.0.2.11,2222\n")


@pytest.mark.parametrize("args,expected", [
    (["--where", "role=gpu"], "fleetcheck hosts: --where 'role=gpu' selects no host "
                              "(of 3: web1, web2, db1)"),
    (["--columns", "@nope"], "fleetcheck hosts: --columns: unknown column set @nope "
                             "(the inventory var fleetcheck_columns defines: @net, @who)"),
    (["--limit", "zz"], "fleetcheck hosts: --limit 'zz' selects no host "
                        "(inventory has: web1, web2, db1)"),
    (["--columns", "name,adress"], "fleetcheck hosts: --columns: unknown column 'adress' "
                                   "(did you mean address?)"),
    (["--columns", "dns.mastr"], "fleetcheck hosts: --columns: unknown column 'dns.mastr' "
                                 "(did you mean dns.master?)"),
    (["--columns", "name,zzqq"], "fleetcheck hosts: --columns: unknown column 'zzqq' "
                                 "(not a built-in column nor a var of any selected host)"),
    # a var only db1 has is a column, but not when db1 is not selected
    (["--limit", "web", "--columns", "name,online"],
     "fleetcheck hosts: --columns: unknown column 'online' (did you mean offline?)"),
])
def test_cli_errors_one_line_exit_4(inv_file, args, expected):
    proc = run_cli("--inventory", str(inv_file), *args)
    assert (proc.returncode, proc.stderr, proc.stdout) == (4, expected + "\n", "")


def test_cli_from_http_with_cache_warning(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with InventoryServer(INVENTORY) as srv:
        url = srv.url()
        args = [sys.executable, "-m", "fleetcheck", "hosts", "--inventory", url,
                "--columns", "name,role,env", "--where", "env=11"]
        first = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env=env)
    assert (first.returncode, first.stderr) == (0, ""), first.stderr
    assert first.stdout.split("\n")[1:3] == ["web1  web   11", "db1   db    11"]
    second = subprocess.run(args + ["--inventory-cache-ok"], capture_output=True, text=True,
                            cwd=REPO, env=env)
    assert second.returncode == 0 and second.stdout == first.stdout
    assert second.stderr.startswith(f"WARNING: INVENTORY FROM CACHE: {url} could not be "
                                    "fetched (connection refused)")


def test_refused_column_says_why_a_host_is_not_audited(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    ok: {ansible_connection: local}\n"
                    "    jail: {ansible_connection: community.general.jail}\n")
    rows = json.loads(table(path, "name,connection,refused", "json"))
    assert rows[0] == {"name": "ok", "connection": "local", "refused": None}
    assert rows[1]["connection"] == "community.general.jail"
    assert rows[1]["refused"].startswith("connection 'community.general.jail' is not "
                                         "supported")
