"""The declared schema of every var (fleetcheck.varschema): each bad definition is one
line with file:line, the group or host and the var path, exit 4, before any host is
touched; names within a typo of a fleetcheck var are warnings; values are typed for the
domain they go to (sshd's yes/no, the kernel's 1/0) by one function each, which the
check and the fix both use."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fleetcheck import varschema
from fleetcheck.facts import sshd as sshd_fact
from fleetcheck.facts import sysctl as sysctl_fact
from fleetcheck.facts.file import FileState
from fleetcheck.facts.sysctl import Sysctl
from fleetcheck.inventory import InventoryError, load
from fleetcheck.remediation import PlanContext, lookup

ROOT = Path(__file__).resolve().parents[2]
CAPTURED_SSHD = ROOT / "tests" / "fixtures" / "facts" / "sshd" / "debian12_openssh92_defaults.txt"


def write(tmp_path: Path, text: str, name: str = "inv.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(path: Path) -> str:
    with pytest.raises(InventoryError) as info:
        load([str(path)])
    return str(info.value)


def group_var(yaml_value: str) -> str:
    """An inventory whose group 'web' (line 5: the var) sets one var."""
    return ("all:\n  children:\n    web:\n      vars:\n        " + yaml_value
            + "\n      hosts:\n        web1:\n")


# -- every bad input of issue 14: one line, file:line, the var path ------------------

BAD = {
    "thresholds a number": (
        "capacity: {disk: {usage_pct: 85}}",
        "group 'web': capacity.disk.usage_pct: expected {warn, crit} (each a number or a "
        "Nagios range), got an integer 85"),
    "unknown threshold key": (
        "capacity: {disk: {usage_pct: {warn: 80, critical: 9}}}",
        "group 'web': capacity.disk.usage_pct.critical: unknown key (did you mean crit?)"),
    "threshold that does not parse": (
        "capacity: {disk: {usage_pct: {warn: high}}}",
        "group 'web': capacity.disk.usage_pct.warn: expected a number or a Nagios range "
        "(\"~:85\", \"10:\", \"@0:5\"): not a Nagios range: 'high'"),
    "Nagios range backwards": (
        "capacity: {load: {load5_per_cpu: {crit: '9:1'}}}",
        "group 'web': capacity.load.load5_per_cpu.crit: expected a number or a Nagios "
        "range (\"~:85\", \"10:\", \"@0:5\"): Nagios range '9:1': start is above end"),
    "per-mount threshold": (
        "capacity: {disk: {mounts: {/var/log: {usage_pct: {warn: '~:x'}}}}}",
        "group 'web': capacity.disk.mounts['/var/log'].usage_pct.warn: expected a number "
        "or a Nagios range (\"~:85\", \"10:\", \"@0:5\"): not a Nagios range: '~:x'"),
    "misspelt capacity key": (
        "capacity: {disk: {usage_pc: {warn: 80}}}",
        "group 'web': capacity.disk.usage_pc: unknown key (did you mean usage_pct?)"),
    "services a string": (
        "services: cron",
        "group 'web': services: expected a list of service names (like [ssh, cron]), got "
        "a string 'cron'"),
    "sshd a string": (
        "sshd: PermitRootLogin no",
        "group 'web': sshd: expected a mapping of Directive: value (like "
        "{PermitRootLogin: no}), got a string 'PermitRootLogin no'"),
    "sysctl a list": (
        "sysctl: [vm.swappiness]",
        "group 'web': sysctl: expected a mapping of key: value (like "
        "{net.ipv4.ip_forward: 0}), got a list ['vm.swappiness']"),
    "vmstat samples zero": (
        "capacity: {vmstat: {samples: 0}}",
        "group 'web': capacity.vmstat.samples: expected at least 1, got an integer 0"),
    "raid array without a name": (
        "raid: {arrays: [{level: raid1, devices: 2}]}",
        "group 'web': raid.arrays[0]: missing name (meaningless without it)"),
    "raid devices a word": (
        "raid: {arrays: [{name: md0, devices: two}]}",
        "group 'web': raid.arrays[0].devices: expected an integer, got a string 'two'"),
    "updates auto_apply a word": (
        "updates: {auto_apply: 'yes'}",
        "group 'web': updates.auto_apply: expected true or false, got a string 'yes'"),
    "updates misspelt": (
        "updates: {max_pendng: 3}",
        "group 'web': updates.max_pendng: unknown key (did you mean max_pending?)"),
    "dns timeout": (
        "dns: {zone: lab.test, timeout: 0}",
        "group 'web': dns.timeout: expected above 0, got an integer 0"),
    "samba share flag a word": (
        "samba: {shares: [{name: pub, path: /srv/pub, guest_okay: true}]}",
        "group 'web': samba.shares[0].guest_okay: unknown key (did you mean guest_ok?)"),
    "nfs export options a string": (   # the value kind says it first (fleetcheck.values)
        "nfs: {exports: [{path: /srv/x, options: rw}]}",
        "group 'web': nfs.exports[0].options: the value must be a list of options, got a "
        "string 'rw'"),
    "nfs export misspelt": (
        "nfs: {exports: [{path: /srv/x, option: [rw]}]}",
        "group 'web': nfs.exports[0].option: unknown key (did you mean options?)"),
    "impossible date": (    # the YAML loader's own check
        "anything: 2026-02-30",
        "YAML value error: '2026-02-30' is not a valid date: day is out of range for month"),
    "offline a word": (
        "fleetcheck_offline: maybe",
        "group 'web': fleetcheck_offline: expected a boolean (true/false, yes/no), got a "
        "string 'maybe'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_definition_is_one_line_with_file_line_and_var_path(tmp_path, case):
    yaml_value, reason = BAD[case]
    path = write(tmp_path, group_var(yaml_value))
    assert refused(path) == f"{path}:5: {reason}"


def test_a_host_definition_names_the_host(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    web1:\n      sysctl: {vm.swappiness: {a: 1}}\n")
    assert refused(path) == (
        f"{path}:4: host 'web1': sysctl.vm.swappiness: the value must be a number, a "
        "string, a boolean or a list of those, got a mapping {'a': 1}")


def from_json(data: dict):
    """What an inventory script or an HTTP source of truth serves."""
    from fleetcheck.inventory.build import InventoryBuilder
    from fleetcheck.inventory.dynamic import add_json

    builder = InventoryBuilder()
    add_json(data, "cmdb", builder)
    return builder.finish()


def test_dynamic_json_definitions_are_validated():
    with pytest.raises(InventoryError) as info:
        from_json({"web": {"hosts": ["web1"],
                           "vars": {"capacity": {"disk": {"usage_pct": 85}}}}})
    assert str(info.value) == ("cmdb: group 'web': capacity.disk.usage_pct: expected "
                               "{warn, crit} (each a number or a Nagios range), got an "
                               "integer 85")


def test_every_error_of_one_definition_is_listed_by_problems():
    assert varschema.problems("nfs", {"ganesha_conf": 1, "exports": [{"path": "/x",
                                                                       "clients": 5}]}) == [
        "nfs.exports[0].clients: expected a client or a list of clients, got an integer 5",
        "nfs.ganesha_conf: expected a string, got an integer 1"]


def test_partial_definitions_merge_into_a_whole(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    capacity: {disk: {usage_pct: {warn: 70}}}\n"
                 "  hosts:\n    web1:\n      capacity: {disk: {usage_pct: {crit: 90}}}\n")
    inventory = load([str(path)])
    assert inventory.hosts["web1"].vars["capacity"]["disk"]["usage_pct"] == {"warn": 70,
                                                                             "crit": 90}


def test_null_unsets_and_is_not_validated(tmp_path):
    path = write(tmp_path, group_var("capacity: {disk: {usage_pct: null, inodes_pct: "
                                     "{warn: null}}}"))
    load([str(path)])


def test_vars_that_are_not_fleetcheck_s_are_allowed(tmp_path):
    path = write(tmp_path, group_var("role: {anything: [1, {x: y}]}"))
    inventory = load([str(path)])
    assert inventory.var_warnings == []


# -- through the plugin: exit 4, one line, no traceback, no host touched -------------

CHECK = """
import pytest
@pytest.mark.check("demo.touch", severity="info")
def test_touch(host):
    raise AssertionError("a host was touched")
"""


@pytest.mark.parametrize("yaml_value, pattern", [
    ("capacity: {disk: {usage_pct: 85}}",
     r"ERROR: inv\.yml:5: group 'web': capacity\.disk\.usage_pct: expected \{warn, crit\}.*"),
    ("capacity: {disk: {usage_pct: {warn: high}}}",
     r"ERROR: inv\.yml:5: group 'web': capacity\.disk\.usage_pct\.warn: .*'high'"),
    ("sysctl: [vm.swappiness]", r"ERROR: inv\.yml:5: group 'web': sysctl: expected a mapping.*"),
    ("capacity: {disk: {usage_pc: {warn: 1}}}",
     r"ERROR: inv\.yml:5: .*capacity\.disk\.usage_pc: unknown key \(did you mean usage_pct\?\)"),
])
def test_plugin_exit_4_one_line(pytester, yaml_value, pattern):
    pytester.makefile(".yml", inv=group_var(yaml_value))
    pytester.makepyfile(test_touch=CHECK)
    res = pytester.runpytest_subprocess("--inventory", "inv.yml")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in res.stderr.lines if line.strip()]
    assert len(lines) == 1, res.stderr.lines
    res.stderr.re_match_lines([pattern])
    assert "Traceback" not in res.stdout.str() + res.stderr.str()
    assert "a host was touched" not in res.stdout.str()


def test_hosts_command_exit_4(tmp_path):
    path = write(tmp_path, group_var("services: cron"))
    res = subprocess.run([sys.executable, "-m", "fleetcheck", "hosts", "--inventory",
                          str(path)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 4
    assert f"{path}:5: group 'web': services: expected a list" in res.stderr
    assert "Traceback" not in res.stderr


# -- names within a typo of a fleetcheck var: warnings -------------------------------

@pytest.mark.parametrize("name, like", [("capacty", "capacity"), ("sysctls", "sysctl"),
                                        ("service", "services"), ("Services", "services"),
                                        ("fleetcheck_waiver", "fleetcheck_waivers"),
                                        ("ansible_hots", "ansible_host"),
                                        ("SSHD", "sshd"), ("Capacity", "capacity")])
def test_typo_of_a_fleetcheck_var_is_a_warning_with_file_and_line(tmp_path, name, like):
    path = write(tmp_path, group_var(f"{name}: {{}}"))
    inventory = load([str(path)])
    assert inventory.var_warnings == [
        f"{path}:5: group 'web': {name}: not a var fleetcheck reads; did you mean {like}?"]


def test_typo_warnings_from_dynamic_json():
    inventory = from_json({"_meta": {"hostvars": {"web1": {"sysctls": {}}}}})
    assert inventory.var_warnings == [
        "cmdb: host 'web1': sysctls: not a var fleetcheck reads; did you mean sysctl?"]


@pytest.mark.parametrize("name", ["role", "env", "lab_subnet", "ansible_ssh_pass",
                                  "ansible_python_interpreter", "dns_servers", "backup"])
def test_other_vars_are_not_warned_about(name):
    assert varschema.typo(name) is None


def test_strict_vars_option_exists():
    from fleetcheck import options  # noqa: F401  (the lead wires it: see the report)

    assert "--strict-vars" in Path(options.__file__).read_text()


# -- the declarations ------------------------------------------------------------------

def test_every_schema_is_valid_with_a_description_everywhere():
    varschema.check_schemas()


def test_areas_are_the_check_prefixes_and_engine():
    assert list(varschema.by_area()) == ["capacity", "raid", "sysctl", "service", "sshd",
                                         "samba", "nfs", "updates", "dns", "files", "users",
                                         "net", "time", "fs", "kernel", "lvm", "boot", "web", "pam", "mail", "dhcp", "proxy", "ldap", "ftp", "vpn", "vm",
                                         "engine"]
    assert set(varschema.by_area()["nfs"]["nfs"]["properties"]) == {"exports",
                                                                    "ganesha_conf"}


def test_every_var_the_code_reads_is_declared():
    declared = varschema.schemas()
    for name in ("capacity", "raid", "sysctl", "services", "service_processes", "sshd",
                 "samba", "nfs", "updates", "apt", "dns", "dns_addresses", "ansible_host",
                 "ansible_port", "ansible_user", "ansible_become", "ansible_connection",
                 "fleetcheck_waivers", "fleetcheck_columns", "fleetcheck_offline", "online",
                 "fleetcheck_lock_dir", "fleetcheck_backup_dir", "fleetcheck_command_timeout",
                 "fleetcheck_connect_timeout", "fleetcheck_known_hosts",
                 "fleetcheck_ssh_config", "fleetcheck_proxy_jump"):
        assert name in declared, name


# fleetcheck's own inventories; not the Ansible parity fixtures (other projects' shapes,
# their vars files and plugin configs: tests/fixtures/ansible, .../inventory/{delegate,
# vardirs,ini}), whose vars are the shops' and may sit a typo from one of fleetcheck's
_FOREIGN = ({"fixtures", "ansible"}, {"inventory", "delegate"}, {"inventory", "vardirs"},
            {"inventory", "ini"})
SHIPPED = [ROOT / "inventories" / "lab.yml", ROOT / "inventories" / "local.yml",
           ROOT / "fleetcheck" / "data" / "local.yml",
           *sorted(p for p in (ROOT / "tests").rglob("*.yml")
                   if not any(parts <= set(p.relative_to(ROOT).parts) for parts in _FOREIGN))]


@pytest.mark.parametrize("path", [p for p in SHIPPED if p.exists() and "facts" not in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_inventory_loads_without_warnings(path):
    inventory = load([str(path)])
    assert inventory.var_warnings == []


# -- values typed for their domain ------------------------------------------------------

TRUE = ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
FALSE = ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]


def loaded(tmp_path, var: str, key: str, spelling: str):
    path = write(tmp_path, f"all:\n  hosts:\n    web1:\n      {var}: {{{key}: {spelling}}}\n")
    return load([str(path)]).hosts["web1"].vars[var][key]


@pytest.mark.parametrize("spelling", TRUE + FALSE)
def test_sshd_words_for_every_yaml_boolean(tmp_path, spelling):
    value = loaded(tmp_path, "sshd", "UseDNS", spelling)
    assert sshd_fact.word(value) == ("yes" if spelling in TRUE else "no")


@pytest.mark.parametrize("spelling", TRUE + FALSE)
def test_kernel_values_for_every_yaml_boolean(tmp_path, spelling):
    value = loaded(tmp_path, "sysctl", "net.ipv4.ip_forward", spelling)
    assert sysctl_fact.kernel_value(value) == ("1" if spelling in TRUE else "0")


def test_numbers_and_lists_in_their_domain():
    assert sshd_fact.word(300) == "300"
    assert sshd_fact.word(["alice", "bob"], "AllowUsers") == "alice bob"
    assert sshd_fact.word(["aes256-ctr", "aes128-ctr"], "Ciphers") == "aes256-ctr,aes128-ctr"
    assert sshd_fact.word("prohibit-password") == "prohibit-password"
    assert sysctl_fact.kernel_value([32768, 60999]) == "32768 60999"
    assert sysctl_fact.kernel_value(10.0) == "10"
    assert sysctl_fact.kernel_value("|/usr/lib/core %p") == "|/usr/lib/core %p"


class _Evidence(dict):
    def add(self, **values):
        self.update(values)


class _Host:
    def __init__(self, vars):
        self.vars = vars


def _check_module(name: str):
    spec = importlib.util.spec_from_file_location(f"_checks_{name}",
                                                  ROOT / "checks" / f"test_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sshd_check_passes_with_yaml_booleans_on_captured_sshd_t(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    web1:\n      sshd: {UseDNS: no, "
                 "PubkeyAuthentication: true}\n")
    host = _Host(load([str(path)]).hosts["web1"].vars)
    facts = type("Facts", (), {"sshd": sshd_fact.parse(CAPTURED_SSHD.read_text())})()
    check = _check_module("sshd").test_sshd_config
    for item in ("UseDNS", "PubkeyAuthentication"):
        evidence = _Evidence()
        check(host, facts, item, evidence)   # raises AssertionError on a failure
        assert evidence["expected"] == {"UseDNS": "no", "PubkeyAuthentication": "yes"}[item]


def test_sysctl_check_passes_with_a_yaml_boolean(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    web1:\n      sysctl: "
                 "{net.ipv4.ip_forward: false}\n")
    host = _Host(load([str(path)]).hosts["web1"].vars)
    facts = type("Facts", (), {"sysctl": sysctl_fact.parse("net.ipv4.ip_forward = 0\n")})()
    evidence = _Evidence()
    _check_module("sysctl").test_sysctl_value(host, facts, "net.ipv4.ip_forward", evidence)
    assert evidence["expected"] == "0"


class _Facts:
    def __init__(self, files=None, **values):
        self.files, self.values = files or {}, values

    def get(self, fact, /, **params):
        if fact == "file":
            content = self.files.get(params["path"])
            if content is None:
                return FileState(exists=False)
            import base64

            return FileState(True, 0o644, "root", "root", base64.b64encode(content).decode())
        return self.values[fact]


def _plan(check_id, vars, item, facts):
    return lookup(check_id)(PlanContext(check_id, "web1", vars, facts, item))


def test_sshd_fix_writes_sshd_words():
    import fleetcheck.remediate.sshd  # noqa: F401  (registers the fix)

    text = b"UseDNS yes\nPubkeyAuthentication no\n"
    facts = _Facts({"/etc/ssh/sshd_config": text})
    plan = _plan("sshd.config", {"sshd": {"UseDNS": False}}, "UseDNS", facts)
    assert "UseDNS no\n" in plan.actions[0].content.decode()
    plan = _plan("sshd.config", {"sshd": {"PubkeyAuthentication": True}},
                 "PubkeyAuthentication", facts)
    assert "PubkeyAuthentication yes\n" in plan.actions[0].content.decode()


def test_sysctl_fix_writes_kernel_values():
    import fleetcheck.remediate.sysctl  # noqa: F401  (registers the fix)

    facts = _Facts(sysctl=Sysctl({"net.ipv4.ip_forward": "1"}))
    plan = _plan("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": False}},
                 "net.ipv4.ip_forward", facts)
    assert "net.ipv4.ip_forward = 0\n" in plan.actions[0].content.decode()
    assert plan.actions[1].command.render() == "sysctl -w net.ipv4.ip_forward=0"


@pytest.mark.root("sysctl lives in /sbin, on root's PATH (the check runs it)")
def test_sysctl_boolean_passes_on_this_machine(pytester):
    """A real local run: this machine's net.ipv4.ip_forward, declared as a YAML boolean."""
    actual = subprocess.run(["sysctl", "-n", "net.ipv4.ip_forward"], capture_output=True,
                            text=True)
    if actual.returncode != 0:
        pytest.skip("no sysctl here")
    spelling = {"0": "false", "1": "true"}[actual.stdout.strip()]
    pytester.makefile(".yml", inv=f"""
all:
  vars:
    sysctl: {{net.ipv4.ip_forward: {spelling}}}
  hosts:
    box: {{ansible_connection: local}}
""")
    res = pytester.runpytest("--inventory", "inv.yml", "-p", "no:randomly",
                             str(ROOT / "checks" / "test_sysctl.py"), "-k", "not baseline",
                             "--rootdir", str(pytester.path))
    data = json.loads((pytester.path / "reports" / "last" / "results.json").read_text())
    (record,) = data["records"]   # the baseline's keys are sysctl.baseline's records
    assert record["check_id"] == "sysctl.value" and record["outcome"] == "passed", record


# -- the merged vars -----------------------------------------------------------------

def test_a_numeric_threshold_needs_both_levels_once_merged(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    capacity: {disk: {mounts: {/var/log: "
                 "{usage_pct: {warn: 90}}}}}\n  hosts:\n    web1:\n")
    assert refused(path) == (
        f"{path}: host 'web1': capacity.disk.mounts['/var/log'].usage_pct: warn 90 without "
        "crit (numbers need both: crit >= warn says a higher value is worse; or use a "
        "Nagios range) (the merged vars)")


def test_levels_set_in_a_group_and_a_host_are_whole(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    capacity: {load: {load1_per_cpu: {warn: 2}}}\n"
                 "  hosts:\n    web1:\n      capacity: {load: {load1_per_cpu: {crit: 4}}}\n"
                 "    web2:\n      capacity: {load: {load1_per_cpu: {crit: '~:4'}}}\n")
    load([str(path)])
    path = write(tmp_path, "all:\n  vars:\n    capacity: {load: {load1_per_cpu: {warn: '~:2'}}}"
                 "\n  hosts:\n    web1:\n")
    load([str(path)])   # a Nagios range alone says what it alerts on


def test_many_bad_entries_stop_at_one_line(tmp_path):
    """50,000 bad per-mount thresholds: one line (the load stops at a first error)."""
    mounts = ", ".join(f"/m{i}: {{usage_pct: {{warn: x}}}}" for i in range(50_000))
    path = write(tmp_path, group_var(f"capacity: {{disk: {{mounts: {{{mounts}}}}}}}"))
    reason = refused(path)
    assert reason.startswith(f"{path}:5: group 'web': capacity.disk.mounts['/m")
    assert reason.endswith(".usage_pct.warn: expected a number or a Nagios range "
                           "(\"~:85\", \"10:\", \"@0:5\"): not a Nagios range: 'x'")


def test_every_area_module_s_value_kinds_are_checked_at_load():
    # a module that declares an area's vars but gathers nothing (fleetcheck.facts.postfix,
    # lvm) has its kinds checked too, not only the fact modules'
    import importlib

    from fleetcheck import values

    declared = values.declared()
    for modules in varschema.AREAS.values():
        for name in modules:
            kinds = getattr(importlib.import_module(name), "VALUE_KINDS", {})
            assert set(kinds) <= set(declared), name
    assert "mail.open_relay.mynetworks" in declared and "lvm.report_dir" in declared
