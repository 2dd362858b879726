"""capacity.iostat: the iostat JSON parser's edge cases (beyond the captured fixtures),
the check over captured samples (a device made busy here fails it), the interval's
bounds and the var's schema."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from fleetcheck import varschema
from fleetcheck.facts import ParseError, iostat
from fleetcheck.fixtures import Evidence

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "facts" / "iostat"
DEFAULTS = {"interval": 2, "util_pct": {"warn": 80, "crit": 95},
            "await_ms": {"warn": 50, "crit": 200}, "queue_size": {"warn": 8, "crit": 32},
            "min_iops": 5, "ignore": ["loop*", "ram*", "zram*", "sr*", "fd*"]}


def captured(case):
    return iostat.parse((ROOT / f"{case}.txt").read_text())


def run_check(conf, stats):
    from fleetcheck.checks import test_capacity as checks

    evidence = Evidence()
    try:
        checks.test_iostat(types.SimpleNamespace(vars={"capacity": {"iostat": conf}}),
                           types.SimpleNamespace(iostat=stats), evidence)
    except pytest.skip.Exception as exc:
        return "skipped", str(exc.msg), evidence
    except AssertionError as exc:
        return "failed", str(exc), evidence
    return "passed", "", evidence


def test_idle_and_busy_samples_with_the_defaults():
    assert run_check(DEFAULTS, captured("firecracker-idle"))[0] == "passed"
    outcome, _, ev = run_check(DEFAULTS, captured("firecracker-busy-vda"))
    assert outcome == "passed"        # 76.8% busy: below the default warning
    assert ev["devices"]["vda"]["util_pct"] == 76.8 and "loop0" not in ev["devices"]


def test_a_busy_device_fails():
    busy = dict(DEFAULTS, util_pct={"warn": 60, "crit": 75})
    outcome, message, ev = run_check(busy, captured("firecracker-busy-vda"))
    assert (outcome, ev.severity) == ("failed", "medium")
    assert message.startswith("vda: util_pct 76.8 >= crit 75")
    slow = dict(DEFAULTS, await_ms={"warn": 0.3, "crit": 10}, queue_size={"warn": 0.5,
                                                                         "crit": 4})
    outcome, message, ev = run_check(slow, captured("firecracker-busy-vda"))
    assert ev.severity == "low" and "vda: queue_size 0.76 >= warn 0.5" in message
    assert "vda: await_ms 0.47 >= warn 0.3" in message


def test_await_of_an_idle_device_is_not_judged():
    slow = dict(DEFAULTS, await_ms={"warn": 0.1, "crit": 0.2}, min_iops=10)   # vda: 6.5/s
    outcome, _, ev = run_check(slow, captured("firecracker-idle"))
    assert outcome == "passed" and ev["devices"]["vda"]["await_ms"] is None


def test_nothing_to_judge_is_not_applicable():
    assert run_check(DEFAULTS, iostat.parse(iostat.MARK_ABSENT + "\n"))[0] == "skipped"
    everything = dict(DEFAULTS, ignore=["*"])
    assert run_check(everything, captured("firecracker-idle"))[0] == "skipped"


def test_older_sysstat_field_names():
    text = ('{"sysstat": {"hosts": [{"nodename": "h", "statistics": [{"disk": [\n'
            '{"disk_device": "sda", "r/s": 1.0, "w/s": 2.0, "await": 9.5, '
            '"avgqu-sz": 1.5, "util": 3.0}]}]}]}}\n')
    (dev,) = iostat.parse(text).samples[0]
    assert (dev.await_ms, dev.queue_size, dev.iops) == (9.5, 1.5, 3.0)


@pytest.mark.parametrize("text, message", [
    ('{"sysstat": {"hosts": []}}', "one host"),
    ('{"sysstat": {"hosts": [{"statistics": [{"cpu": []}]}]}}', "without a 'disk' list"),
    ('{"sysstat": {"hosts": [{"statistics": [{"disk": [{"disk_device": "-x"}]}]}]}}',
     "not a device name"),
    ('{"sysstat": {"hosts": [{"statistics": [{"disk": [{"disk_device": "sda", "r/s": -1,'
     ' "w/s": 0, "util": 0}]}]}]}}', "r/s is not a number"),
    ('{"sysstat": {"hosts": [{"statistics": [{"disk": [{"disk_device": "sda", "r/s": 0,'
     ' "w/s": 0}]}]}]}}', "has no util"),
    ('{"sysstat": {"hosts": [{"statistics": [{"disk": [{"disk_device": "sda", "r/s": 0,'
     ' "w/s": 0, "util": 250}]}]}]}}', "above 100"),
    ("{" * 100000, "line 1"),
    ("", "empty output"),
])
def test_malformed_is_a_parse_error(text, message):
    with pytest.raises(ParseError, match=message):
        iostat.parse(text)


def test_interval_bounds():
    assert "iostat -dxy -o JSON" in iostat.command({}).render()
    assert iostat.command({"capacity": {"iostat": {"interval": 5}}}).render().endswith(" 5")
    for bad in (0, 11, "3; reboot", True, 2.5):
        with pytest.raises(ValueError):
            iostat.command({"capacity": {"iostat": {"interval": bad}}})


def test_defaults_validate_and_mistakes_are_named():
    assert varschema.problems("capacity", {"iostat": DEFAULTS}) == []
    assert varschema.problems("capacity", {"iostat": {"interval": 60}})
    assert varschema.problems("capacity", {"iostat": {"util": {"warn": 80}}})
    assert varschema.problems("capacity", {"disk": {"usage_pct": {"warn": 85, "crit": 95}}}) == []
