"""Physical volumes: `pvs --reportformat json --units b --nosuffix -o pv_name,vg_name,
pv_attr,pv_size,pv_free,pv_missing` (fleetcheck.facts.lvm).

A PV that a VG's metadata names but no device carries shows as `[unknown]` with
pv_attr's third letter `m` and pv_missing `missing` (lvm2 >= 2.02.161; older ones
only the attribute). pv_attr: (d)uplicate, (a)llocatable, e(x)ported, (m)issing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts import lvm
from fleetcheck.facts.base import Command, ParseError, shown

NAME = "lvm_pvs"
_PV = re.compile(r"/[^\x00-\x1f]{0,4095}|\[unknown\]")


def command(hostvars: Mapping[str, Any]) -> Command:
    return lvm.command_for("pvs", hostvars)


@dataclass
class PhysicalVolume:
    name: str                      # /dev/sdb1, or [unknown] for a missing one
    vg: str                        # "" for a PV in no VG
    attr: str | None = None
    size: float | None = None
    free: float | None = None
    missing: bool = False


@dataclass
class PhysicalVolumes:
    installed: bool = True
    capture: bool = False
    pvs: list[PhysicalVolume] = field(default_factory=list)

    @property
    def missing(self) -> list[PhysicalVolume]:
        return [pv for pv in self.pvs if pv.missing]


def parse(text: str) -> PhysicalVolumes:
    installed, capture, rows = lvm.read(text, "pv")
    out = PhysicalVolumes(installed, capture)
    for n, row in rows:
        name = lvm.field(row, "pv_name", n, required=True)
        if not _PV.fullmatch(name):
            raise ParseError(f"line {n}: pv_name is not a device: {shown(name)}")
        attr = lvm.attr(row, "pv_attr", n, 3)
        flag = lvm.field(row, "pv_missing", n)
        if flag not in (None, "", "missing"):
            raise ParseError(f"line {n}: pv_missing must be 'missing' or empty, got "
                             f"{shown(flag)}")
        out.pvs.append(PhysicalVolume(
            name, lvm.name(row, "vg_name", n, allow_empty=True), attr,
            lvm.size(row, "pv_size", n), lvm.size(row, "pv_free", n),
            missing=flag == "missing" or (attr is not None and attr[2] == "m")))
    return out
