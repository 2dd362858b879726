"""What report.html's fleet section knows beside the records, serial and under xdist:
each check's description and evidence rows (its compare=), each reached host's summary
(fleetcheck.facts.system), none for an unreachable host; results.json's records keep
their fields."""

import json
import re
from pathlib import Path

import pytest

CHECK = '''
import pytest

@pytest.mark.check("demo.cpus", facts=["nproc"], compare={"CPUs": ("want", "cpus")})
def test_cpus(host, facts, evidence):
    """The host has the CPUs it should.

    Not this paragraph."""
    evidence.add(want=1, cpus=facts.nproc.cpus, sha256_of_nothing="e3b0")
'''
INV = """all:
  hosts:
    a: {ansible_connection: local}
    b: {ansible_connection: local}
    gone: {ansible_host: 127.0.0.1, ansible_port: 1}
"""
RECORD_FIELDS = {"host", "check_id", "test_id", "nodeid", "severity", "title", "outcome",
                 "message", "evidence", "plan", "duration", "item", "waiver", "area"}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_section_has_descriptions_rows_and_host_summaries(pytester, xdist):
    pytester.makefile(".yml", inv=INV)
    pytester.makepyfile(test_demo=CHECK)
    pytester.runpytest_subprocess("--inventory", "inv.yml", "-p", "no:randomly", *xdist)
    last = pytester.path / "reports" / "last"
    html = (last / "report.html").read_text()
    data = json.loads(re.search(r'id="fleetcheck-data">(.*?)</script>', html, re.S).group(1))
    assert data["checks"] == {"demo.cpus": {"description": "The host has the CPUs it should."}}
    kernel = Path("/proc/sys/kernel/osrelease").read_text().strip()
    assert sorted(data["host_facts"]) == ["a", "b"]          # not the unreachable one
    assert {f["kernel"] for f in data["host_facts"].values()} == {kernel}
    rows = {r["h"]: r.get("x") for r in data["records"]}
    cpus = str(json.loads((last / "results.json").read_text())["records"][0]["evidence"]["cpus"])
    assert rows["a"] == [["CPUs", "1", cpus, "as expected" if cpus == "1" else "passed"]]
    assert rows["gone"] is None
    for record in json.loads((last / "results.json").read_text())["records"]:
        assert set(record) == RECORD_FIELDS
