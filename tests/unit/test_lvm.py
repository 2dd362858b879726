"""The LVM area: the report parsers' edge cases (beyond the captured fixtures), the five
checks over captured reports, the lvchange plan (which the lab cannot run: no
device-mapper there), the value kinds and the var's schema."""

from __future__ import annotations

from pathlib import Path

import checkrun
import pytest

from fleetcheck import values, varschema
from fleetcheck.facts import FactError, ParseError
from fleetcheck.facts import lvm, lvm_lvs, lvm_pvs, lvm_vgs
from fleetcheck.remediation import PlanContext, lookup

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "facts"
# fleetcheck/data/local.yml's lvm block
DEFAULTS = {"vg_free": {"free_pct": {"warn": 10, "crit": 5}},
            "lv_active": {"all": True, "declared": [], "ignore": []},
            "thin": {"data_pct": {"warn": 80, "crit": 90},
                     "metadata_pct": {"warn": 80, "crit": 90}},
            "snapshots": {"used_pct": {"warn": 80, "crit": 90}}, "pv_missing": True}
MODULES = {"lvm_vgs": lvm_vgs, "lvm_lvs": lvm_lvs, "lvm_pvs": lvm_pvs}


def captured(fact, case, edit=None):
    text = (ROOT / fact / f"{case}.txt").read_text()
    return MODULES[fact].parse(edit(text) if edit else text)


def run_check(name, conf, **facts):
    return checkrun.run_check("lvm", name, {"lvm": conf}, **facts)


# -- parsers ---------------------------------------------------------------------------

def test_sizes_in_any_unit_lvm_prints():
    row = {"a": "4.00m", "b": "<19.00g", "c": "1073741824B", "d": "2G", "e": "0 ", "f": ""}
    assert lvm.size(row, "a", 1) == 4 * 1024 ** 2
    assert lvm.size(row, "b", 1) == 19 * 1024 ** 3
    assert lvm.size(row, "c", 1) == 1073741824
    assert lvm.size(row, "d", 1) == 2 * 1000 ** 3
    assert lvm.size(row, "e", 1) == 0
    assert lvm.size(row, "f", 1) is None
    for bad in ("12e", "-1", "1,5g", "inf"):
        with pytest.raises(ParseError, match="line 7: x is not a size"):
            lvm.size({"x": bad}, "x", 7)


@pytest.mark.parametrize("text, message", [
    ('{"report": {}}', 'expected {"report": [...]}'),
    ('{"report": [{"vg": [{"vg_name": 3}]}]}', "an object of strings"),
    ('{"report": [{"vg": [{"vg_name": "-x", "vg_size": "1", "vg_free": "0"}]}]}',
     "vg_name is not an lvm name"),
    ('{"report": [{"vg": [{"vg_name": "v", "vg_size": "1"}]}]}', "no 'vg_free' field"),
    ("[" * 100000, "line 1"),
    ("", "empty output"),
])
def test_vgs_refuses_what_lvm_does_not_write(text, message):
    with pytest.raises(ParseError, match="line"):
        lvm_vgs.parse(text)
    with pytest.raises(ParseError, match=message.replace("[", r"\[").replace("{", r"\{")
                       .replace("}", r"\}")):
        lvm_vgs.parse(text)


def test_a_capture_is_marked_and_a_missing_tool_is_not_installed():
    text = (ROOT / "lvm_vgs" / "firecracker-loop-healthy.txt").read_text()
    assert lvm_vgs.parse(lvm.MARK_CAPTURE + "\n" + text).capture is True
    assert lvm_pvs.parse(lvm.MARK_ABSENT + "\n").installed is False
    with pytest.raises(ParseError, match="line 2"):
        lvm_pvs.parse(lvm.MARK_ABSENT + "\n{}\n")


def test_lv_attributes_decoded():
    lvs = captured("lvm_lvs", "deckhouse-thin-pools")
    pool = lvs.find("vg-1/thin-1")
    assert pool.thin_pool and pool.active and pool.metadata_pct == 10.84
    spare = lvs.find("vg-1/[lvol0_pmspare]")
    assert spare.hidden and not spare.active
    assert [lv.name for lv in captured("lvm_lvs", "firecracker-loop-segments").lvs] == \
        ["bulk", "data", "logs"]      # one row per segment, one LV


def test_commands_quote_and_check_the_report_dir():
    cmd = lvm_lvs.command({"lvm": {"report_dir": "/etc/fleetcheck-lab/lvm"}}).render()
    assert " lvs /etc/fleetcheck-lab/lvm " in cmd
    assert "lv_layout" in lvm_lvs.command({}).render()
    for bad in ("relative", "/a/../b", "-x", "/a\nb"):
        with pytest.raises(FactError):
            lvm_vgs.command({"lvm": {"report_dir": bad}})


# -- checks over captured reports -----------------------------------------------------

def test_the_lab_healthy_reports_pass():
    lvs = captured("lvm_lvs", "deckhouse-thin-pools")
    declared = dict(DEFAULTS, lv_active={"all": True, "declared": ["vg-1/thin-1",
                                                                   "vg-1/thin-5"]})
    assert run_check("test_vg_free", DEFAULTS, lvm_vgs=captured(
        "lvm_vgs", "firecracker-loop-healthy"))[0] == "passed"
    assert run_check("test_lv_active", declared, lvm_lvs=lvs)[0] == "passed"
    assert run_check("test_thin", DEFAULTS, lvm_lvs=lvs)[0] == "passed"
    assert run_check("test_snapshots", DEFAULTS, lvm_lvs=lvs)[0] == "skipped"
    assert run_check("test_pv_missing", DEFAULTS, lvm_pvs=captured(
        "lvm_pvs", "firecracker-loop-healthy"))[0] == "passed"


def test_vg_full_is_critical_and_a_vg_may_be_exempted():
    full = captured("lvm_vgs", "firecracker-loop-full")
    outcome, message, ev = run_check("test_vg_free", DEFAULTS, lvm_vgs=full)
    assert outcome == "failed" and "fcvg: free_pct 0 <= crit 5" in message
    assert ev.severity == "medium"
    exempt = dict(DEFAULTS, vg_free={"free_pct": {"warn": 10, "crit": 5},
                                     "vgs": {"fc*": {"free_pct": None}}})
    assert run_check("test_vg_free", exempt, lvm_vgs=full)[0] == "passed"
    absolute = dict(DEFAULTS, vg_free={"free_gib": {"warn": 1, "crit": 0.05}})
    outcome, message, ev = run_check("test_vg_free", absolute, lvm_vgs=captured(
        "lvm_vgs", "firecracker-loop-healthy"))
    assert outcome == "failed" and ev.severity == "low" and "free_gib 0.07 <= warn 1" in message


def test_inactive_and_unknown_lvs():
    inactive = captured("lvm_lvs", "deckhouse-thin-pools", lambda t: t.replace(
        '"thin-5", "vg_name":"vg-1", "lv_attr":"twi-a-tz--"',
        '"thin-5", "vg_name":"vg-1", "lv_attr":"twi---tz--"'))
    outcome, message, ev = run_check("test_lv_active", DEFAULTS, lvm_lvs=inactive)
    assert (outcome, message, ev.severity) == ("failed", "vg-1/thin-5 is inactive", "medium")
    ignored = dict(DEFAULTS, lv_active={"ignore": ["vg-1/thin-*"]})
    assert run_check("test_lv_active", ignored, lvm_lvs=inactive)[:2] == (
        "skipped", "no logical volume to judge")
    missing = dict(DEFAULTS, lv_active={"all": False, "declared": ["vg-1/gone"]})
    assert run_check("test_lv_active", missing, lvm_lvs=inactive)[1] == \
        "vg-1/gone is declared and does not exist"
    # this machine's capture: no device-mapper, the state is unknown: high
    outcome, message, ev = run_check("test_lv_active", DEFAULTS, lvm_lvs=captured(
        "lvm_lvs", "firecracker-loop-no-dm"))
    assert outcome == "failed" and ev.severity == "high" and "unknown" in message


def test_thin_pool_filling_and_out_of_space():
    full = captured("lvm_lvs", "deckhouse-thin-pools", lambda t: t.replace(
        '"lv_size":"54525952", "pool_lv":"", "origin":"", "data_percent":"0.00", '
        '"metadata_percent":"10.84"', '"lv_size":"54525952", "pool_lv":"", "origin":"", '
        '"data_percent":"93.10", "metadata_percent":"81.00"'))
    outcome, message, ev = run_check("test_thin", DEFAULTS, lvm_lvs=full)
    assert outcome == "failed" and ev.severity == "high"
    assert message == ("vg-1/thin-5: data_pct 93.1 >= crit 90; "
                       "vg-1/thin-5: metadata_pct 81 >= warn 80")
    stopped = captured("lvm_lvs", "deckhouse-thin-pools",
                       lambda t: t.replace('"twi-a-tz--"', '"twi-a-tzD-"', 1))
    assert run_check("test_thin", DEFAULTS, lvm_lvs=stopped)[1] == \
        "vg-1/thin-1: out of data space"


def test_classic_snapshot_filling_up_or_invalid():
    text = (ROOT / "lvm_lvs" / "firecracker-loop-no-dm.txt").read_text().replace(
        '"lv_name":"logs", "vg_name":"fcvg", "lv_attr":"-wi-XX----"',
        '"lv_name":"logs", "vg_name":"fcvg", "lv_attr":"swi-a-s---"').replace(
        '"origin":"", "data_percent":"", "metadata_percent":"", "lv_active":""}\n'
        '              ]', '"origin":"data", "data_percent":"85.00", "metadata_percent":"", '
        '"lv_active":"active"}\n              ]')
    snaps = lvm_lvs.parse(text)
    outcome, message, ev = run_check("test_snapshots", DEFAULTS, lvm_lvs=snaps)
    assert (outcome, message, ev.severity) == ("failed", "fcvg/logs: used_pct 85 >= warn 80",
                                               "low")
    invalid = lvm_lvs.parse(text.replace("swi-a-s---", "swi-I-s---"))
    outcome, message, ev = run_check("test_snapshots", DEFAULTS, lvm_lvs=invalid)
    assert ev.severity == "high" and "invalid snapshot" in message


def test_missing_pv_is_high_and_off_when_declared_so():
    missing = captured("lvm_pvs", "firecracker-loop-pv-missing")
    outcome, message, ev = run_check("test_pv_missing", DEFAULTS, lvm_pvs=missing)
    assert (outcome, ev.severity) == ("failed", "high")
    assert message == "a PV of VG fcvg is missing (pv_name [unknown])"
    assert run_check("test_pv_missing", dict(DEFAULTS, pv_missing=False),
                     lvm_pvs=missing)[0] == "skipped"


def test_no_lvm2_or_no_vg_is_not_applicable():
    absent = lvm_vgs.parse(lvm.MARK_ABSENT + "\n")
    assert run_check("test_vg_free", DEFAULTS, lvm_vgs=absent)[0] == "skipped"
    empty = lvm_vgs.parse('  {\n      "report": [\n          {\n              "vg": [\n'
                          '              ]\n          }\n      ]\n  }\n')
    assert run_check("test_vg_free", DEFAULTS, lvm_vgs=empty) [:2] == ("skipped",
                                                                      "no volume group")


# -- the fix ---------------------------------------------------------------------------

def plan(conf, lvs):
    return lookup("lvm.lv_active")(PlanContext("lvm.lv_active", "web1", {"lvm": conf},
                                               checkrun.Facts(lvm_lvs=lvs)))


def inactive_pool():
    return captured("lvm_lvs", "deckhouse-thin-pools", lambda t: t.replace(
        '"thin-5", "vg_name":"vg-1", "lv_attr":"twi-a-tz--"',
        '"thin-5", "vg_name":"vg-1", "lv_attr":"twi---tz--"'))


def test_plan_activates_the_declared_inactive_lv():
    p = plan({"lv_active": {"declared": ["vg-1/thin-1", "vg-1/thin-5"]}}, inactive_pool())
    (action,) = p.actions
    assert action.command.render() == "lvchange -ay -- vg-1/thin-5"
    (undo,) = p.on_rollback
    assert undo.command.render() == "lvchange -an -- vg-1/thin-5"


def test_plan_refuses_captures_undeclared_and_unsafe_names():
    conf = {"lv_active": {"declared": ["vg-1/thin-5"]}}
    assert plan(dict(conf, report_dir="/etc/fleetcheck-lab/lvm"), inactive_pool()).refused
    capture = lvm_lvs.parse(lvm.MARK_CAPTURE + "\n" + (
        ROOT / "lvm_lvs" / "deckhouse-thin-pools.txt").read_text())
    assert "capture" in plan(conf, capture).reason
    assert "declared" in plan({"lv_active": {}}, inactive_pool()).reason
    for bad in ("-ay/x", "vg-1/--all", "vg/../x", "vg", "a/b/c", "vg/l v"):
        p = plan({"lv_active": {"declared": [bad]}}, inactive_pool())
        assert p.refused and not p.actions, bad
    unknown = captured("lvm_lvs", "firecracker-loop-no-dm")
    p = plan({"lv_active": {"declared": ["fcvg/data"]}}, unknown)
    assert p.refused and "admin" in p.reason


def test_lv_path_kind():
    assert lvm.lv_path("vg0/root") == "vg0/root"
    for bad in ("-vg/x", "vg/-x", "vg", "vg/x/y", "vg/..", "", "vg/x\n"):
        with pytest.raises(values.UnsafeValue):
            lvm.lv_path(bad)


def test_defaults_validate_and_mistakes_are_named():
    assert varschema.problems("lvm", DEFAULTS) == []
    assert varschema.problems("lvm", {"vg_free": {"free_pct": 10}})
    assert varschema.problems("lvm", {"thin": {"data_pct": {"warn": "high"}}})
    assert varschema.problems("lvm", {"lv_active": {"everything": True}})


def test_a_lone_warn_or_crit_is_refused_at_load_not_ignored():
    assert varschema.merged_problems(
        {"lvm": {"vg_free": {"free_pct": {"warn": 10, "crit": 5}},
                 "thin": {"data_pct": {"warn": 80, "crit": 90}}}}) == []
    (lone,) = varschema.merged_problems({"lvm": {"vg_free": {"free_pct": {"warn": 10}}}})
    assert lone.startswith("lvm.vg_free.free_pct: warn 10 without crit")
    (override,) = varschema.merged_problems(
        {"lvm": {"vg_free": {"free_pct": {"warn": 10, "crit": 5},
                             "vgs": {"vg0": {"free_pct": {"crit": 1}}}}}})
    assert override.startswith("lvm.vg_free.vgs.vg0.free_pct: crit 1 without warn")
