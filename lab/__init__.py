"""fleetcheck's lab: a fleet of namespaced hosts with real daemons and injectable faults.

    from lab import Lab
    lab = Lab()                 # state in lab/state, inventory inventories/lab.yml
    lab.up(plain_hosts=0)       # idempotent
    lab.fault("web1", "missing-ptr"); lab.heal("web1", "missing-ptr")
    lab.exec("ns1", ["rndc", "status"])
    lab.down()

See lab/README.md.
"""

from .core import Lab, LabError
from .faults import FAULTS

__all__ = ["Lab", "LabError", "FAULTS"]
