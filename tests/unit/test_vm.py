"""The vm area: virsh's outputs (fleetcheck.facts.virsh) and the vm_guests fact on the
real captures (tests/fixtures/facts/vm_guests: the lab's KVM guests, libvirt's test
driver with hostile names, public outputs), the checks over facts built from them
(declared vs found: missing, wrong state, moved, undeclared, autostart), the fix plans
and the var's schema."""

from __future__ import annotations

import copy
import subprocess
import sys
import types
from pathlib import Path

import checkrun
import pytest

from fleetcheck import values
from fleetcheck.facts import vm
from fleetcheck.facts.base import ParseError
from fleetcheck.facts.virsh import (parse_domain_xml, parse_domifaddr, parse_dominfo,
                                    parse_domstate, parse_list, parse_xl_list)
from fleetcheck.fixtures import Evidence
from fleetcheck.remediation import PlanContext, lookup

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "facts" / "vm_guests"
LAB = vm.parse((FIXTURES / "lab-app1-assembled.txt").read_text())
HOSTILE = vm.parse((FIXTURES / "test-driver-hostile-names.txt").read_text())
EVIL = "-rf; $(reboot) 'x' \"y\""
LABVARS = {"vm": {"guests": [{"name": "guest1", "state": "running", "autostart": True},
                             {"name": "guest2", "state": "paused"},
                             {"name": "guest3", "state": "shut off", "autostart": False}]}}


# -- the parsers ----------------------------------------------------------------------------

def test_the_lab_guests_as_captured():
    assert LAB.applicable and LAB.version["hypervisor"] == "QEMU 7.2.22" and LAB.listed == 3
    g1, g2, g3 = LAB.guests
    assert (g1.name, g1.state, g1.reason, g1.id, g1.autostart) == \
        ("guest1", "running", "booted", 1, True)
    assert (g2.state, g2.reason, g2.autostart) == ("paused", "user", False)
    assert (g3.state, g3.id, g3.live) == ("shut off", None, None)
    assert [(n.type, n.model, n.mac, n.target) for n in g1.nics] == \
        [("ethernet", "virtio", "52:54:00:fc:00:01", "fcg1")]
    # vncdisplay said 127.0.0.1:0 and :1: the live XML's ports
    assert (g1.console.port, g2.console.port, g3.console) == (5900, 5901, None)
    assert g3.configured.nics[0].mac == "52:54:00:fc:00:03" and g1.memory_kib == 98304


def test_hostile_names_and_every_state_from_the_test_driver():
    states = {g.name: g.state for g in HOSTILE.guests}
    assert states == {"web server 01": "running", EVIL: "paused", "7": "shut off",
                      "crashed-guest-with-a-rather-long-name-for-the-table-columns":
                          "crashed", "sleeper": "pmsuspended", "stopping": "in shutdown"}
    web = HOSTILE.guest("web server 01")
    assert [(n.type, n.source) for n in web.nics] == [("bridge", "br0"), ("network", "default")]
    assert (web.console.type, web.console.port, web.console.tls_port) == ("spice", 5930, 5931)
    # the forged marker line in its <description> is XML text, not a guest
    assert len(HOSTILE.guests) == 6 and not HOSTILE.vanished


def test_the_table_captures_agree_with_the_fact():
    table = vm.parse((FIXTURES / "test-driver-list-all.txt").read_text())
    assert {g.name: g.state for g in table.guests} == {g.name: g.state for g in HOSTILE.guests}
    rows = parse_list((FIXTURES / "insights-core-list-all.txt").read_text())
    assert len(rows) == 13 and (rows[1].name, rows[1].state, rows[1].id) == ("rhel7.0", "paused", 4)
    assert sum(r.state == "shut off" for r in rows) == 11


def test_xl_list():
    (dom,) = parse_xl_list((FIXTURES / "unik-xl-list.txt").read_text())[1:]
    assert (dom.name, dom.id, dom.memory_mib, dom.state) == ("aws-test", 3, 1024, "paused")
    xl = vm.parse((FIXTURES / "xl-assembled.txt").read_text())
    assert xl.tool == "xl" and [g.name for g in xl.guests] == ["aws-test"]   # no Domain-0
    failed = vm.parse("fleetcheck-vm: mark ab\nfleetcheck-vm-ab: xl /usr/sbin/xl\nxc: error: "
                      "Could not obtain handle\nfleetcheck-vm-ab: rc 1\nfleetcheck-vm-ab: end\n")
    assert not failed.applicable and "Could not obtain handle" in failed.error


def test_not_installed_or_no_hypervisor():
    assert vm.parse((FIXTURES / "not-installed.txt").read_text()).tool is None
    down = vm.parse((FIXTURES / "no-hypervisor.txt").read_text())
    assert not down.applicable and "failed to connect to the hypervisor" in down.error


def test_small_parsers():
    assert parse_domstate("shut off (unknown)\n\n") == ("shut off", "unknown")
    assert parse_domstate("in shutdown\n") == ("in shutdown", None)
    addrs = parse_domifaddr(" Name       MAC address          Protocol     Address\n"
                            "-----------------------------------------------------\n"
                            " vnet0      52:54:00:2d:5d:8a    ipv4         192.168.122.23/24\n"
                            " -          -                    ipv6         fe80::1/64\n")
    assert [(a.nic, a.mac, a.protocol) for a in addrs] == \
        [("vnet0", "52:54:00:2d:5d:8a", "ipv4"), ("vnet0", "52:54:00:2d:5d:8a", "ipv6")]
    info = parse_dominfo((FIXTURES / "lab-dominfo-guest3.txt").read_text())
    assert (info.name, info.id, info.persistent, info.max_memory_kib) == \
        ("guest3", None, True, 98304)
    xml = parse_domain_xml((FIXTURES / "libvirt-net-portgroup.txt").read_text())
    assert [(n.source, n.model) for n in xml.nics] == \
        [("rednet", "virtio"), ("blue", "rtl8139"), ("blue", "rtl8139")]


@pytest.mark.parametrize("text, error", [
    ("<!DOCTYPE x [<!ENTITY a 'b'>]><domain><name>&a;</name></domain>", "DOCTYPE"),
    ("<domain><name>x</name>", "line 1: domain XML"),
    ("<domains><name>x</name></domains>", "not domain"),
    ("Id:             1\nName:           a\nUUID:           x\nState:          running\n",
     "is not a UUID"),
    ("something else\n", "neither the fact's output"),
    ("fleetcheck-vm: mark zz\n", "a mark of hex digits"),
])
def test_malformed_inputs_are_parse_errors(text, error):
    with pytest.raises(ParseError, match=error):
        vm.parse(text)


def test_the_command_quotes_the_uri_and_names_no_guest():
    cmd = vm.command({"vm": {"uri": "qemu+ssh://root@kvm1/system"}}).render()
    assert cmd.endswith(" sh qemu+ssh://root@kvm1/system 1000")
    assert vm.command({}).render().endswith(" sh qemu:///system 1000")
    for bad in ("-c x", "qemu:///system; reboot", "not a uri", "qemu:///a\nb"):
        with pytest.raises(values.UnsafeValue):
            vm.command({"vm": {"uri": bad}})
    # guests are addressed by UUID only: every per-guest command takes -- $u
    assert "-- $u" in vm.SCRIPT and "$name" not in vm.SCRIPT


# -- the checks -----------------------------------------------------------------------------

class Entry(types.SimpleNamespace):
    pass


def run(name, hostvars, state, fleet=None, others=None, host_name="app1"):
    from fleetcheck.checks import test_vm as checks

    evidence = Evidence()
    host = types.SimpleNamespace(vars=hostvars, name=host_name)
    facts = checkrun.Facts(vm_guests=state)
    fleet = fleet or {host_name: Entry(vars=hostvars)}
    kwargs = {"host": host, "facts": facts, "evidence": evidence}
    fn = getattr(checks, name)
    params = fn.__code__.co_varnames[:fn.__code__.co_argcount]
    if "fleet" in params:
        kwargs["fleet"] = fleet
    if "fleet_facts" in params:
        kwargs["fleet_facts"] = lambda other: checkrun.Facts(vm_guests=others[other])
    try:
        fn(**kwargs)
    except pytest.skip.Exception as exc:
        return "skipped", str(exc.msg), evidence
    except pytest.fail.Exception as exc:
        return "failed", str(exc.msg), evidence
    return "passed", "", evidence


def with_state(state, name, new):
    out = copy.deepcopy(state)
    out.guest(name).state, out.guest(name).reason = new, None
    return out


def test_the_lab_as_declared_passes():
    for check in ("test_guests", "test_autostart", "test_undeclared"):
        assert run(check, LABVARS, LAB)[0] == "passed", check


def test_missing_and_wrong_state_are_high():
    conf = copy.deepcopy(LABVARS)
    conf["vm"]["guests"].append({"name": "db1"})
    outcome, message, ev = run("test_guests", conf, with_state(LAB, "guest1", "shut off"))
    assert outcome == "failed" and ev.severity == "high"
    assert "guest1: shut off, declared running" in message
    assert "db1: missing: declared running, not defined on app1" in message


def test_a_guest_found_on_another_hypervisor_is_moved():
    conf = {"vm": {"guests": [{"name": "guest1"}]}}
    fleet = {"app1": Entry(vars=conf), "app2": Entry(vars={"vm": {}}),
             "web1": Entry(vars={})}
    here = copy.deepcopy(LAB)
    here.guests = [g for g in here.guests if g.name != "guest1"]
    outcome, message, ev = run("test_guests", conf, here, fleet, {"app2": LAB})
    assert outcome == "failed" and ev.severity == "medium"
    assert "guest1: moved: declared running here, absent here, found on app2 (running)" \
        in message and ev["guests"]["guest1"]["moved_to"] == ["app2"]
    # shut off elsewhere too: missing here, not moved
    outcome, message, ev = run("test_guests", conf, here, fleet,
                               {"app2": with_state(LAB, "guest1", "shut off")})
    assert "missing" in message and ev.severity == "high"


def test_autostart_and_undeclared():
    conf = copy.deepcopy(LABVARS)
    conf["vm"]["guests"][1]["autostart"] = True
    outcome, message, ev = run("test_autostart", conf, LAB)
    assert outcome == "failed" and message == "guest2: autostart off, declared on"
    assert ev.severity == "medium"
    only = {"vm": {"guests": [{"name": "guest1"}]}}
    outcome, message, ev = run("test_undeclared", only, HOSTILE)
    assert outcome == "failed" and ev.severity == "info" and "sleeper: pmsuspended" in message
    assert "7:" not in message                    # shut off: not running
    louder = {"vm": {"undeclared": {"severity": "medium", "ignore": ["sleep*"]}}}
    outcome, message, ev = run("test_undeclared", louder, HOSTILE)
    assert ev.severity == "medium" and "sleeper" not in message and EVIL in message
    fleet = {"app1": Entry(vars=only), "app2": Entry(vars={"vm": {"guests": [
        {"name": "guest2"}]}})}
    assert "guest2: paused here, not declared (declared for app2)" in \
        run("test_undeclared", only, LAB, fleet)[1]


def test_not_a_hypervisor_or_off():
    nothing = vm.parse((FIXTURES / "not-installed.txt").read_text())
    assert run("test_undeclared", {}, nothing)[0] == "skipped"
    outcome, message, _ = run("test_guests", LABVARS, nothing)
    assert outcome == "failed" and "neither virsh nor xl" in message
    assert run("test_guests", {"vm": None}, LAB)[0] == "skipped"
    assert run("test_undeclared", {"vm": {"undeclared": None}}, LAB)[0] == "skipped"


# -- the fixes ------------------------------------------------------------------------------

def plan(check_id, hostvars, state, others=None, fleet=None):
    facts = checkrun.Facts(vm_guests=state)
    ctx = PlanContext(check_id, "app1", hostvars, facts,
                      other=lambda name: checkrun.Facts(vm_guests=others[name]),
                      fleet=fleet or {"app1": Entry(vars=hostvars)})
    return lookup(check_id)(ctx)


def commands(actions):
    return [a.command.render() for a in actions]


def test_start_resume_and_their_undo():
    state = with_state(with_state(LAB, "guest1", "shut off"), "guest2", "paused")
    conf = {"vm": {"guests": [{"name": "guest1"}, {"name": "guest2"}]}}
    p = plan("vm.guests", conf, state)
    u1, u2 = LAB.guest("guest1").uuid, LAB.guest("guest2").uuid
    assert commands(p.actions) == [
        f"LC_ALL=C virsh -c qemu:///system start -- {u1} </dev/null",
        f"LC_ALL=C virsh -c qemu:///system resume -- {u2} </dev/null"]
    undo = commands(p.on_rollback)
    assert undo[0] == f"LC_ALL=C virsh -c qemu:///system shutdown -- {u1} </dev/null"
    assert len(undo) == 1 + 5 + 1 and undo[-1].endswith(f"suspend -- {u2} </dev/null")


def test_graceful_shutdown_waits_in_bounded_steps_and_destroys_only_when_declared():
    conf = {"vm": {"guests": [{"name": "guest1", "state": "shut off"}],
                   "shutdown": {"timeout_s": 60}}}
    p = plan("vm.guests", conf, LAB)
    assert [a.summary for a in p.actions] == [
        "guest1: shut down gracefully (virsh shutdown)", "guest1: wait for shut off (25/60 s)",
        "guest1: wait for shut off (50/60 s)", "guest1: wait for shut off (60/60 s)"]
    assert not any("destroy" in c.split("sh -c", 1)[0] for c in commands(p.actions))
    assert all(c.endswith(" 0") for c in commands(p.actions)[1:])   # destroy flag off
    conf["vm"]["shutdown"]["destroy_after_timeout"] = True
    p = plan("vm.guests", conf, LAB)
    assert p.actions[-1].summary.endswith("then virsh destroy)")
    assert commands(p.actions)[-1].endswith(" 10 1 1")


def test_refusals():
    conf = {"vm": {"guests": [{"name": "nosuch"}]}}
    assert "not defined on app1" in plan("vm.guests", conf, LAB).reason
    conf = {"vm": {"guests": [{"name": "crashed-guest-with-a-rather-long-name-for-the-"
                                        "table-columns"}]}}
    assert plan("vm.guests", conf, HOSTILE).refused
    # running elsewhere: never started here as well
    conf = {"vm": {"guests": [{"name": "guest1"}]}}
    fleet = {"app1": Entry(vars=conf), "app2": Entry(vars={"vm": {}})}
    p = plan("vm.guests", conf, with_state(LAB, "guest1", "shut off"), {"app2": LAB}, fleet)
    assert p.refused and "runs on app2" in p.reason


def test_a_hostile_name_never_reaches_a_command():
    conf = {"vm": {"guests": [{"name": EVIL, "state": "running", "autostart": True}]}}
    p = plan("vm.guests", conf, HOSTILE)
    (resume,) = p.actions
    assert resume.summary.startswith(EVIL)
    assert resume.command.render() == ("LC_ALL=C virsh -c qemu:///system resume -- "
                                       "11111111-2222-4333-8444-555555555502 </dev/null")
    p = plan("vm.autostart", conf, HOSTILE)
    assert commands(p.actions) == ["LC_ALL=C virsh -c qemu:///system autostart -- "
                                   "11111111-2222-4333-8444-555555555502 </dev/null"]
    assert commands(p.on_rollback)[0].endswith("autostart --disable -- 11111111-2222-4333-"
                                               "8444-555555555502 </dev/null")
    forged = copy.deepcopy(HOSTILE)
    forged.guest(EVIL).uuid = "$(reboot)"
    assert plan("vm.guests", conf, forged).refused


def test_undeclared_guests_are_shut_down_only_when_asked():
    only = {"vm": {"guests": [{"name": "guest1"}, {"name": "guest2", "state": "paused"}]}}
    state = copy.deepcopy(LAB)
    state.guest("guest3").state = "running"
    assert plan("vm.undeclared", only, state).refused           # the default: no fix
    only["vm"]["undeclared"] = {"shutdown": True}
    p = plan("vm.undeclared", only, state)
    u3 = LAB.guest("guest3").uuid
    assert commands(p.actions)[0] == f"LC_ALL=C virsh -c qemu:///system shutdown -- {u3} " \
        "</dev/null" and len(p.actions) == 1 + 5
    assert commands(p.on_rollback) == [f"LC_ALL=C virsh -c qemu:///system start -- {u3} "
                                       "</dev/null"]
    only["vm"]["guests"].pop()                                   # guest2: paused, undeclared
    assert "only a running guest" in plan("vm.undeclared", only, state).reason


def test_nothing_to_do_is_an_empty_plan():
    assert plan("vm.guests", LABVARS, LAB).empty
    assert plan("vm.autostart", LABVARS, LAB).empty


# -- the var's schema -----------------------------------------------------------------------

@pytest.mark.parametrize("value, said", [
    ("{guests: [{name: a, state: stopped}]}", "vm.guests[0].state"),
    ("{guests: [{state: running}]}", "vm.guests[0]"),
    ("{uri: '-c evil'}", "vm.uri: "),
    ("{guests: [{name: 'a/b'}]}", "vm.guests[0].name: "),
    ("{undeclared: {severity: loud}}", "vm.undeclared.severity"),
    ("{shutdown: {timeout_s: 0}}", "vm.shutdown.timeout_s"),
    ("{undeclared: {shutdown: 'yes'}}", "vm.undeclared.shutdown"),
])
def test_a_bad_value_is_one_line_and_exit_4(tmp_path, value, said):
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  hosts:\n    a:\n      vm: {value}\n")
    res = subprocess.run([sys.executable, "-m", "fleetcheck", "hosts", "--inventory",
                          str(inv)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 4, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and said in lines[0] and "inv.yml:" in lines[0], lines
