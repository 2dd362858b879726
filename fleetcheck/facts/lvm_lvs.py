"""Logical volumes, hidden ones too: `lvs -a --reportformat json --units b --nosuffix
-o lv_name,vg_name,lv_attr,lv_size,lv_layout,pool_lv,origin,data_percent,
metadata_percent,lv_active` (fleetcheck.facts.lvm).

lv_attr, ten letters (lvs(8)), of which the checks read:

    [0] type      (t)hin pool, (V) thin volume, (s)napshot, (S) merging snapshot,
                  (o)rigin, (m)irror, (r)aid, (T) pool data, (e) metadata, (-) plain ...
    [4] state     (a)ctive, (-) inactive, (s)uspended, (I)nvalid snapshot, (S)
                  invalid suspended snapshot, (m)erge failed, (M) suspended merge
                  failed, (d) device present without tables, (i) inactive table,
                  (c)heck needed (thin pool), (C) suspended check needed,
                  (h)istorical, (X) unknown (device-mapper did not answer)
    [8] health    (p)artial, (r)efresh needed, (m)ismatches, (w)rite-mostly; thin
                  pools: (F)ailed, out of (D)ata space, (M)etadata read only;
                  thin volumes: (F) failed pool
    [9] skip      (k): activation skipped unless asked (thin snapshots by default)

A segment field (segtype) would make lvs print one row per segment: lv_layout is the
LV's own; a capture that has one row per segment keeps the LV's first row.

An LV named `[name]` is hidden (a pool's _tdata/_tmeta, a raid image, the pmspare):
LVM activates it with the LV it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts import lvm
from fleetcheck.facts.base import Command, ParseError, shown

NAME = "lvm_lvs"
ACTIVE_STATES = "aImc"          # active (an invalid snapshot is judged by lvm.snapshots)
STATES = {
    "a": "active", "-": "inactive", "s": "suspended", "I": "active, invalid snapshot",
    "S": "suspended, invalid snapshot", "m": "snapshot merge failed",
    "M": "suspended, snapshot merge failed", "d": "mapped device present without tables",
    "i": "mapped device present with an inactive table", "c": "active, check needed",
    "C": "suspended, check needed", "h": "historical", "X": "unknown (device-mapper did "
    "not answer)",
}


def command(hostvars: Mapping[str, Any]) -> Command:
    return lvm.command_for("lvs", hostvars)


@dataclass
class LogicalVolume:
    vg: str
    name: str
    attr: str
    size: float | None = None
    layout: str | None = None      # linear, striped, thin,pool, ...
    pool: str = ""
    origin: str = ""
    data_pct: float | None = None
    metadata_pct: float | None = None

    @property
    def full_name(self) -> str:
        return f"{self.vg}/{self.name}"

    @property
    def hidden(self) -> bool:
        return self.name.startswith("[")

    @property
    def state(self) -> str:
        return self.attr[4]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def health(self) -> str:
        return self.attr[8]

    @property
    def skip_activation(self) -> bool:
        return self.attr[9] == "k"

    @property
    def thin_pool(self) -> bool:
        return self.attr[0] == "t"

    @property
    def cow_snapshot(self) -> bool:
        """A classic snapshot (its own COW space); a thin snapshot (V with an origin)
        takes its blocks from the pool."""
        return self.attr[0] in "sS"


@dataclass
class LogicalVolumes:
    installed: bool = True
    capture: bool = False
    lvs: list[LogicalVolume] = field(default_factory=list)

    def find(self, full_name: str) -> LogicalVolume | None:
        return next((lv for lv in self.lvs if lv.full_name == full_name), None)


def parse(text: str) -> LogicalVolumes:
    installed, capture, rows = lvm.read(text, "lv")
    out = LogicalVolumes(installed, capture)
    seen: set[str] = set()
    for n, row in rows:
        attr = lvm.attr(row, "lv_attr", n, 10)
        if attr is None:
            raise ParseError(f"line {n}: no 'lv_attr' field in {shown(str(row), 60)}")
        if attr[4] not in STATES:
            raise ParseError(f"line {n}: lv_attr state {attr[4]!r} is none of lvm's "
                             f"({''.join(STATES)}): {shown(attr)}")
        lv = LogicalVolume(
            lvm.name(row, "vg_name", n), lvm.name(row, "lv_name", n, hidden=True), attr,
            size=lvm.size(row, "lv_size", n),
            layout=lvm.field(row, "lv_layout", n) or lvm.field(row, "segtype", n),
            pool=lvm.field(row, "pool_lv", n) or "", origin=lvm.field(row, "origin", n) or "",
            data_pct=lvm.percent(row, "data_percent", n),
            metadata_pct=lvm.percent(row, "metadata_percent", n))
        if lv.full_name not in seen:
            seen.add(lv.full_name)
            out.lvs.append(lv)
    return out
