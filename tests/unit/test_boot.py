"""The boot area: the parsers' edge cases (beyond the captured fixtures), runlevels and
targets, the checks over given facts, the plans, and the var's schema."""

from __future__ import annotations

import base64
from pathlib import Path

import checkrun
import pytest

from fleetcheck import values, varschema
from fleetcheck.facts import ParseError, boot, boot_enabled
from fleetcheck.facts.file import FileState
from fleetcheck.remediation import PlanContext, lookup

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "facts"
DEFAULTS = {"default_target": None, "enabled": [], "disabled": [], "services_enabled": True}


def captured(fact, case):
    module = {"boot": boot, "boot_enabled": boot_enabled}[fact]
    return module.parse((ROOT / fact / f"{case}.txt").read_text())


# -- parsers ---------------------------------------------------------------------------

def test_get_default_marked_and_bare():
    assert boot.parse("fleetcheck-boot: systemd\nmulti-user.target\n").target == \
        "multi-user.target"
    assert boot.parse("fleetcheck-boot: systemd\n").target is None   # no default.target
    assert boot.parse("graphical.target\n").system == "systemd"


@pytest.mark.parametrize("text, where", [
    ("fleetcheck-boot: none\nid:2:initdefault:\n", "line 2"),
    ("fleetcheck-boot: systemd\nmulti user\n", "line 2"),
    ("fleetcheck-boot: upstart\n", "line 1"),
    ("id:7:initdefault:\n", "line 1"),
    ("id:2:initdefault:\nx:2:Respawn:/bin/x\n", "line 2"),
])
def test_boot_refuses(text, where):
    with pytest.raises(ParseError, match=where):
        boot.parse(text)


def test_inittab_last_initdefault_wins_and_empty_is_none():
    tab = boot.parse("id:3:initdefault:\n# x\nid:5:initdefault:\n")
    assert tab.runlevel == "5" and tab.initdefault_lines == [1, 3]
    assert boot.parse("id::initdefault:\n").runlevel is None
    assert boot.parse("id:s:initdefault:\n").runlevel == "S"
    # the process field keeps its colons
    (entry,) = boot.parse_inittab("T0:23:respawn:/sbin/getty -L ttyS0 9600 a:b\n").entries
    assert entry.process == "/sbin/getty -L ttyS0 9600 a:b"


def test_rcd_links_and_scripts():
    e = boot_enabled.parse("fleetcheck-boot: rc.d\n/etc/rc2.d/K01cron\n/etc/rc3.d/S01cron\n"
                           "/etc/rcS.d/S01rpcbind\nfleetcheck-boot: init.d\ncron\nrpcbind\n"
                           "lonely\n")
    assert e.state_of("cron", ("2",))[0] == "disabled"
    assert e.state_of("cron", ("3",))[0] == "enabled"
    assert e.state_of("cron", boot_enabled.SYSV_RUNLEVELS)[0] == "enabled"
    assert e.state_of("rpcbind", ("2",))[0] == "enabled"       # rcS.d runs at every boot
    assert e.state_of("lonely.service", ("2",)) == ("disabled", "/etc/init.d/lonely has no "
                                                    "rc link")
    assert e.state_of("nothing", ("2",))[0] == "absent"


def test_systemd_states_and_names():
    e = captured("boot_enabled", "rhel7-three-units")
    assert e.state_of("kdump", ()) == ("enabled", "kdump.service enabled")
    assert e.state_of("other.service", ())[0] == "disabled"
    assert e.state_of("test", ())[0] == "static"
    assert e.state_of("docker.socket", ()) == ("absent", "no unit file docker.socket")
    e = boot_enabled.parse("UNIT FILE STATE\ngetty@.service enabled\nx.service masked\n"
                           "sshd.service alias\n")
    assert e.state_of("getty@tty1", ()) == ("enabled", "getty@.service enabled")
    assert e.state_of("x", ())[0] == "masked" and e.state_of("sshd", ())[0] == "static"


def test_chkconfig_xinetd_and_levels():
    e = captured("boot_enabled", "rhel6-chkconfig-xinetd")
    assert e.state_of("kdump", ("2",))[0] == "disabled"
    assert e.state_of("kdump", ("3",))[0] == "enabled"
    assert e.state_of("telnet", ("3",)) == ("enabled", "xinetd on")
    assert e.state_of("rlogin", ("3",))[0] == "disabled"


@pytest.mark.parametrize("text, where", [
    ("UNIT FILE STATE\na.service enabled\n\n1 unit files listed.\nb.service enabled\n",
     "line 5"),
    ("UNIT FILE STATE\nnodot enabled\n", "line 2"),
    ("UNIT FILE STATE VENDOR PRESET\na.service enabled maybe\n", "line 2"),
    ("fleetcheck-boot: rc.d\n/etc/rc2.d/S01a\nfleetcheck-boot: init.d\nb\n"
     "fleetcheck-boot: init.d\n", "line 5"),
    ("crond 0:off 1:off 3:on 2:on 4:on 5:on 6:off\n", "line 1"),
    ("xinetd based services:\nrsync on\n", "line 2"),
])
def test_enabled_refuses(text, where):
    with pytest.raises(ParseError, match=where):
        boot_enabled.parse(text)


def test_commands_take_no_inventory_value():
    hostile = {"boot": {"default_target": "-x;id", "enabled": ["$(id)"]}}
    assert boot.command(hostile) == boot.command({})
    assert boot_enabled.command(hostile) == boot_enabled.command({})


# -- runlevels and targets ---------------------------------------------------------------

@pytest.mark.parametrize("declared, level, target", [
    (3, "3", "multi-user.target"), ("5", "5", "graphical.target"), ("s", "S", "rescue.target"),
    ("multi-user", None, "multi-user.target"), ("graphical.target", None, "graphical.target"),
    ("runlevel2.target", "2", "multi-user.target"),
])
def test_declared_target(declared, level, target):
    assert boot.declared_target(declared) == (level, target)


@pytest.mark.parametrize("bad", ["-x", "a/b", "", "multi user", True])
def test_target_kind_refuses(bad):
    with pytest.raises(values.UnsafeValue):
        boot.target_value(bad)


# -- checks ------------------------------------------------------------------------------

def run_check(name, hostvars, **facts):
    """(outcome, message, evidence) of a check over given facts."""
    return checkrun.run_check("boot", name, hostvars, **facts)


def test_defaults_are_quiet_on_this_machine():
    hv = {"boot": DEFAULTS}
    assert run_check("test_boot_default_target", hv)[0] == "skipped"
    assert run_check("test_boot_enabled", hv)[0] == "skipped"
    hv = {"boot": dict(DEFAULTS, default_target="multi-user"), "services": ["sudo"]}
    assert run_check("test_boot_default_target", hv,
                     boot=captured("boot", "firecracker-vm"))[0] == "skipped"
    assert run_check("test_boot_enabled", hv, boot=captured("boot", "firecracker-vm"),
                     boot_enabled=captured("boot_enabled", "firecracker-vm"))[0] == "passed"


@pytest.mark.parametrize("case, declared, outcome", [
    ("debian-sysvinit", "multi-user", "passed"),
    ("debian-sysvinit", 2, "passed"),
    ("debian-sysvinit", 3, "failed"),             # a runlevel is that runlevel
    ("debian-sysvinit", "graphical", "failed"),
    ("rhel-initscripts", "multi-user.target", "passed"),
    ("busybox-alpine", "multi-user", "failed"),   # no initdefault: init would ask
    ("rhel-get-default", "graphical", "passed"),
    ("rhel-get-default", 5, "passed"),
    ("rhel-get-default", "multi-user", "failed"),
    ("firecracker-vm", "multi-user", "skipped"),
])
def test_default_target(case, declared, outcome):
    result = run_check("test_boot_default_target", {"boot": {"default_target": declared}},
                       boot=captured("boot", case))
    assert result[0] == outcome, result[1]


def lab(**changes):
    text = (ROOT / "boot_enabled" / "lab-rootfs.txt").read_text()
    for old, new in changes.items():
        text = text.replace(old, new)
    return boot_enabled.parse(text)


LAB_VARS = {"boot": {"default_target": "multi-user", "disabled": ["samba-ad-dc"]},
            "services": ["ssh", "cron", "rpcbind", "nfs-ganesha"]}
DISABLED_AD_DC = {f"rc{n}.d/S01samba-ad-dc": f"rc{n}.d/K01samba-ad-dc" for n in "2345"}
INITTAB = captured("boot", "debian-sysvinit")


def test_enabled_on_the_lab_layout():
    outcome, message, evidence = run_check("test_boot_enabled", LAB_VARS, boot=INITTAB,
                                           boot_enabled=lab(**DISABLED_AD_DC))
    assert outcome == "passed", message
    assert evidence["not_judged"] == ["nfs-ganesha"] and evidence["runlevels"] == ["2"]
    outcome, message, _ = run_check("test_boot_enabled", LAB_VARS, boot=INITTAB,
                                    boot_enabled=lab())
    assert outcome == "failed" and "samba-ad-dc starts at boot" in message
    cron_off = dict(DISABLED_AD_DC, **{"rc2.d/S01cron": "rc2.d/K01cron"})
    outcome, message, _ = run_check("test_boot_enabled", LAB_VARS, boot=INITTAB,
                                    boot_enabled=lab(**cron_off))
    assert outcome == "failed" and message.startswith("cron does not start at boot")


def test_enabled_explicit_and_contradictions():
    e = captured("boot_enabled", "rhel7-three-units")
    hv = {"boot": {"enabled": ["other", "test", "ghost"], "disabled": ["kdump"]},
          "services": ["absent-but-implicit"]}
    outcome, message, evidence = run_check("test_boot_enabled", hv, boot_enabled=e, boot=None)
    assert outcome == "failed"
    assert "other does not start" in message and "ghost has no unit" in message
    assert "kdump starts at boot" in message and "test" not in message.split(";")[0][:5]
    outcome, message, _ = run_check("test_boot_enabled", {"boot": {"enabled": ["kdump"],
                                                                   "disabled": ["kdump"]}},
                                    boot_enabled=e, boot=None)
    assert "declared both" in message


# -- plans -------------------------------------------------------------------------------


def file_state(content):
    return FileState(True, 0o644, "root", "root", base64.b64encode(content).decode())


def plan(check, hostvars, **facts):
    return lookup(check)(PlanContext(check, "web1", hostvars, checkrun.Facts(**facts)))


def test_plan_sets_the_systemd_default():
    p = plan("boot.default_target", {"boot": {"default_target": 3}},
             boot=captured("boot", "rhel-get-default"))
    (action,) = p.actions
    assert action.command.render() == "systemctl set-default -- multi-user.target"
    assert p.on_rollback[0].command.render() == "systemctl set-default -- graphical.target"


def test_plan_rewrites_initdefault_only():
    text = (ROOT / "boot" / "debian-sysvinit.txt").read_bytes()
    p = plan("boot.default_target", {"boot": {"default_target": "graphical"}},
             boot=INITTAB, file=file_state(text))
    (action,) = p.actions
    assert action.path == "/etc/inittab"
    assert action.content == text.replace(b"id:2:initdefault:", b"id:5:initdefault:")
    assert boot.parse(action.content.decode()).runlevel == "5"


def test_plan_adds_a_missing_initdefault_and_refuses_halt():
    text = (ROOT / "boot" / "busybox-alpine.txt").read_bytes()
    p = plan("boot.default_target", {"boot": {"default_target": "multi-user"}},
             boot=captured("boot", "busybox-alpine"), file=file_state(text))
    assert p.actions[0].content.startswith(text)
    assert p.actions[0].content.endswith(b"id:3:initdefault:\n")
    for bad in (0, "poweroff", "reboot.target"):
        assert plan("boot.default_target", {"boot": {"default_target": bad}},
                    boot=INITTAB).refused


def test_plan_enables_and_disables_with_update_rc_d():
    cron_off = dict({"rc2.d/S01cron": "rc2.d/K01cron"})
    p = plan("boot.enabled", LAB_VARS, boot=INITTAB, boot_enabled=lab(**cron_off))
    assert [a.command.render() for a in p.actions] == ["update-rc.d cron enable",
                                                       "update-rc.d samba-ad-dc disable"]
    assert [a.command.render() for a in p.on_rollback] == ["update-rc.d samba-ad-dc enable",
                                                           "update-rc.d cron disable"]
    no_links = boot_enabled.parse("fleetcheck-boot: rc.d\nfleetcheck-boot: init.d\ncron\n")
    p = plan("boot.enabled", {"boot": {"enabled": ["cron"]}}, boot=INITTAB,
             boot_enabled=no_links)
    assert p.actions[0].command.render() == "update-rc.d cron defaults"
    assert p.on_rollback[0].command.render() == "update-rc.d -f cron remove"


def test_plan_uses_systemctl_and_chkconfig_and_leaves_masked():
    e = boot_enabled.parse("UNIT FILE STATE\nother.service disabled\nm.service masked\n")
    p = plan("boot.enabled", {"boot": {"enabled": ["other", "m"]}}, boot_enabled=e)
    assert [a.command.render() for a in p.actions] == ["systemctl enable -- other.service"]
    assert "m is masked" in p.reason
    assert plan("boot.enabled", {"boot": {"enabled": ["m"]}}, boot_enabled=e).refused
    c = captured("boot_enabled", "rhel6-chkconfig-xinetd")
    p = plan("boot.enabled", {"boot": {"enabled": ["restorecond"], "disabled": ["iptables"]}},
             boot_enabled=c, boot=captured("boot", "rhel-initscripts"))
    assert [a.command.render() for a in p.actions] == ["chkconfig restorecond on",
                                                       "chkconfig iptables off"]


# -- the var -----------------------------------------------------------------------------

def test_schema_takes_the_defaults_and_refuses_typos():
    assert varschema.problems("boot", DEFAULTS) == []
    assert varschema.problems("boot", {"default_target": 3}) == []
    assert varschema.problems("boot", {"enable": ["ssh"]})
    assert varschema.problems("boot", {"enabled": "ssh"})


def test_value_kinds_refuse_options():
    assert list(values.problems("boot", {"enabled": ["-rf"]}, boot.VALUE_KINDS))
    assert list(values.problems("boot", {"default_target": "a/b"}, boot.VALUE_KINDS))
    assert not list(values.problems("boot", {"default_target": 5, "disabled": ["nmbd"]},
                                    boot.VALUE_KINDS))
