"""Connections under attack and under failure (issue 13), against real SSH.

The server is tests/unit/sshserver.py: paramiko's server in this process on
127.0.0.1, answering, stalling, dropping or freezing as asked. The clients are real:
paramiko (the default backend) and the OpenSSH binary (`ansible_connection: ssh`;
skipped where `ssh` is not installed). su and sudo are the real ones of this machine,
run as root (skipped otherwise). No sshd is started: openssh-server is not installed
on the controller, and the paramiko server shows what the tests need of it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import paramiko
import pytest
from testinfra.backend.paramiko import ParamikoBackend

from fleetcheck import values
from fleetcheck.connect import hostkeys
from fleetcheck.connect.backends import FleetLocalBackend
from fleetcheck.connect.commandlog import CommandLog
from fleetcheck.connect.failures import Unreachable, classify_ssh_stderr
from fleetcheck.connect.openssh import FleetSshBackend
from fleetcheck.connect.paramiko_backend import FleetParamikoBackend
from fleetcheck.facts.base import Command, FactError
from fleetcheck.connect.hosts import ConnectOptions, FleetHost
from fleetcheck.inventory import HostEntry

from sshserver import SshServer, known_hosts_line, new_key

FIXTURES = Path(__file__).parent / "fixtures" / "openssh"
needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")
needs_root = pytest.mark.root("su/sudo without a password")
BOTH = pytest.mark.parametrize("connection", ["paramiko", pytest.param("ssh", marks=needs_ssh)])


@pytest.fixture
def server(tmp_path):
    with SshServer(tmp_path) as srv:
        yield srv


def host_for(tmp_path: Path, server: SshServer, connection: str = "paramiko", *,
             known: Path | None = None, accept_new: bool = False, log: CommandLog | None = None,
             **hostvars) -> FleetHost:
    if known is None:
        known = server.known_hosts(tmp_path / "known_hosts")
    entry = HostEntry(name="t", groups=["all"], source=str(tmp_path / "inv.yml"), vars={
        "ansible_host": "127.0.0.1", "ansible_port": server.port, "ansible_user": "ops",
        "ansible_connection": connection,
        "ansible_ssh_private_key_file": str(server.client_key_file),
        "fleetcheck_known_hosts": str(known), "fleetcheck_connect_timeout": 2, **hostvars})
    return FleetHost(entry, ConnectOptions(accept_new=accept_new), command_log=log)


def local_host(log: CommandLog | None = None, **hostvars) -> FleetHost:
    entry = HostEntry(name="l", groups=["all"], source="inv.yml",
                      vars={"ansible_connection": "local", **hostvars})
    return FleetHost(entry, ConnectOptions(), command_log=log)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- 1. option injection: the argv built here, every value checked again -----------

HOSTILE = [
    ({"ansible_host": "-oProxyCommand=touch {marker}"}, "ansible_host"),
    ({"ansible_user": "-oProxyCommand=touch {marker}"}, "ansible_user"),
    ({"ansible_become": True, "ansible_become_user": "--command=touch {marker}"},
     "ansible_become_user"),
    ({"ansible_become": True, "ansible_become_method": "su",
      "ansible_become_user": "-ctouch {marker}"}, "ansible_become_user"),
    ({"ansible_become": True, "ansible_become_method": "su", "ansible_become_user": "-"},
     "ansible_become_user"),
    ({"ansible_ssh_private_key_file": "-oProxyCommand=touch {marker}"},
     "ansible_ssh_private_key_file"),
    ({"fleetcheck_ssh_config": "-oProxyCommand=touch {marker}"}, "fleetcheck_ssh_config"),
    ({"fleetcheck_proxy_jump": "-oProxyCommand=touch"}, "jump host"),
]


# the local connection has no address, user, key, config or jump host: only the become
# user reaches its command line
@pytest.mark.parametrize("connection,hostile,var", [
    (connection, hostile, var) for hostile, var in HOSTILE
    for connection in ("paramiko", "ssh", "local")
    if connection != "local" or var == "ansible_become_user"])
def test_a_hostile_value_that_got_past_the_load_is_refused_by_the_backend(
        tmp_path, connection, hostile, var):
    marker = tmp_path / "pwned"
    hostvars = {k: (v.format(marker=marker) if isinstance(v, str) else v)
                for k, v in hostile.items()}
    if var == "jump host":  # as the load would have let it through, bypassing it
        hostvars = {"ansible_ssh_common_args": "-J " + hostvars["fleetcheck_proxy_jump"]}
    entry = HostEntry(name="h", groups=["all"], source=str(tmp_path / "inv.yml"), vars={
        "ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": connection,
        **hostvars})
    host = FleetHost(entry, ConnectOptions())
    with pytest.raises(Unreachable) as caught:
        host.connect()
    reason = str(caught.value)
    assert "\n" not in reason and not marker.exists()
    if var in ("fleetcheck_ssh_config", "ansible_ssh_private_key_file"):
        # taken from the inventory's directory: an absolute path, no option any more
        assert host.path_var(var).startswith(str(tmp_path))
    else:
        assert reason.startswith("not connecting: ") and var in reason
    with pytest.raises(Unreachable):  # decided once
        host.run(Command("true"))


def test_become_wrappers_check_the_user_again():
    backend = FleetLocalBackend()
    for method in ("su", "sudo"):
        backend.become_method = method
        for user in ("--command=touch x", "-ctouch x", "-", "#0"):
            with pytest.raises(values.UnsafeValue):
                backend.get_sudo_command("true", user)
    backend.become_method = "su"
    assert backend.get_sudo_command("id", "app") == "su -s /bin/sh -c id -- app"
    backend.become_method = "sudo"
    assert backend.get_sudo_command("id", "app") == "sudo -n -u app -- /bin/sh -c id"
    assert backend.get_sudo_command("id", None) == "sudo -n -- /bin/sh -c id"


def test_ssh_argv_is_a_list_with_every_value_its_own_word(tmp_path):
    config = tmp_path / "ssh config"
    config.write_text("Host *\n  User evil\n")
    backend = FleetSshBackend(
        "192.0.2.7", port=2222, user="ops", key_filename=str(tmp_path / "id 1%h"),
        ssh_config=str(config), known_hosts=str(tmp_path / "known hosts"), accept_new=False,
        proxy_jump=None, connect_timeout=3, command_timeout=9)
    argv = backend.ssh_argv("echo 'a b'")
    assert argv[:3] == ["ssh", "-F", str(config)]
    assert argv[-3:] == ["--", "192.0.2.7", "echo 'a b'"]
    assert argv[argv.index("-l") + 1] == "ops" and argv[argv.index("-p") + 1] == "2222"
    assert argv[argv.index("-i") + 1] == str(tmp_path / "id 1%%h")  # no token expansion
    opts = [argv[i + 1] for i, word in enumerate(argv) if word == "-o"]
    assert "StrictHostKeyChecking=yes" in opts and "BatchMode=yes" in opts
    assert f'UserKnownHostsFile="{tmp_path / "known hosts"}"' in opts
    assert {"ControlMaster=no", "ControlPath=none", "KnownHostsCommand=none"} <= set(opts)
    assert not any("@" in word for word in argv)  # -l USER, never user@host


@needs_ssh
def test_openssh_takes_command_line_options_over_the_config_file(tmp_path):
    """`ssh -G` prints what ssh would use: the -o words beat every directive of -F."""
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                      "  GlobalKnownHostsFile /dev/null\n  User evil\n  Port 2200\n"
                      "  ControlMaster auto\n  ControlPath ~/.ssh/cm-%r@%h\n")
    known = tmp_path / "known_hosts"
    backend = FleetSshBackend(
        "192.0.2.7", port=22, user="ops", key_filename=None, ssh_config=str(config),
        known_hosts=str(known), accept_new=False, proxy_jump=None, connect_timeout=3,
        command_timeout=9)
    argv = backend.ssh_argv("true")
    shown = subprocess.run([argv[0], "-G", *argv[1:-1]], capture_output=True, text=True,
                           check=True).stdout
    got = dict(line.split(" ", 1) for line in shown.splitlines())
    assert got["stricthostkeychecking"] == "true"
    assert got["userknownhostsfile"] == str(known)
    assert got["globalknownhostsfile"] == hostkeys.GLOBAL_KNOWN_HOSTS
    assert (got["user"], got["port"]) == ("ops", "22")
    assert (got["controlmaster"], got.get("controlpath", "none")) == ("false", "none")


@needs_ssh
def test_openssh_reads_a_destination_after_double_dash_as_a_host(tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"-oProxyCommand=touch {marker}"
    res = subprocess.run(["ssh", "-F", "none", "-o", "BatchMode=yes", "--", hostile, "true"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 255 and "hostname contains invalid characters" in res.stderr
    assert not marker.exists()


@needs_root
@pytest.mark.skipif(shutil.which("su") is None, reason="no su")
def test_util_linux_su_reads_a_user_after_double_dash_as_a_user(tmp_path):
    marker = tmp_path / "pwned"
    for hostile in (f"--command=touch {marker}", f"-ctouch {marker}"):
        res = subprocess.run(["su", "-s", "/bin/sh", "-c", "true", "--", hostile],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode != 0 and "does not exist" in res.stderr
        assert not marker.exists()
    # ...but a first word "-" after "--" is still a login shell: values.user refuses it
    res = subprocess.run(["su", "-s", "/bin/sh", "-c", "pwd", "--", "-"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert res.stdout.strip() == os.path.expanduser("~root")


@needs_root
@pytest.mark.skipif(shutil.which("sudo") is None, reason="no sudo")
def test_sudo_takes_the_word_after_u_as_the_user(tmp_path):
    marker = tmp_path / "pwned"
    res = subprocess.run(["sudo", "-n", "-u", f"-ctouch {marker}", "--", "/bin/sh", "-c",
                          "true"], capture_output=True, text=True, timeout=30)
    assert res.returncode != 0 and "unknown user" in res.stderr
    assert not marker.exists()


# --- 2. the command log: what was executed, become wrapper included -----------------

@needs_root
@pytest.mark.parametrize("method,wrapped", [
    ("sudo", "sudo -n -u nobody -- /bin/sh -c 'id -un'"),
    ("su", "su -s /bin/sh -c 'id -un' -- nobody"),
])
def test_local_log_has_the_sh_argv_with_the_become_wrapper(tmp_path, method, wrapped):
    if shutil.which(method) is None:
        pytest.skip(f"no {method}")
    log = CommandLog(str(tmp_path / "log.jsonl"))
    host = local_host(log, ansible_become=True, ansible_become_method=method,
                      ansible_become_user="nobody")
    try:
        assert host.run(Command("id -un")).stdout.strip() == "nobody"
    finally:
        host.close()
        log.close()
    (row,) = rows(tmp_path / "log.jsonl")
    assert row["command"] == "id -un" and row["rc"] == 0
    assert row["executed"] == ["/bin/sh", "-c", wrapped]
    assert "stdout" not in row and "nobody\n" not in json.dumps(row)


@BOTH
@needs_root   # ansible_become: sudo -n on this machine
def test_remote_log_has_exactly_what_the_server_received(tmp_path, server, connection):
    log = CommandLog(str(tmp_path / "log.jsonl"))
    host = host_for(tmp_path, server, connection, log=log, ansible_become=True)
    try:
        assert host.run(Command("printf %s", "a b")).stdout == "a b"
        host.run_batch([Command("echo one"), Command("echo two >&2")])
    finally:
        host.close()
        log.close()
    single, first, second = rows(tmp_path / "log.jsonl")
    sent_single, sent_batch = server.commands[-2:]
    assert sent_single == "sudo -n -- /bin/sh -c 'printf '\"'\"'a b'\"'\"''"
    if connection == "paramiko":  # the exec request's string, as sent
        assert single["executed"] == sent_single and first["executed"] == sent_batch
    else:  # ssh's argv: the command is its last word
        assert single["executed"][0] == "ssh"
        assert single["executed"][-3:] == ["--", "127.0.0.1", sent_single]
        assert first["executed"][-1] == sent_batch
    assert second["executed"] is None  # the batch's argv is on its first line
    assert first["batch"]["id"] == second["batch"]["id"]
    assert [first["batch"]["index"], second["batch"]["index"]] == [0, 1]
    assert (first["command"], first["rc"], second["command"]) == ("echo one", 0, "echo two >&2")


def test_a_timed_out_command_is_in_the_log_without_an_exit_status(tmp_path):
    log = CommandLog(str(tmp_path / "log.jsonl"))
    host = local_host(log, fleetcheck_command_timeout=0.5)
    try:
        with pytest.raises(FactError, match="timed out after 0.5s"):
            host.run(Command("sleep 5"))
    finally:
        log.close()
    (row,) = rows(tmp_path / "log.jsonl")
    assert row["rc"] is None and "timed out after 0.5s" in row["error"]
    assert row["executed"] == ["/bin/sh", "-c", "sleep 5"]


# --- 3. host keys: no config file weakens them --------------------------------------

WEAKENING = ("Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
             "  GlobalKnownHostsFile=/dev/null\n")


@BOTH
def test_a_config_saying_no_host_key_checking_is_ignored(tmp_path, server, connection):
    config = tmp_path / "ssh_config"
    config.write_text(WEAKENING)
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    host = host_for(tmp_path, server, connection, known=empty,
                    fleetcheck_ssh_config=str(config))
    with pytest.raises(Unreachable, match="host key unknown.*--ssh-accept-new"):
        host.connect()
    assert server.logins == [] and server.commands == []  # refused before logging in
    warnings = host.warnings
    assert [w.split(": ", 1)[0] for w in warnings] == [f"{config}:{n}" for n in (2, 3, 4)]
    assert "StrictHostKeyChecking no ignored" in warnings[0]
    assert local_host(fleetcheck_ssh_config=str(config)).warnings == []


def test_strict_directives_are_no_warning(tmp_path):
    known = tmp_path / "known_hosts"
    config = tmp_path / "ssh_config"
    config.write_text(f"Host *\n  StrictHostKeyChecking yes\n  UserKnownHostsFile {known}\n")
    assert hostkeys.config_warnings(str(config), str(known)) == []


def test_each_overridden_directive_is_logged_once(tmp_path, caplog):
    config = tmp_path / "ssh_config"
    config.write_text(WEAKENING)
    with caplog.at_level(logging.WARNING, logger="fleetcheck.connect.hostkeys"):
        first = hostkeys.config_warnings(str(config), None)
        again = hostkeys.config_warnings(str(config), None)
    assert first == again and len(first) == 3
    assert len(caplog.records) == 3


def test_a_config_is_judged_once_for_every_host_until_it_changes(tmp_path, monkeypatch):
    """A fleet's generated ssh_config has a block per host: judging all of it again for
    each host grew with the square of the fleet. Judged once per file version."""
    config = tmp_path / "ssh_config"
    config.write_text(WEAKENING + "".join(f"Host h{i}\n  StrictHostKeyChecking yes\n"
                                          for i in range(200)))
    calls = []
    relaxes = hostkeys._relaxes
    monkeypatch.setattr(hostkeys, "_relaxes", lambda *a: calls.append(a) or relaxes(*a))
    first = hostkeys.config_warnings(str(config), None)
    judged = len(calls)
    assert judged > 200 and len(first) == 3
    for _ in range(50):
        assert hostkeys.config_warnings(str(config), None) == first
    assert len(calls) == judged
    config.write_text("Host *\n  StrictHostKeyChecking no\n")
    os.utime(config, ns=(1, 1))                       # another version of the file
    assert len(hostkeys.config_warnings(str(config), None)) == 1 and len(calls) > judged


def test_testinfra_never_sees_the_host_key_directives(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text(WEAKENING + "  User app\n")
    parsed = hostkeys.StrictConfig(hostkeys.parse_ssh_config(str(config))).lookup("h")
    assert parsed == {"hostname": "h", "user": "app"}


@BOTH
def test_a_config_others_can_write_is_refused(tmp_path, server, connection):
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  ProxyCommand touch pwned\n")
    config.chmod(0o666)
    host = host_for(tmp_path, server, connection, fleetcheck_ssh_config=str(config))
    with pytest.raises(Unreachable, match="not connecting: fleetcheck_ssh_config .* may be "
                                          r"changed by others .*mode 666\)"):
        host.connect()


@needs_root
def test_a_config_of_another_user_is_refused_unless_the_inventory_is_theirs(tmp_path, server):
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  User ops\n")
    os.chown(config, 65534, 65534)
    (tmp_path / "inv.yml").write_text("")
    with pytest.raises(Unreachable, match="owner uid 65534, mode 644"):
        host_for(tmp_path, server, fleetcheck_ssh_config=str(config)).connect()
    os.chown(tmp_path / "inv.yml", 65534, 65534)  # their inventory names their file
    host = host_for(tmp_path, server, fleetcheck_ssh_config=str(config))
    assert host.run(Command("echo ok")).stdout == "ok\n"
    host.close()


@BOTH
def test_accept_new_records_an_unknown_key(tmp_path, server, connection):
    known = tmp_path / "known_hosts"
    known.write_text("")
    host = host_for(tmp_path, server, connection, known=known, accept_new=True)
    assert host.run(Command("echo hi")).stdout == "hi\n"
    host.close()
    assert known_hosts_line(server.port, server.host_key).split()[1:] in \
        [line.split()[1:] for line in known.read_text().splitlines()]


@BOTH
@pytest.mark.parametrize("other", ["ed25519", "rsa"])
def test_accept_new_never_accepts_a_changed_key(tmp_path, server, connection, other):
    key = new_key(tmp_path / "other") if other == "ed25519" else paramiko.RSAKey.generate(2048)
    known = server.known_hosts(tmp_path / "known_hosts", key)
    before = known.read_text()
    host = host_for(tmp_path, server, connection, known=known, accept_new=True)
    with pytest.raises(Unreachable) as caught:
        host.connect()
    reason = str(caught.value)
    assert reason.startswith("host key CHANGED for ")
    assert "man-in-the-middle" in reason and "--ssh-accept-new" not in reason
    assert known.read_text() == before
    assert server.logins == [] and server.commands == []


# --- 6. what OpenSSH says about host keys, classified -------------------------------

@pytest.mark.parametrize("name", ["changed_key", "changed_key_accept_new", "changed_key_type"])
def test_openssh_changed_key_text_says_changed(name):
    reason = classify_ssh_stderr((FIXTURES / f"{name}.stderr").read_text())
    assert reason == ("host key CHANGED for [127.0.0.1]:37815 (possible man-in-the-middle): "
                      "check it and fix the known_hosts entry")


def test_openssh_unknown_key_text_points_to_accept_new():
    reason = classify_ssh_stderr((FIXTURES / "unknown_key.stderr").read_text())
    assert reason.startswith("host key unknown") and "--ssh-accept-new" in reason


# --- 4. timeouts and dead links -----------------------------------------------------

@pytest.mark.parametrize("mode,expected", [
    ("stall_exec", r"connection lost: no answer to the exec request within 2s"),
    ("drop", r"connection lost: the (channel closed without an exit status|connection closed)"),
    ("freeze", r"connection lost: no answer after a command timed out \(3s\)"),
])
def test_a_dead_link_is_a_lost_connection_not_a_hang(tmp_path, mode, expected):
    with SshServer(tmp_path, mode, healthy=1) as server:
        log = CommandLog(str(tmp_path / "log.jsonl"))
        host = host_for(tmp_path, server, log=log, fleetcheck_command_timeout=3)
        host.connect()
        start = time.monotonic()
        with pytest.raises(Unreachable, match=expected):
            host.run(Command("echo first; sleep 10; echo second"))
        elapsed = time.monotonic() - start
        # the exec request within the connect timeout, the rest within the command
        # timeout and a probe of at most the connect timeout
        assert elapsed < 3 + 2 + 1
        assert host.unreachable_reason.startswith("connection lost: ")
        with pytest.raises(Unreachable):  # at once, from now on
            host.run(Command("true"))
        log.close()
    (row,) = rows(tmp_path / "log.jsonl")
    assert row["rc"] is None and row["error"].startswith("connection lost: ")
    assert row["executed"] == server.commands[1]


def test_a_lost_connection_during_a_batch_is_unreachable_too(tmp_path):
    with SshServer(tmp_path, "freeze", healthy=1) as server:
        host = host_for(tmp_path, server, fleetcheck_command_timeout=2)
        host.connect()
        with pytest.raises(Unreachable, match="connection lost"):
            host.run_batch([Command("echo a"), Command("echo b")])
        assert host.unreachable_reason.startswith("connection lost")


@BOTH
def test_a_slow_command_on_a_live_connection_is_a_timeout_only(tmp_path, server, connection):
    host = host_for(tmp_path, server, connection, fleetcheck_command_timeout=1)
    try:
        with pytest.raises(FactError, match="timed out after 1s"):
            host.run(Command("sleep 3"))
        assert host.unreachable_reason is None
        assert host.run(Command("echo still")).stdout == "still\n"
    finally:
        host.close()


def test_a_command_is_read_with_descriptors_past_select_s_limit(tmp_path, server):
    """A controller connected to a thousand hosts holds descriptors past 1024, the
    most select() takes ("filedescriptor out of range in select()" made 105 of 1005
    lab hosts unreachable): the channel's output is read through poll()."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1300
    if soft < wanted:
        # raising the hard limit needs root (CI runs as root); the soft one up to it not
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    held = []
    host = host_for(tmp_path, server)
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        assert host.run(Command("echo past 1024")).stdout == "past 1024\n"
    finally:
        host.close()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@needs_ssh
def test_openssh_gives_up_on_a_frozen_link_by_its_keepalives(tmp_path):
    with SshServer(tmp_path, "freeze", healthy=1) as server:
        host = host_for(tmp_path, server, "ssh", fleetcheck_connect_timeout=1,
                        fleetcheck_command_timeout=30)
        host.connect()
        start = time.monotonic()
        with pytest.raises(Unreachable, match="connection lost: no answer from the server"):
            host.run(Command("sleep 20"))
        assert time.monotonic() - start < 10  # 3 keepalives 1 s apart, not 30 s


def test_paramiko_sends_keepalives_and_bounds_unacknowledged_data(tmp_path, server):
    host = host_for(tmp_path, server, fleetcheck_connect_timeout=1)
    try:
        transport = host.testinfra.backend.client.get_transport()
        time.sleep(2.5)
        assert "keepalive@lag.net" in server.global_requests
        assert transport.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 10000
        # its thread wakes twice a second, not paramiko's ten times, and still keeps
        # the keepalives (above) and sees a close at once (below)
        from fleetcheck.connect.paramiko_backend import TRANSPORT_POLL_SECONDS
        assert transport.sock.gettimeout() == TRANSPORT_POLL_SECONDS == 0.5
        started = time.monotonic()
        host.close()
        assert not transport.is_active() and time.monotonic() - started < 0.4
    finally:
        host.close()


# --- 5. sshd gone: testinfra's `del self.client` ------------------------------------

def test_the_client_property_can_be_deleted(tmp_path, server):
    host = host_for(tmp_path, server)
    backend = host.testinfra.backend
    transport = backend.client.get_transport()
    del backend.client
    assert backend._client is None and not transport.is_active()
    assert backend.run("echo again").stdout == "again\n"  # connects anew
    backend.close()


def test_sshd_killed_mid_run_is_a_lost_connection(tmp_path):
    server = SshServer(tmp_path).__enter__()
    host = host_for(tmp_path, server)
    host.connect()
    backend = host.testinfra.backend
    server.stop()
    time.sleep(0.2)
    # testinfra's own run() retries with `del self.client`: refused now, no AttributeError
    with pytest.raises(ConnectionRefusedError):
        ParamikoBackend.run(backend, "true")
    with pytest.raises(Unreachable, match="connection lost: connection refused"):
        host.run(Command("true"))


# --- jump hosts: one ProxyCommand per hop, every hop's key checked ------------------

def jump_chain(tmp_path: Path, hops: int) -> list[SshServer]:
    first = SshServer(tmp_path, name="target").__enter__()
    chain = [first]
    for i in range(hops):
        chain.append(SshServer(tmp_path, name=f"jump{i}",
                               client_key_file=first.client_key_file).__enter__())
    return chain


@pytest.mark.parametrize("connection,hops", [
    ("paramiko", 1), pytest.param("ssh", 1, marks=needs_ssh),
    pytest.param("ssh", 2, marks=needs_ssh)])
def test_through_jump_hosts(tmp_path, monkeypatch, connection, hops):
    monkeypatch.chdir(tmp_path)  # where a `touch pwned` that got through would write
    target, *jumps = jump_chain(tmp_path, hops)
    try:
        known = tmp_path / "known_hosts"
        known.write_text("".join(known_hosts_line(s.port, s.host_key)
                                 for s in (target, *jumps)))
        # a config path the shell would run ($(...)): OpenSSH's -J puts it in a shell
        # command line unquoted; fleetcheck's ProxyCommand quotes it
        config = tmp_path / "ssh_config$(touch pwned)"
        config.write_text("Host *\n  ServerAliveInterval 10\n")
        spec = ",".join(f"ops@127.0.0.1:{j.port}" for j in reversed(jumps))
        host = host_for(tmp_path, target, connection, known=known,
                        fleetcheck_proxy_jump=spec, fleetcheck_ssh_config=str(config))
        assert host.run(Command("echo via")).stdout == "via\n"
        host.close()
        assert target.commands[-1] == "echo via"
        assert all(j.forwards for j in jumps) and not (tmp_path / "pwned").exists()
        # the jump host's key changed: refused, whatever the config says
        known.write_text(known_hosts_line(target.port, target.host_key) + "".join(
            known_hosts_line(j.port, new_key(tmp_path / f"other{i}"))
            for i, j in enumerate(jumps)))
        again = host_for(tmp_path, target, connection, known=known, accept_new=True,
                         fleetcheck_proxy_jump=spec)
        with pytest.raises(Unreachable, match="host key CHANGED for .*127.0.0.1"):
            again.connect()
    finally:
        for srv in (target, *jumps):
            srv.stop()


# --- 7. a bad timeout in FleetHost --------------------------------------------------

@pytest.mark.parametrize("bad", ["soon", [], {}, 0, -1, True, "inf"])
def test_a_bad_command_timeout_is_one_line_naming_the_var(bad):
    with pytest.raises(ValueError, match=r"^fleetcheck_command_timeout: ") as caught:
        local_host(fleetcheck_command_timeout=bad)
    assert "\n" not in str(caught.value)


def test_a_null_timeout_is_the_default():
    host = local_host(fleetcheck_command_timeout=None, fleetcheck_connect_timeout=None)
    assert (host.command_timeout, host.connect_timeout) == (60.0, 10.0)


def test_backends_build_nothing_from_an_unchecked_value(tmp_path):
    common = dict(port=22, user=None, key_filename=None, ssh_config=None, known_hosts=None,
                  accept_new=False, proxy_jump=None, connect_timeout=1, command_timeout=1)
    for cls in (FleetSshBackend, FleetParamikoBackend):
        with pytest.raises(values.UnsafeValue, match="ansible_host"):
            cls("-oProxyCommand=x", **common)
        with pytest.raises(values.UnsafeValue, match="ansible_port"):
            cls("h", **{**common, "port": "22 -oX"})
        for var, arg in (("ansible_ssh_private_key_file", "key_filename"),
                         ("fleetcheck_ssh_config", "ssh_config"),
                         ("fleetcheck_known_hosts", "known_hosts")):
            with pytest.raises(values.UnsafeValue, match=var):
                cls("h", **{**common, arg: "-oProxyCommand=x"})
        with pytest.raises(values.UnsafeValue, match="ansible_become_user"):
            cls("h", **common, sudo=True, sudo_user="-")


def test_a_large_pool_raises_the_soft_open_files_limit_towards_the_hard_one():
    """A shell's soft limit of open files is often 1024, fewer than a thousand
    connections need: the pool raises it (never past the hard limit, never down)."""
    import resource

    from fleetcheck.connect.hosts import DESCRIPTORS_PER_HOST, descriptors_for

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        wanted = DESCRIPTORS_PER_HOST * 1000 + 256
        expected = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        assert descriptors_for(1000) == expected
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (expected, hard)
        assert descriptors_for(3) == expected            # never lowered
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
