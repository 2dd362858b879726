"""A strict reader of a Nagios plugin's output, for the tests of --nagios."""

from __future__ import annotations

import re

_PERF = re.compile(r"""('(?:[^'=]|'')+'|[^ '=]+)=(-?[0-9.]+)([a-zA-Z%]*)"""
                   r"(?:;(-?[0-9.:~@]*)){0,4}")


def parse_plugin_output(text: str) -> tuple[str, str, dict[str, float], list[str]]:
    """(status, text, perfdata, long output lines) of a Nagios plugin's stdout, as the
    Nagios Plugin Development Guidelines define it (one status line `TEXT | PERF`,
    then long text lines; perfdata `label=value[UOM];[warn];[crit];[min];[max]`
    separated by blanks); raises AssertionError on anything else."""
    first, *rest = text.rstrip("\n").split("\n")
    head, bar, perf = first.partition(" | ")
    assert bar and "|" not in head and "|" not in perf, first
    status = re.match(r"FLEETCHECK (OK|WARNING|CRITICAL|UNKNOWN) - ", head)
    assert status, head
    values = {}
    for item in perf.split(" "):
        m = _PERF.fullmatch(item)
        assert m, f"not plugin perfdata: {item!r}"
        assert m.group(1) not in values, f"label twice: {m.group(1)}"
        values[m.group(1)] = float(m.group(2))
    assert not [ln for ln in rest if "|" in ln], rest   # no perfdata in the long text
    return status.group(1), head, values, rest
