"""Ansible as a peer: ansible-playbook (ansible-core) runs each host's commands with
the shell module, over OpenSSH with Ansible's default ControlPersist, pipelining on.

    from bench.peers.ansible import run_ansible
    run_ansible({"web1": ["uptime"]}, Path("lab/state/inventory.yml"), 50, Path("/tmp/a"))

Everything it needs is written into `workdir`: ansible.cfg, the inventory (from the
fleetcheck inventory, the commands as a host var), the one-task playbook, the
ControlPath sockets and Ansible's local temporary files.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from fleetcheck import inventory
from fleetcheck.connect.hosts import ConnectOptions, FleetHost
from fleetcheck.inventory import HostEntry

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: bench commands
      ansible.builtin.shell: "{{ item }}"
      loop: "{{ bench_commands }}"
      changed_when: false
      failed_when: false
"""

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.MULTILINE)


class Unsafe(str):
    """A command Ansible must not template (`{{`, `{%` and `{#` are shell text here)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", value))


def config(forks: int, workdir: Path) -> str:
    return f"""\
[defaults]
inventory = {workdir / "inventory.yml"}
forks = {forks}
host_key_checking = True
gathering = explicit
retry_files_enabled = False
display_ok_hosts = False
display_skipped_hosts = False
local_tmp = {workdir / "tmp"}

[ssh_connection]
pipelining = True
control_path_dir = {workdir / "cp"}
"""


def host_vars(entry: HostEntry, commands: list[str]) -> dict:
    """Connection vars with the key and known_hosts as absolute paths, and the commands."""
    fleet_host = FleetHost(entry, ConnectOptions())
    values = {"ansible_host": entry.address, "ansible_port": entry.port,
              "ansible_python_interpreter": "/usr/bin/python3"}
    if entry.user:
        values["ansible_user"] = entry.user
    if fleet_host.key_file:
        values["ansible_ssh_private_key_file"] = fleet_host.key_file
    known_hosts = fleet_host.path_var("fleetcheck_known_hosts")
    values["ansible_ssh_common_args"] = "-o StrictHostKeyChecking=yes" + (
        f" -o UserKnownHostsFile={shlex.quote(known_hosts)}" if known_hosts else "")
    values["bench_commands"] = [Unsafe(c) for c in commands]
    return values


def run_ansible(commands_by_host: dict[str, list[str]], inventory_path: Path, forks: int,
                workdir: Path) -> dict:
    """Run every host's commands (their exit codes are not judged); wall seconds of
    ansible-playbook, its exit code, and from PLAY RECAP how many hosts ran everything
    (ok) and how many could not be reached."""
    workdir = Path(workdir).resolve()
    for sub in ("cp", "tmp"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    entries = inventory.load([Path(inventory_path)]).hosts
    hosts = {name: host_vars(entries[name], commands)
             for name, commands in commands_by_host.items()}
    (workdir / "inventory.yml").write_text(
        yaml.dump({"all": {"hosts": hosts}}, Dumper=_Dumper, sort_keys=False))
    (workdir / "playbook.yml").write_text(PLAYBOOK)
    (workdir / "ansible.cfg").write_text(config(forks, workdir))
    playbook = Path(sys.executable).parent / "ansible-playbook"
    env = dict(os.environ, ANSIBLE_CONFIG=str(workdir / "ansible.cfg"))
    start = time.monotonic()
    done = subprocess.run([str(playbook), str(workdir / "playbook.yml")], env=env,
                          cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, errors="replace")
    seconds = time.monotonic() - start
    close_masters(workdir / "cp")
    recap = RECAP.findall(done.stdout)
    return {"seconds": round(seconds, 2), "rc": done.returncode, "hosts": len(recap),
            "ok": sum(1 for _, _, unreachable, failed in recap
                      if unreachable == "0" and failed == "0"),
            "unreachable": sum(1 for _, _, unreachable, _ in recap if unreachable != "0"),
            "stdout_tail": (done.stdout + done.stderr)[-3000:]}


def close_masters(control_dir: Path) -> None:
    """End the ControlPersist masters this run started, so the next run starts cold."""
    for socket in control_dir.iterdir():
        subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={socket}", "bench-peer"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
