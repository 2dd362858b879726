"""Pictures for report.html, drawn by the report itself: inline SVG strings, no script,
no font or file from elsewhere (the page stays one self-contained file).

Pure: numbers in, SVG text out. Every text in an SVG (labels, run ids, host names) is
escaped, and every picture says what it shows twice over: a <title> and an aria-label
with the numbers (role="img"), so a screen reader, a text browser or a reader of the
source has them without the picture. The page puts the numbers beside the picture
too (fleetcheck.report.summary).

- `trend`: failing findings per severity over runs, one line per severity, oldest run
  left, newest right, the y axis from 0 to the largest count;
- `sparkline`: one series (a host's failing findings over the same runs) in a small
  box, scaled to its own largest value.
"""

from __future__ import annotations

from html import escape

from fleetcheck.report.records import SEVERITIES

# Dark enough on white for a line (WCAG's 3:1 for graphics) and told apart by the
# legend's words, not by colour alone.
COLOURS = {"critical": "#8b0000", "high": "#c0392b", "medium": "#a65c00",
           "low": "#1f5f99", "info": "#555555"}


def _num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def xs(count: int, left: float, right: float) -> list[float]:
    """`count` x positions spread evenly from left to right; one alone in the middle."""
    if count <= 0:
        return []
    if count == 1:
        return [(left + right) / 2]
    step = (right - left) / (count - 1)
    return [left + i * step for i in range(count)]


def y_of(value: float, top_value: float, top: float, bottom: float) -> float:
    """The y of `value` on an axis from 0 (bottom) to `top_value` (top); SVG's y grows
    downwards. A top_value of 0 (nothing ever failed) puts every point on the bottom."""
    if top_value <= 0:
        return bottom
    return bottom - (bottom - top) * (max(0.0, value) / top_value)


def nice_top(value: float) -> int:
    """The axis' top: the largest value rounded up to 1, 2 or 5 times a power of ten
    (at least 1, so that an empty chart still has an axis)."""
    if value <= 1:
        return 1
    power = 1
    while True:
        for step in (1, 2, 5):
            if step * power >= value:
                return step * power
        power *= 10


def trend(runs: list[tuple[str, dict[str, int]]], *, width: int = 600,
          height: int = 170, severities=SEVERITIES) -> str:
    """The trend chart: `runs` oldest first, each (label, {severity: failing findings}).
    A severity that no run has any finding of is drawn neither as a line nor in the
    legend (an all-zero chart keeps one line: "all severities 0")."""
    left, right, top, bottom = 34.0, width - 8.0, 10.0, height - 40.0
    points = xs(len(runs), left, right)
    shown = [s for s in severities if any(counts.get(s, 0) for _, counts in runs)]
    # the top of the axis is the largest count of one severity in one run
    top_value = nice_top(max([c.get(s, 0) for _, c in runs for s in severities] + [0]))
    numbers = "; ".join(
        f"{label}: " + (", ".join(f"{s} {counts.get(s, 0)}" for s in shown) or "0")
        for label, counts in runs)
    label = (f"Failing findings per severity over {len(runs)} run"
             f"{'s' if len(runs) != 1 else ''}, oldest first: {numbers}")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="fc-trend" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="{escape(label)}"><title>{escape(label)}</title>']
    # axis: 0 and the top value, a base line
    out.append(f'<line x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(right)}" '
               f'y2="{_num(bottom)}" stroke="#444" stroke-width="1"/>')
    out.append(f'<line x1="{_num(left)}" y1="{_num(top)}" x2="{_num(right)}" '
               f'y2="{_num(top)}" stroke="#bbb" stroke-width="1" stroke-dasharray="3 3"/>')
    out.append(f'<text x="{_num(left - 4)}" y="{_num(bottom + 4)}" text-anchor="end" '
               f'font-size="11" fill="#222">0</text>')
    out.append(f'<text x="{_num(left - 4)}" y="{_num(top + 4)}" text-anchor="end" '
               f'font-size="11" fill="#222">{top_value}</text>')
    if runs:
        out.append(f'<text x="{_num(points[0])}" y="{_num(bottom + 15)}" '
                   f'text-anchor="{"start" if len(runs) > 1 else "middle"}" font-size="10" '
                   f'fill="#222">{escape(runs[0][0])}</text>')
    if len(runs) > 1:
        out.append(f'<text x="{_num(points[-1])}" y="{_num(bottom + 15)}" text-anchor="end" '
                   f'font-size="10" fill="#222">{escape(runs[-1][0])}</text>')
    for sev in shown or [None]:
        colour = COLOURS.get(sev, "#555555") if sev else "#1e6b1e"
        coords = [(x, y_of(counts.get(sev, 0) if sev else 0, top_value, top, bottom))
                  for x, (_, counts) in zip(points, runs)]
        if len(coords) > 1:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                       f'data-severity="{escape(sev or "none")}" points="'
                       + " ".join(f"{_num(x)},{_num(y)}" for x, y in coords) + '"/>')
        for (x, y), (run_label, counts) in zip(coords, runs):
            out.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="{colour}" '
                       f'data-severity="{escape(sev or "none")}"><title>{escape(run_label)}: '
                       f'{escape(sev or "all severities")} {counts.get(sev, 0) if sev else 0}'
                       f"</title></circle>")
    # legend: the words, in each line's colour
    x = left
    for sev in shown or ["all severities 0"]:
        colour = COLOURS.get(sev, "#1e6b1e")
        out.append(f'<rect x="{_num(x)}" y="{_num(height - 12)}" width="10" height="3" '
                   f'fill="{colour}"/><text x="{_num(x + 13)}" y="{_num(height - 8)}" '
                   f'font-size="11" fill="#222">{escape(sev)}</text>')
        x += 13 + 7 * len(sev) + 14
    out.append("</svg>")
    return "".join(out)


def sparkline(values: list[float | None], label: str, *, width: int = 90,
              height: int = 18) -> str:
    """A small line of `values` (oldest first; None: no value in that run, a gap),
    scaled to its own largest value; `label` says what it is ("web1: failing
    findings"), the numbers are added to it."""
    left, right, top, bottom = 2.0, width - 2.0, 2.0, height - 2.0
    points = xs(len(values), left, right)
    top_value = max([v for v in values if v is not None] + [0])
    numbers = ", ".join("none" if v is None else f"{v:g}" for v in values)
    text = f"{label} over {len(values)} run{'s' if len(values) != 1 else ''}: {numbers}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="fc-spark" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="{escape(text)}"><title>{escape(text)}</title>'
           f'<line x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(right)}" '
           f'y2="{_num(bottom)}" stroke="#bbb" stroke-width="1"/>']
    segment: list[str] = []
    segments = []
    for x, v in zip(points, values):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_num(x)},{_num(y_of(v, top_value, top, bottom))}")
    if segment:
        segments.append(segment)
    for n, seg in enumerate(segments):
        if len(seg) > 1:
            out.append(f'<polyline fill="none" stroke="#b00020" stroke-width="1.5" '
                       f'points="{" ".join(seg)}"/>')
        elif n < len(segments) - 1:   # a value between two gaps: a dot (the last: below)
            x, y = seg[0].split(",")
            out.append(f'<circle cx="{x}" cy="{y}" r="1.5" fill="#b00020"/>')
    last = next(((x, v) for x, v in zip(reversed(points), reversed(values)) if v is not None),
                None)
    if last is not None:
        x, v = last
        out.append(f'<circle cx="{_num(x)}" cy="{_num(y_of(v, top_value, top, bottom))}" '
                   f'r="2" fill="#b00020"/>')
    out.append("</svg>")
    return "".join(out)
