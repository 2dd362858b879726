"""Running the audit (pytest with the fleetcheck plugin) against the lab from tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
LAB_INV = REPO / "inventories" / "lab.yml"


def audit(tmp_path: Path, *args: str, inventory: Path = LAB_INV,
          timeout: float = 600) -> tuple[int, list[dict], str]:
    """Run an audit; return its exit code, its records and its output."""
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--inventory", str(inventory), "-q",
         "-p", "no:cacheprovider", "--reports-dir", str(reports), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout)
    results = reports / "last" / "results.json"
    records = json.loads(results.read_text())["records"] if results.exists() else []
    return proc.returncode, records, proc.stdout + proc.stderr


def run_id(tmp_path: Path) -> str:
    return (tmp_path / "reports" / "last").resolve().name


def variant(tmp_path: Path, lab, **all_vars) -> Path:
    """lab.yml with absolute lab paths and some `all` vars replaced."""
    data = yaml.safe_load(LAB_INV.read_text())
    v = data["all"]["vars"]
    v["ansible_ssh_private_key_file"] = str(lab.state_dir / "id_ed25519")
    v["fleetcheck_known_hosts"] = str(lab.state_dir / "known_hosts")
    v["fleetcheck_ssh_config"] = str(lab.state_dir / "ssh_config")
    v.update(all_vars)
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data))
    return path
