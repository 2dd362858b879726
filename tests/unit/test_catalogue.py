"""The check catalogue (`python -m fleetcheck checks`) and the README reference made from
it: every check documented from its own code, and the README never out of date."""

import json
import subprocess
import sys
from pathlib import Path

from fleetcheck import catalogue

REPO = Path(__file__).resolve().parents[2]


def test_readme_reference_is_generated_from_the_code():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert catalogue.update_readme(text, catalogue.collect()) == text, (
        "README.md's check, fix or vars reference differs from the code: run `make docs`")


def test_every_check_and_fix_says_what_it_does():
    infos = catalogue.collect()
    assert len(infos) >= 15
    for info in infos:
        assert info.what != info.title, f"{info.check_id}: no docstring saying what it checks"
        assert info.fix != "yes", f"{info.check_id}: its fix has no docstring"


def test_json_lists_each_check_with_its_vars_and_fix():
    out = subprocess.run([sys.executable, "-m", "fleetcheck", "checks", "--format", "json"],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    by_id = {c["check_id"]: c for c in json.loads(out)}
    sysctl = by_id["sysctl.value"]
    assert sysctl["severity"] == "medium" and sysctl["items"] == "sysctl"
    assert "sysctl" in sysctl["vars"] and sysctl["fix"] and sysctl["facts"] == ["sysctl"]
    assert by_id["capacity.disk"]["fix"] is None
    assert by_id["dns.forward_reverse"]["facts"] == []     # reads nothing of its host
    disk = by_id["capacity.disk"]["vars"]["capacity"]
    assert "description" in disk


def test_var_rows_flatten_a_schema():
    schema = {"type": "object", "description": "top", "properties": {
        "usage_pct": {"type": "object", "description": "usage",
                      "properties": {"warn": {}, "crit": {}}, "default": {"warn": 85}},
        "mounts": {"type": "array", "description": "per mount",
                   "items": {"type": "object", "description": "one mount",
                             "properties": {"path": {"type": "string",
                                                     "description": "glob"}}}}}}
    rows = catalogue.var_rows("disk", schema)
    assert rows == [
        ("disk", "object", "", "top"),
        ("disk.usage_pct", "{warn, crit} threshold", '{"warn": 85}', "usage"),
        ("disk.mounts", "array", "", "per mount"),
        ("disk.mounts[]", "object", "", "one mount"),
        ("disk.mounts[].path", "string", "", "glob"),
    ]
