"""Connecting to hosts: the stage between the selected inventory hosts and their facts.

- backends: open_host() builds a testinfra Host for a HostEntry (local, the OpenSSH
  binary in openssh, paramiko in paramiko_backend; what they share in common; why a
  host cannot be reached in failures);
- hostkeys: the host key policy (strict unless --ssh-accept-new, never weakened by an
  ssh_config), known_hosts and ssh_config read once per process;
- hosts: FleetHost (one connection per host per process, its fact cache), HostPool;
- batch: several commands of one host in one remote command;
- commandlog: --command-log, every command as executed.
"""
