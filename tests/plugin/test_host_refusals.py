"""Per-host, not per-inventory, refusals (issue 16, deliverable 4), and the connection
settings read as Ansible reads them (deliverable 5).

A host whose connection or become method fleetcheck does not run, or whose
connection var is a template it cannot resolve, has its checks unreachable with the
reason; the rest of the fleet is audited. docker, podman, kubectl and lxd run through
testinfra's backends: no container runtime can run here, so a fake `docker` /
`kubectl` / `lxc` on PATH stands for one (it records its argv and runs the command on
this machine), and the tests say so.
"""

import json
import os
import stat
import textwrap
import time
from pathlib import Path

import pytest

from fleetcheck.connect.hosts import ConnectOptions, FleetHost
from fleetcheck.connect.failures import CommandTimeout, Unreachable
from fleetcheck.inventory import HostEntry, load

CHECKS = """
import pytest

@pytest.mark.check("demo.name", severity="low", title="the host answers")
def test_name(host, evidence):
    evidence["uname"] = host.run("uname -s").stdout.strip()
"""

INV = """
all:
  hosts:
    good: {ansible_connection: local}
    chroot: {ansible_connection: community.general.chroot}
    windows: {ansible_connection: ansible.builtin.winrm}
    doas: {ansible_connection: local, ansible_become: true, ansible_become_method: doas}
    templated: {ansible_connection: local, ansible_host: "{{ ip | ansible.utils.ipaddr }}"}
    unknown_ref: {ansible_host: "{{ ip }}"}
    not_becoming: {ansible_connection: local, ansible_become_method: doas}
"""


def results(pytester) -> dict:
    return json.loads((pytester.path / "reports" / "latest" / "results.json").read_text())


def test_unsupported_hosts_are_refused_and_the_rest_is_audited(pytester):
    pytester.makefile(".yml", inv=INV)
    pytester.makepyfile(test_demo=CHECKS)
    res = pytester.runpytest("--inventory", "inv.yml")
    outcome = {r["host"]: (r["outcome"], r["message"]) for r in results(pytester)["records"]}
    assert outcome["good"][0] == "passed"
    # the become method matters only where the host becomes (Ansible's rule too)
    assert outcome["not_becoming"][0] == "passed"
    assert outcome["chroot"] == ("unreachable", (
        "connection 'community.general.chroot' is not supported (fleetcheck runs ssh, "
        "paramiko, local, and docker, podman, kubectl, lxd through testinfra)"))
    assert outcome["windows"][0] == "unreachable"
    assert "a Windows host" in outcome["windows"][1]
    assert outcome["doas"] == ("unreachable", "become method 'doas' is not supported "
                               "(fleetcheck becomes with sudo or su)")
    assert outcome["templated"][0] == "unreachable"
    assert outcome["templated"][1].startswith("ansible_host is templated")
    assert outcome["unknown_ref"] == ("unreachable", "ansible_host is '{{ ip }}', and the "
                                      "host has no var 'ip'")
    assert res.ret == 1   # unreachable hosts fail the run, as any unreachable host does
    res.stdout.fnmatch_lines(["*doas*unreachable*become method 'doas'*"])


def test_a_refused_host_is_never_connected(tmp_path):
    """No command starts for a refused host: not even the connection's `true`."""
    log = tmp_path / "argv"
    bin_dir = fake_tool(tmp_path, "docker", log)
    entry = HostEntry("c1", {"ansible_connection": "docker", "ansible_become": True,
                             "ansible_become_method": "pbrun"}, ["all"], str(tmp_path / "i"))
    host = FleetHost(entry, ConnectOptions())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        with pytest.raises(Unreachable, match="become method 'pbrun'"):
            host.connect()
    assert not log.exists()


@pytest.mark.parametrize("ssh_names,expected", [
    # Ansible's PlayContext: the old ansible_ssh_* name wins where both are set, at any
    # level (constants.MAGIC_VARIABLE_MAPPING: remote_user = ansible_ssh_user, ansible_user)
    ({"group": {"ansible_ssh_user": "old"}, "host": {"ansible_user": "new"}}, "old"),
    ({"group": {"ansible_user": "new"}, "host": {"ansible_ssh_user": "old"}}, "old"),
    ({"group": {"ansible_user": "grp"}, "host": {"ansible_user": "own"}}, "own"),
    ({"group": {"ansible_ssh_user": "old"}, "host": {"ansible_ssh_user": None,
                                                     "ansible_user": "new"}}, "new"),
])
def test_alias_precedence_is_ansibles(tmp_path, ssh_names, expected):
    path = tmp_path / "inv.yml"
    path.write_text(json.dumps({"web": {"vars": ssh_names["group"],
                                        "hosts": {"web1": ssh_names["host"]}}}))
    entry = load([str(path)]).hosts["web1"]
    assert entry.user == expected
    # the vars keep both names as written (what ansible-inventory --list prints)
    assert {k: v for k, v in entry.vars.items() if k.endswith("_user")} == \
        {**ssh_names["group"], **ssh_names["host"]}


def test_address_port_and_key_follow_the_same_rule(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text(textwrap.dedent("""
        all:
          vars: {ansible_ssh_host: 10.0.0.9, ansible_ssh_port: 2200,
                 ansible_ssh_private_key_file: keys/old}
          hosts:
            a: {ansible_host: 10.0.0.1, ansible_port: 22, ansible_private_key_file: keys/new}
            b: {ip: 192.0.2.7, ansible_ssh_host: "{{ addr }}", addr: "{{ ip }}",
                ansible_port: "{{ p }}", p: "2222"}
            c: {ansible_ssh_host: "{{ inventory_hostname }}"}
    """))
    hosts = load([str(path)]).hosts
    assert (hosts["a"].address, hosts["a"].port, hosts["a"].key_file) == \
        ("10.0.0.9", 2200, "keys/old")
    # a chain of `{{ var }}` references resolves; ansible_ssh_port (group) beats the
    # host's templated ansible_port
    assert (hosts["b"].address, hosts["b"].port, hosts["b"].refused) == \
        ("192.0.2.7", 2200, None)
    assert hosts["c"].address == "c"
    key = FleetHost(hosts["a"], ConnectOptions()).key_file
    assert key == str(tmp_path / "keys" / "old")


def test_a_reference_loop_is_a_refusal_not_a_hang(tmp_path):
    entry = HostEntry("x", {"ansible_host": "{{ a }}", "a": "{{ b }}", "b": "{{ a }}"},
                      ["all"], "inv")
    assert entry.refused == "ansible_host: the references ansible_host -> a -> b -> a do " \
        "not end in a value"


def test_ansible_cfg_defaults_sit_under_the_vars():
    entry = HostEntry("x", {}, ["all"], "inv",
                      defaults={"remote_user": "deploy", "private_key_file": "/k/id"})
    assert (entry.user, entry.key_file) == ("deploy", "/k/id")
    entry.vars["ansible_user"] = "admin"
    assert entry.user == "admin"


# -- docker, podman, kubectl, lxd through testinfra ----------------------------------

FAKE = """#!/bin/sh
# stands for {tool}: records its argv (one word per line, then a blank line) and runs
# the command after `/bin/sh -c` on this machine
for word in "$@"; do printf '%s\\n' "$word" >> {log}; done
echo >> {log}
while [ "$#" -gt 1 ] && ! [ "$1" = /bin/sh -a "$2" = -c ]; do shift; done
exec /bin/sh -c "$3"
"""


def fake_tool(tmp_path: Path, tool: str, log: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / tool
    path.write_text(FAKE.format(tool=tool, log=log))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


@pytest.mark.parametrize("hostvars,tool,argv", [
    ({"ansible_connection": "community.docker.docker", "ansible_user": "app"}, "docker",
     ["exec", "-u", "app", "c1", "/bin/sh", "-c"]),
    ({"ansible_connection": "containers.podman.podman"}, "podman",
     ["exec", "c1", "/bin/sh", "-c"]),
    ({"ansible_connection": "kubernetes.core.kubectl", "ansible_kubectl_namespace": "prod",
      "ansible_kubectl_container": "main"}, "kubectl",
     ["-n", "prod", "-c", "main", "exec", "c1", "--", "/bin/sh", "-c"]),
    ({"ansible_connection": "community.general.lxd"}, "lxc",
     ["exec", "c1", "--mode=non-interactive", "--", "/bin/sh", "-c"]),
])
def test_container_connections_run_through_testinfra(tmp_path, monkeypatch, hostvars,
                                                     tool, argv):
    log = tmp_path / "argv"
    monkeypatch.setenv("PATH", f"{fake_tool(tmp_path, tool, log)}{os.pathsep}"
                       f"{os.environ['PATH']}")
    host = FleetHost(HostEntry("c1", hostvars, ["all"], "inv"), ConnectOptions())
    assert host.run("echo %s", "a b;c").stdout == "a b;c\n"
    calls = [call.split("\n") for call in log.read_text().strip("\n").split("\n\n")]
    assert [call[:len(argv)] for call in calls] == [argv, argv]  # `true`, then the command
    assert calls[-1][len(argv)] == "echo 'a b;c'"


def test_a_container_command_has_the_command_timeout(tmp_path, monkeypatch):
    log = tmp_path / "argv"
    monkeypatch.setenv("PATH", f"{fake_tool(tmp_path, 'docker', log)}{os.pathsep}"
                       f"{os.environ['PATH']}")
    entry = HostEntry("c1", {"ansible_connection": "docker",
                             "fleetcheck_command_timeout": 1}, ["all"], "inv")
    host = FleetHost(entry, ConnectOptions())
    host.connect()
    start = time.monotonic()
    with pytest.raises(CommandTimeout):
        host.testinfra.backend.run("sleep 30")
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("hostvars,reason", [
    ({"ansible_connection": "docker", "ansible_host": "-privileged"},
     "not connecting: ansible_host must not start with '-'"),
    ({"ansible_connection": "kubectl", "ansible_kubectl_namespace": "--all"},
     "not connecting: ansible_kubectl_namespace must not start with '-'"),
])
def test_container_words_are_never_options(hostvars, reason):
    host = FleetHost(HostEntry("c1", hostvars, ["all"], "inv"), ConnectOptions())
    with pytest.raises(Unreachable, match=reason):
        host.connect()
