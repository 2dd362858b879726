"""Volume groups: `vgs --reportformat json --units b --nosuffix -o vg_name,vg_attr,
vg_size,vg_free,vg_extent_size,pv_count,lv_count,snap_count,vg_missing_pv_count`
(fleetcheck.facts.lvm: the command, the JSON report, the lab's captures).

vg_attr (lvm2's vgs(8)): permissions (w)riteable/(r)ead-only, resi(z)eable,
e(x)ported, (p)artial (a PV is missing), allocation policy, (c)lustered/(s)hared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts import lvm
from fleetcheck.facts.base import Command, ParseError
from fleetcheck.facts.lvm import VALUE_KINDS  # noqa: F401  (the area's kinds, declared once)

NAME = "lvm_vgs"


def command(hostvars: Mapping[str, Any]) -> Command:
    return lvm.command_for("vgs", hostvars)


@dataclass
class VolumeGroup:
    name: str
    size: float                    # bytes
    free: float                    # bytes
    attr: str | None = None
    extent_size: float | None = None
    pv_count: int | None = None
    lv_count: int | None = None
    snap_count: int | None = None
    missing_pvs: int | None = None

    @property
    def free_pct(self) -> float:
        return round(100.0 * self.free / self.size, 2) if self.size else 0.0

    @property
    def partial(self) -> bool:
        return bool(self.missing_pvs) or (self.attr is not None and self.attr[3] == "p")


@dataclass
class VolumeGroups:
    installed: bool = True         # False: no vgs command (lvm2 not installed)
    capture: bool = False          # read from lvm.report_dir, not from the tools
    vgs: list[VolumeGroup] = field(default_factory=list)


def parse(text: str) -> VolumeGroups:
    installed, capture, rows = lvm.read(text, "vg")
    out = VolumeGroups(installed, capture)
    for n, row in rows:
        vg = VolumeGroup(lvm.name(row, "vg_name", n),
                         lvm.size(row, "vg_size", n, required=True),
                         lvm.size(row, "vg_free", n, required=True),
                         attr=lvm.attr(row, "vg_attr", n, 6),
                         extent_size=lvm.size(row, "vg_extent_size", n),
                         pv_count=lvm.count(row, "pv_count", n),
                         lv_count=lvm.count(row, "lv_count", n),
                         snap_count=lvm.count(row, "snap_count", n),
                         missing_pvs=lvm.count(row, "vg_missing_pv_count", n))
        if vg.free > vg.size:
            raise ParseError(f"line {n}: vg_free {vg.free:g} is above vg_size {vg.size:g}")
        out.vgs.append(vg)
    return out
