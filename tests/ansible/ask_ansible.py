"""ansible-core's answers for one parity case, as JSON on stdout. Run as a subprocess
with the venv's python, from the case's directory, never imported by the tests:

    python ask_ansible.py '{"sources": [...], "playbook_dir": ..., "vault_password_file":
                            ..., "limits": [...]}'

It parses the arguments as the `ansible` command does (AdHocCLI, then the plugin
loader as CLI.run starts it), builds Ansible's own
loader, inventory and variable manager (CLI._play_prereqs, as `ansible` does), and
answers with Ansible's own code for each question:

- "order": ``ansible all --list-hosts`` (CLI.get_host_list with no subset);
- "limits": for each pattern, ``ansible all --list-hosts --limit PATTERN`` (the same
  function with the pattern as subset), or the error Ansible stops with;
- "connection": for each host, what the ssh connection plugin would use: its options
  host, port, remote_user and private_key_file, set from the host's vars as the task
  executor sets them (each var the plugin reads templated first), and the become
  method and connection the play context would take.

Nothing connects: the connection plugin object is made and asked for its options only.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    case = json.loads(sys.argv[1])
    argv = ["ansible", "all", "--list-hosts"]
    for source in case["sources"]:      # none: ansible.cfg's inventory, as for `ansible`
        argv += ["-i", source]
    if case.get("playbook_dir"):
        argv += ["--playbook-dir", case["playbook_dir"]]
    if case.get("vault_password_file"):
        argv += ["--vault-password-file", case["vault_password_file"]]

    from ansible.cli import CLI
    from ansible.cli.adhoc import AdHocCLI
    from ansible.errors import AnsibleError
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader, init_plugin_loader
    from ansible.template import Templar

    cli = AdHocCLI(argv)
    cli.parse()
    init_plugin_loader([])         # as CLI.run does after parsing: collections load
    loader, inventory, variables = cli._play_prereqs()

    def listed(subset):
        inventory.subset(None)
        inventory.clear_pattern_cache()
        try:
            return {"hosts": [h.name for h in CLI.get_host_list(inventory, subset)]}
        except AnsibleError as exc:
            return {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}

    answer = {"order": listed(None), "limits": {p: listed(p) for p in case.get("limits", [])}}
    inventory.subset(None)
    inventory.clear_pattern_cache()

    from ansible import constants as C

    connection_loader.get("ssh", PlayContext(), None)    # loads the plugin's definitions
    definitions = C.config.get_configuration_definitions("connection", "ssh")
    connection = {}
    options = ("host", "port", "remote_user", "private_key_file")
    for host in inventory.list_hosts("all"):
        hostvars = variables.get_vars(host=host, include_hostvars=True)
        templar = Templar(loader=loader, variables=hostvars)
        try:
            plugin = connection_loader.get("ssh", PlayContext(), None)
            names = {var["name"] for option in options
                     for var in definitions[option].get("vars", [])
                     if "[" not in var["name"]}
            given = {name: templar.template(hostvars[name]) for name in names
                     if name in hostvars}
            plugin.set_options(var_options=given)
            found = {option: plugin.get_option(option) for option in options}
            found["connection"] = templar.template(hostvars.get("ansible_connection", "ssh"))
            found["become_method"] = templar.template(
                hostvars.get("ansible_become_method", "sudo"))
        except Exception as exc:  # noqa: BLE001 - the answer says what Ansible said
            found = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        connection[host.name] = json.loads(json.dumps(found, default=str))
    answer["connection"] = connection
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
