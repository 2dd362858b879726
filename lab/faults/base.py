"""What a lab fault is: where it applies, what it does, the check it breaks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ANY = "any host"
EVERY_CHECK = "*"   # a fault that makes every check of its host unreachable
# fleetcheck's captured outputs: what a host reads where the lab cannot make the real one
CAPTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "facts"


@dataclass(frozen=True)
class Fault:
    where: str          # the group of the hosts it applies to, or ANY
    description: str
    check: str          # the check id it makes fail on its host (EVERY_CHECK: all)
    fixable: bool       # --remediate fixes it

    def row(self, name: str) -> dict:
        """``python -m lab faults --json``: where as a group name ('all' for any host)."""
        return {"name": name, "host": "all" if self.where == ANY else self.where,
                "check": self.check, "fixable": self.fixable}


class FaultError(ValueError):
    pass
