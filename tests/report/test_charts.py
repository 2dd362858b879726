"""The report's pictures (fleetcheck.report.charts): runs' counts in, SVG text out,
read back with the standard library's XML parser (an SVG that does not parse is a
broken picture)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from fleetcheck.report import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def points_of(root: ET.Element, severity: str) -> list[tuple[float, float]]:
    line = [p for p in root.iter(f"{SVG}polyline") if p.get("data-severity") == severity]
    if line:
        return [tuple(map(float, xy.split(","))) for xy in line[0].get("points").split()]
    return [(float(c.get("cx")), float(c.get("cy"))) for c in root.iter(f"{SVG}circle")
            if c.get("data-severity") == severity]


RUNS = [("r1", {"high": 4, "medium": 1}), ("r2", {"high": 2, "medium": 1}),
        ("r3", {"high": 0, "medium": 3})]


def test_points_are_spread_evenly_and_scaled_to_the_axis():
    root = parse(charts.trend(RUNS, width=600, height=170))
    high = points_of(root, "high")
    assert [x for x, _ in high] == [34.0, 313.0, 592.0]     # left .. width - 8, evenly
    bottom, top = 170 - 40.0, 10.0
    # the axis' top is 5 (4 rounded up to 1, 2, 5 x 10^n): 4 is 4/5 of the way up
    assert high[0][1] == pytest.approx(bottom - (bottom - top) * 4 / 5)
    assert high[1][1] == pytest.approx(bottom - (bottom - top) * 2 / 5)
    assert high[2][1] == bottom                             # 0: on the base line
    assert points_of(root, "medium")[2][1] == pytest.approx(bottom - (bottom - top) * 3 / 5)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "5" in texts and "0" in texts and "r1" in texts and "r3" in texts
    # a severity without any finding in any run is neither drawn nor in the legend
    assert points_of(root, "critical") == [] and "critical" not in texts


def test_the_numbers_are_in_the_title_and_the_aria_label():
    svg = charts.trend(RUNS)
    root = parse(svg)
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title").text
    assert root.get("aria-label") == title
    assert title == ("Failing findings per severity over 3 runs, oldest first: "
                     "r1: high 4, medium 1; r2: high 2, medium 1; r3: high 0, medium 3")
    assert [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")][:3] == [
        "r1: high 4", "r2: high 2", "r3: high 0"]


def test_one_run_is_one_point_in_the_middle():
    root = parse(charts.trend([("only", {"critical": 2})], width=600))
    assert list(root.iter(f"{SVG}polyline")) == []
    (x, y), = points_of(root, "critical")
    assert x == (34 + 592) / 2 and y == 10.0                # the top: 2 is the axis' top
    assert "over 1 run," in root.get("aria-label")


def test_zero_findings_is_a_flat_line_on_the_base():
    root = parse(charts.trend([("a", {"high": 0}), ("b", {})]))
    flat = points_of(root, "none")
    assert [y for _, y in flat] == [130.0, 130.0]
    assert [t.text for t in root.iter(f"{SVG}text")][-1] == "all severities 0"
    assert "a: 0; b: 0" in root.get("aria-label")
    assert parse(charts.trend([])).get("aria-label").startswith(
        "Failing findings per severity over 0 runs")


def test_many_runs_stay_inside_the_picture():
    runs = [(f"run{i}", {"low": i % 7, "high": 1000 + i}) for i in range(500)]
    root = parse(charts.trend(runs, width=600, height=170))
    high = points_of(root, "high")
    assert len(high) == 500
    xs = [x for x, _ in high]
    assert xs == sorted(xs) and xs[0] == 34 and xs[-1] == 592
    assert all(10 <= y <= 130 for _, y in high + points_of(root, "low"))
    assert root.find(f"{SVG}text[@x='30'][@y='14']").text == "2000"   # 1499 -> 2000


def test_nice_top_and_the_axis_scale():
    assert [charts.nice_top(v) for v in (0, 1, 2, 3, 7, 10, 11, 49, 51, 999, 1001)] == [
        1, 1, 2, 5, 10, 10, 20, 50, 100, 1000, 2000]
    assert charts.y_of(5, 0, 10, 100) == 100              # nothing ever failed
    assert charts.y_of(-3, 10, 10, 100) == 100            # never below the base


def test_every_text_is_escaped():
    nasty = '</title><script>alert(1)</script>"&'
    svg = charts.trend([(nasty, {"high": 1})]) + charts.sparkline([1, None, 2], nasty)
    assert "<script>" not in svg
    root = parse(charts.trend([(nasty, {"high": 1})]))
    assert nasty in root.get("aria-label") and nasty in root.find(f"{SVG}title").text


def test_sparkline_scales_to_its_own_largest_value_and_leaves_gaps():
    root = parse(charts.sparkline([4, 2, None, 0, 1], "web1: failing findings",
                                  width=90, height=18))
    assert root.get("aria-label") == "web1: failing findings over 5 runs: 4, 2, none, 0, 1"
    lines = [p.get("points").split() for p in root.iter(f"{SVG}polyline")]
    # two pieces: before and after the run the host was not in
    assert lines == [["2,2", "23.5,9"], ["66.5,16", "88,12.5"]]   # x: 2 + 21.5 n
    last, = root.iter(f"{SVG}circle")
    assert (last.get("cx"), last.get("cy")) == ("88", "12.5")
    one = parse(charts.sparkline([3], "h"))
    assert [c.get("cx") for c in one.iter(f"{SVG}circle")] == ["45"]
    zeros = parse(charts.sparkline([0, 0, 0], "h"))
    assert {xy.split(",")[1] for xy in next(zeros.iter(f"{SVG}polyline")).get("points").split()} \
        == {"16"}
