"""The files and users facts beyond their fixtures: the commands (quoted values, `--`,
hostile values refused), run for real on this machine over a scratch directory; the
baseline's judgement and severity; the files fixes as plans on data and applied to
scratch files (guard, chown/chmod, rollback); the account rules of users.accounts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.checks import test_users as users_check
from fleetcheck.facts import files, users
from fleetcheck.facts.base import FactError, ParseError, default_from_result
from fleetcheck.facts.files import PathState, Rule, WorldWritable
from fleetcheck.remediate.files import symbolic
from fleetcheck.remediation import PlanContext, lookup

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "facts"
LAB = files.parse((FIX / "files" / "debian12_lab_rootfs_faults.txt").read_text())
ACCOUNTS = users.parse((FIX / "users" / "debian12_lab_rootfs_faults.txt").read_text())
SHADOW = {"owner": "root", "group": ["shadow", "root"], "mode": "0640", "required": True}
ROOT = os.geteuid() == 0


def run(command) -> subprocess.CompletedProcess:
    return subprocess.run(command.render(), shell=True, capture_output=True, text=True,
                          timeout=60)


def gather(module, hostvars):
    command = module.command(hostvars)
    result = run(command)
    return default_from_result(module.parse, command, result.returncode, result.stdout,
                               result.stderr)


# ------------------------------------------------------------------ the commands

def test_files_command_quotes_every_value_after_double_dash():
    hostvars = {"files_permissions": {"/etc/a b; id": {"owner": "root", "mode": "0600"},
                                      "/etc/off": None},
                "files_world_writable": ["/srv/$(id)"]}
    rendered = files.command(hostvars).render()
    assert "'/etc/a b; id'" in rendered and "'/srv/$(id)'" in rendered
    assert "/etc/off" not in rendered            # null: not declared
    assert "stat -c 'stat %f %u %g %U %G %n' -- \"$p\"" in files.STAT_SCRIPT
    assert "getent passwd -- " in files.NAMES_SCRIPT
    assert files.command({}).render() == "true"


@pytest.mark.parametrize("hostvars, message", [
    ({"files_permissions": {"etc/shadow": {}}}, "must be an absolute path"),
    ({"files_permissions": {"/etc/../shadow": {}}}, "'..' component"),
    ({"files_permissions": {"/etc/x\n": {}}}, "control character"),
    ({"files_permissions": {"/etc/x": {"owner": "-oProxy=x"}}}, "must not start with '-'"),
    ({"files_permissions": {"/etc/x": {"group": ["root", "a b"]}}}, "must be a user name"),
    ({"files_permissions": {"/etc/x": {"group": []}}}, "must not be an empty list"),
    ({"files_permissions": {"/etc/x": {"mode": 416}}}, "octal mode in quotes"),
    ({"files_permissions": {"/etc/x": {"mode": "0800"}}}, "octal mode in quotes"),
    ({"files_world_writable": ["-delete"]}, "must be an absolute path"),
])
def test_files_command_refuses_hostile_values(hostvars, message):
    with pytest.raises(FactError, match=message):
        files.command(hostvars)


def test_users_command_takes_no_value_and_reads_no_hash():
    assert users.command({"users_baseline": {"present": ["$(id)"]}}).render() == \
        users.command({}).render()
    # what leaves the host for a password field is its class, never the field
    assert 'print "shadow:" $1 ":" cls($2)' in users.SCRIPT
    assert 'print "shadow:" $1 ":" $2' not in users.SCRIPT


@pytest.mark.skipif(not ROOT or shutil.which("getent") is None, reason="needs root")
def test_users_command_here_brings_classes_only():
    fact = gather(users, {})
    assert fact.shadow is not None and "root" in {a.name for a in fact.accounts}
    assert set(fact.shadow.values()) <= users.CLASSES
    raw = run(users.command({})).stdout
    assert "$" not in raw      # no crypt(3) string ($6$, $y$) reached the output


def test_files_command_here_on_a_scratch_tree(tmp_path):
    (tmp_path / "etc").mkdir()
    secret = tmp_path / "etc" / "shadow"
    secret.write_text("x")
    secret.chmod(0o644)
    (tmp_path / "etc" / "link").symlink_to(secret)
    writable = tmp_path / "etc" / "sp ace"
    writable.write_text("x")
    writable.chmod(0o666)
    odd = tmp_path / "etc" / "caf\u00e9\nx"
    odd.write_text("x")
    odd.chmod(0o646)
    (tmp_path / "etc" / "via-link").symlink_to(writable)
    hostvars = {"files_permissions": {str(secret): SHADOW,
                                      str(tmp_path / "etc/link"): {"mode": "0644"},
                                      str(tmp_path / "none"): SHADOW},
                "files_world_writable": [str(tmp_path / "etc"), str(tmp_path / "nodir")]}
    fact = gather(files, hostvars)
    state = fact.paths[str(secret)]
    assert (state.kind, state.mode, state.uid) == ("file", 0o644, os.geteuid())
    assert fact.paths[str(tmp_path / "etc/link")].kind == "symlink"
    assert not fact.paths[str(tmp_path / "none")].exists
    assert fact.scanned == [str(tmp_path / "etc")]
    assert fact.missing_dirs == [str(tmp_path / "nodir")]
    found = sorted((f.path or "", f.mode) for f in fact.world_writable)
    assert found == [("", 0o646), (str(writable), 0o666)]     # the odd name not shown


# ------------------------------------------------------------------ judging a path

@pytest.mark.parametrize("path, wrong, high", [
    ("/etc/shadow", ["mode 0644 has 0004 beyond 0640"], True),          # hashes readable
    ("/etc/gshadow", ["group daemon, expected shadow or root"], True),  # group reads it
    ("/etc/crontab", ["owner daemon, expected root"], True),
    ("/etc/ssh/sshd_config", ["mode 0664 has 0020 beyond 0644"], False),
    ("/etc/cron.d", ["mode 2755 has 2000 beyond 0755"], False),
    ("/etc/cron.allow", ["is a symbolic link (not followed: its target is not judged)"],
     False),
    ("/etc/passwd", [], False),
    ("/etc/sudoers.d", [], False),                                      # absent is fine
])
def test_problems_and_severity_on_the_lab_capture(path, wrong, high):
    baseline = {"/etc/shadow": SHADOW, "/etc/gshadow": dict(SHADOW, required=False),
                "/etc/crontab": {"owner": "root", "group": "root", "mode": "0644"},
                "/etc/ssh/sshd_config": {"owner": "root", "group": "root", "mode": "0644"},
                "/etc/cron.d": {"owner": "root", "group": "root", "mode": "0755"},
                "/etc/cron.allow": {"owner": "root", "group": ["root", "crontab"],
                                    "mode": "0640"},
                "/etc/passwd": {"owner": "root", "group": "root", "mode": "0644"},
                "/etc/sudoers.d": {"owner": "root", "group": "root", "mode": "0755"}}
    rule = files.rules({"files_permissions": {path: baseline[path]}})[path]
    assert files.problems(rule, LAB.paths[path]) == wrong
    assert files.exposes(rule, LAB.paths[path]) is high


@pytest.mark.parametrize("text, message", [
    ("scan /etc\nww  0 0 root root /etc/x\n", "line 2: expected 'MODE UID GID"),
    ("scan /etc\nwwodd 8 0 0 root root\n", "line 2: expected 'MODE UID GID"),
    ("stat 81a4 0 0 root root /etc/a\n" * 2, "line 2: /etc/a again"),
    ("stat 81a4 0 0 root root etc/a\n", "line 1: expected an absolute path"),
    ("stat 81a4 -1 0 root root /etc/a\n", "line 1: uid: expected a number"),
])
def test_files_parse_errors_name_the_line(text, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        files.parse(text)


def test_fewer_bits_pass_and_a_missing_required_path_does_not():
    rhel = PathState(True, "file", 0o000, 0, 0, "root", "root")
    rule = Rule("root", ("shadow", "root"), 0o640, required=True)
    assert files.problems(rule, rhel) == []
    assert files.problems(rule, PathState(False)) == ["required but missing"]
    assert files.problems(Rule(mode=0o640), None) == []


# ------------------------------------------------------------------ the plans

class Facts:
    def __init__(self, fact):
        self.fact = fact

    def get(self, name, /, **params):
        assert name == "files"
        return self.fact


def plan(check_id, hostvars, fact, item=None):
    return lookup(check_id)(PlanContext(check_id, "web1", hostvars, Facts(fact), item))


def plans(conf, fact):
    """files.permissions' plan of every path of `conf` (files_permissions)."""
    return {path: plan("files.permissions", {"files_permissions": conf}, fact, path)
            for path in conf}


def test_symbolic_modes_only_name_the_bits():
    assert symbolic(0o4062) == "u-s,g-rw,o-w"
    assert symbolic(0o2000) == "g-s" and symbolic(0o1007, "+") == "o+rwxt"


def test_permissions_plan_chmods_and_chowns_exactly_the_path():
    conf = {"/etc/shadow": SHADOW, "/etc/gshadow": SHADOW,
            "/etc/passwd": {"owner": "root", "group": "root", "mode": "0644"},
            "/etc/crontab": {"owner": "root", "mode": "0644"}}
    made = plans(conf, LAB)
    assert not any(p.refused for p in made.values())
    assert {path: [a.summary for a in p.actions] for path, p in made.items()} == {
        "/etc/shadow": ["/etc/shadow: chmod o-r (root:shadow 0644 -> root:shadow 0640)"],
        "/etc/gshadow": ["/etc/gshadow: chown :shadow (root:daemon 0640 -> root:shadow "
                         "0640)"],
        "/etc/passwd": [],
        "/etc/crontab": ["/etc/crontab: chown root (daemon:root 0644 -> root:root 0644)"]}
    assert made["/etc/passwd"].empty and "has its owner" in made["/etc/passwd"].reason
    shadow = made["/etc/shadow"].actions[0].command
    assert shadow.args[1:] == ("/etc/shadow", "644 0 42", "", "o-r")
    assert "chown -h -- \"$own\" \"$p\"" in shadow.args[0] and "-R" not in shadow.args[0]
    assert [a.command.args[1:] for path in ("/etc/shadow", "/etc/gshadow", "/etc/crontab")
            for a in made[path].on_rollback] == [
        ("/etc/shadow", "", "0:42", "00644"), ("/etc/gshadow", "", "0:1", "00640"),
        ("/etc/crontab", "", "1:0", "00644")]


def test_permissions_plan_sets_the_first_group_the_host_has():
    rhel = files.Files(paths={"/etc/shadow": PathState(True, "file", 0o640, 0, 4, "root",
                                                       "adm")}, users=["root"],
                       groups=["root"])                # no group shadow on RHEL
    p = plans({"/etc/shadow": SHADOW}, rhel)["/etc/shadow"]
    assert p.actions[0].command.args[3] == ":root"


@pytest.mark.parametrize("path, state, users, groups, why", [
    ("/etc/cron.allow", LAB.paths["/etc/cron.allow"], ["root"], ["root"], "symbolic link"),
    ("/etc/shadow", PathState(False), ["root"], ["root"], "required but missing"),
    ("/etc/shadow", PathState(True, "file", 0o640, 5, 42, "bob", "shadow"), [], ["shadow"],
     "owner root does not exist"),
    ("/etc/shadow", PathState(True, "file", 0o640, 0, 4, "root", "adm"), ["root"], [],
     "none of the groups shadow, root exists"),
])
def test_permissions_plan_refuses_what_has_no_safe_fix(path, state, users, groups, why):
    fact = files.Files(paths={path: state}, users=users, groups=groups)
    p = plans({path: SHADOW}, fact)[path]
    assert p.refused and why in p.reason


def test_permissions_plan_refuses_a_hostile_path_and_is_empty_when_right():
    p = plans({"/etc/../shadow": SHADOW}, LAB)["/etc/../shadow"]
    assert p.refused and "'..'" in p.reason
    p = plan("files.permissions", {"files_permissions": {"/etc/shadow": SHADOW}}, LAB,
             "/etc/passwd")
    assert p.refused and "does not declare '/etc/passwd'" in p.reason


def test_world_writable_plan_removes_o_w_from_the_listed_files_only():
    listed = files.Files(scanned=["/etc"], world_writable=[
        WorldWritable("/etc/fleetcheck-lab.conf", 0o666, 0, 0, "root", "root", "/etc"),
        WorldWritable("/etc/lab.d/with space.conf", 0o662, 0, 0, "root", "root", "/etc")])
    p = plan("files.world_writable", {"files_world_writable": ["/etc"]}, listed)
    assert [a.command.args[1:] for a in p.actions] == [
        ("/etc/fleetcheck-lab.conf", "666 0 0", "", "o-w"),
        ("/etc/lab.d/with space.conf", "662 0 0", "", "o-w")]
    assert [a.command.args[4] for a in p.on_rollback] == ["o+w", "o+w"]


def test_world_writable_plan_refuses_odd_names_and_cut_listings():
    p = plan("files.world_writable", {"files_world_writable": ["/etc"]}, LAB)
    assert p.refused and "not printable ASCII" in p.reason
    many = files.parse((FIX / "files" / "debian12_lab_many_world_writable.txt").read_text())
    p = plan("files.world_writable", {"files_world_writable": ["/etc/many"]}, many)
    assert p.refused and "more than 100" in p.reason


def test_fixes_applied_to_scratch_files_then_rolled_back(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("x")
    secret.chmod(0o4666)
    me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
    hostvars = {"files_permissions": {str(secret): {"owner": me, "group": group,
                                                    "mode": "0640"}},
                "files_world_writable": [str(tmp_path)]}
    fact = gather(files, hostvars)
    assert [f.path for f in fact.world_writable] == [str(secret)]
    p = plan("files.permissions", hostvars, fact, str(secret))
    assert p.actions[0].command.args[4] == "u-s,g-w,o-rw"
    for action in p.actions:
        assert run(action.command).returncode == 0
    assert secret.stat().st_mode & 0o7777 == 0o640
    again = gather(files, hostvars)
    assert plan("files.permissions", hostvars, again, str(secret)).empty
    assert not again.world_writable
    # applied twice: the guard sees the mode changed since the plan and refuses
    result = run(p.actions[0].command)
    assert result.returncode == 3 and "not '4666" in result.stderr
    for action in p.on_rollback:
        assert run(action.command).returncode == 0
    assert secret.stat().st_mode & 0o7777 == 0o4666


def test_the_guard_never_goes_through_a_symbolic_link(tmp_path):
    target = tmp_path / "target"
    target.write_text("x")
    target.chmod(0o666)
    link = tmp_path / "link"
    link.symlink_to(target)
    listed = files.Files(scanned=[str(tmp_path)], world_writable=[
        WorldWritable(str(link), 0o666, os.geteuid(), os.getegid(), "x", "x",
                      str(tmp_path))])
    p = plan("files.world_writable", {"files_world_writable": [str(tmp_path)]}, listed)
    result = run(p.actions[0].command)
    assert result.returncode == 3 and "symbolic link" in result.stderr
    assert target.stat().st_mode & 0o777 == 0o666


# ------------------------------------------------------------------ the account rules

class Evidence(dict):
    severity = None

    def add(self, **values):
        self.update(values)


def judge(rule, setting, fact=ACCOUNTS):
    evidence = Evidence()
    try:
        users_check.RULES[rule](fact, setting, evidence)
    except AssertionError as exc:
        return str(exc).splitlines()[0], evidence
    return None, evidence


def test_uid0_rule():
    message, evidence = judge("uid0", ["root"])
    assert message == "UID 0 account(s) besides root: toor"
    assert evidence["uid0"] == ["root", "toor"]
    assert judge("uid0", ["root", "toor"])[0] is None


def test_empty_password_rule_reads_passwd_and_shadow():
    message, evidence = judge("empty_password", {})
    assert message == "account(s) with an empty password: games, kiosk"
    assert evidence["password_classes"]["set"] == 1          # alice; bob is locked
    assert judge("empty_password", {"exempt": ["games", "kiosk"]})[0] is None
    unreadable = users.parse((FIX / "users" / "debian12_lab_rootfs_not_root.txt").read_text())
    with pytest.raises(pytest.fail.Exception, match="cannot be read"):
        judge("empty_password", {}, unreadable)


def test_system_shell_rule():
    message, evidence = judge("system_shell", {})
    assert message == ("system account(s) with a login shell: daemon (uid 1: /bin/bash), "
                       "news (uid 9: empty, that is /bin/sh), toor (uid 0: /bin/bash)")
    assert evidence.severity == "medium" and evidence["uid_min"] == 1000
    ok, _ = judge("system_shell", {"exempt": ["root", "sync", "daemon", "news", "toor"]})
    assert ok is None


def test_present_rule():
    assert judge("present", ["alice", "carol"])[0] == "declared account(s) missing: carol"
    with pytest.raises(pytest.skip.Exception):
        judge("present", [])


def test_login_defs_numbers_as_shadow_utils_reads_them():
    fact = users.parse("passwd:a:x:500:500:/bin/sh\nnoshadow\ndefs:UID_MIN:0x1f4\n"
                       "defs:SYS_UID_MAX:0777\n")
    assert fact.login_defs == {"UID_MIN": 500, "SYS_UID_MAX": 511}
    assert not fact.is_system(fact.accounts[0]) and users.parse("").defs("UID_MIN") == 1000


def test_fixture_sources_say_where_they_came_from():
    for case in sorted(FIX.glob("files/*.json")) + sorted(FIX.glob("users/*.json")):
        source = json.loads(case.read_text())["source"]
        assert source.startswith(("captured", "derived")), case.name
