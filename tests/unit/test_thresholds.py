import math

import pytest

from fleetcheck.thresholds import ThresholdError, evaluate, judge, parse_range


@pytest.mark.parametrize("text, inside, outside", [
    ("10", [0, 5, 10], [-1, 10.5]),
    ("10:", [10, 1e9], [9.99, -5]),
    ("~:10", [-1e9, 10], [10.1]),
    ("10:20", [10, 15, 20], [9, 21]),
    ("@10:20", [9, 21], [10, 15, 20]),
])
def test_nagios_ranges(text, inside, outside):
    rng = parse_range(text)
    assert not any(rng.alerts(v) for v in inside)
    assert all(rng.alerts(v) for v in outside)


@pytest.mark.parametrize("text", ["", "@", "abc", "20:10", "1:2:3", "~"])
def test_bad_ranges(text):
    with pytest.raises(ThresholdError):
        parse_range(text)


def test_number_thresholds_both_directions():
    assert [judge(v, {"warn": 80, "crit": 90}) for v in (10, 80, 95)] == ["ok", "warn", "crit"]
    assert [judge(v, {"warn": 20, "crit": 5}) for v in (50, 20, 1)] == ["ok", "warn", "crit"]


def test_range_thresholds_crit_wins():
    spec = {"warn": "~:80", "crit": "~:90"}
    assert [judge(v, spec) for v in (10, 85, 95)] == ["ok", "warn", "crit"]
    assert parse_range("~:1").start == -math.inf


def test_evaluate_skips_unmeasured_and_unthresholded():
    levels, breaches = evaluate({"a": 95, "b": None, "c": 1}, {"a": {"warn": 80, "crit": 90},
                                                               "b": {"warn": 1, "crit": 2}})
    assert levels == {"a": "crit"} and breaches == ["a 95 >= crit 90"]
