"""--sarif FILE: SARIF 2.1.0, one result per failing or waived record.

Rules are the checks (id, title, severity); a result is one host x check whose
outcome is failed, would-fix, error or unreachable, plus waived ones as suppressed
results (kind "external", the waiver's reason as justification) so code-scanning
tools show them as accepted. The location is the check's source file (for GitHub
code scanning) and the host as a logical location.

GitHub's code scanning needs a region with a startLine in every result (GH1003): a
result points at the inventory line that names its host where the inventory is a file
under the run's directory (the repository, in CI) and names it on a line of its own,
else at line 1 of the check's source file. Its rules rank by `security-severity`,
which only the security checks carry (SECURITY_AREAS, SECURITY_CHECKS): a full disk is
an operations finding, not a vulnerability.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetcheck.report.records import BAD_OUTCOMES, Record

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "warning",
          "info": "note"}
# GitHub code scanning reads this property (0.0-10.0) to rank findings.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0",
                     "info": "0.0"}
# The checks of what an attacker uses: access, authentication, exposure, known holes.
SECURITY_AREAS = frozenset({"sshd", "files", "users", "pam", "updates", "ftp", "vpn",
                            "proxy", "ldap"})
SECURITY_CHECKS = frozenset({"sysctl.baseline", "kernel.modules", "kernel.tainted",
                             "web.tls", "web.userdir", "web.allow_override",
                             "mail.open_relay", "dns.axfr_restricted", "nfs.exports",
                             "samba.shares", "net.listening"})
MAX_INVENTORY_LINES = 200000   # lines of one inventory file searched for host names


def security(check_id: str) -> bool:
    return check_id.split(".", 1)[0] in SECURITY_AREAS or check_id in SECURITY_CHECKS


def inventory_lines(entries: Mapping[str, Any], root: Path) -> dict[str, tuple[str, int]]:
    """host -> (its inventory file relative to `root`, the first line naming the host
    as a key or an INI line of its own) for each host whose source file is under
    `root`; hosts of a range (web[01:10]), a script or a plugin have none."""
    out: dict[str, tuple[str, int]] = {}
    files: dict[Path, list[str] | None] = {}
    root = root.resolve()
    for name, entry in entries.items():
        try:
            path = Path(entry.source).resolve()
            rel = path.relative_to(root).as_posix()
        except (OSError, ValueError, TypeError):
            continue
        if path not in files:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    files[path] = [ln for _, ln in zip(range(MAX_INVENTORY_LINES), f)]
            except OSError:
                files[path] = None
        lines = files[path]
        if not lines:
            continue
        key = re.compile(r"\s*(?:-\s+)?['\"]?" + re.escape(str(name))
                         + r"['\"]?(?::|\s|$)")
        line = next((i for i, text in enumerate(lines, 1) if key.match(text)), None)
        if line is not None:
            out[name] = (rel, line)
    return out


def reported(record: Record) -> bool:
    return record.outcome in BAD_OUTCOMES or record.outcome == "waived"


def build(records: list[Record], version: str, run_id: str,
          incomplete: str | None = None,
          hosts: Mapping[str, tuple[str, int]] | None = None) -> dict:
    """The SARIF log of a run; `incomplete` (why the run is not complete) makes its
    invocation unsuccessful, so a consumer does not read missing results as fixed;
    `hosts` (inventory_lines()) is where each host is declared."""
    rules: dict[str, dict] = {}
    for r in records:
        if r.check_id not in rules:
            rules[r.check_id] = {
                "id": r.check_id,
                "name": r.check_id.replace(".", "_"),
                "shortDescription": {"text": r.title or r.check_id},
                "defaultConfiguration": {"level": LEVELS.get(r.severity, "warning")},
                "properties": {"severity": r.severity, "area": r.area},
            }
            if security(r.check_id):
                rules[r.check_id]["properties"]["security-severity"] = \
                    SECURITY_SEVERITY.get(r.severity, "5.0")
    index = {cid: i for i, cid in enumerate(rules)}
    results = [_result(r, index[r.check_id], (hosts or {}).get(r.host))
               for r in records if reported(r)]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "fleetcheck", "version": version,
                                "rules": list(rules.values())}},
            "automationDetails": {"id": f"fleetcheck/{run_id}"},
            "invocations": [_invocation(incomplete)],
            "results": results,
        }],
    }


def _invocation(incomplete: str | None) -> dict:
    if incomplete is None:
        return {"executionSuccessful": True}
    return {"executionSuccessful": False, "toolExecutionNotifications": [
        {"level": "warning", "message": {"text": f"incomplete run: {incomplete}"}}]}


def _result(r: Record, rule_index: int, declared: tuple[str, int] | None) -> dict:
    where = r.host + (f" ({r.item})" if r.item else "")
    text = f"{r.check_id} {r.outcome} on {where}"
    if r.message:
        text += f": {r.message}"
    path, line = declared or (r.nodeid.split("::", 1)[0], 1)
    result = {
        "ruleId": r.check_id,
        "ruleIndex": rule_index,
        "level": "error" if r.outcome == "unreachable" else LEVELS.get(r.severity, "warning"),
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                                 "region": {"startLine": line}},
            "logicalLocations": [{"name": r.host, "kind": "host"}],
        }],
        "partialFingerprints": {"fleetcheck/v1": f"{r.host}|{r.check_id}|{r.item or ''}"},
        "properties": {"host": r.host, "outcome": r.outcome, "severity": r.severity,
                       "evidence": r.evidence},
    }
    if r.outcome == "waived" and r.waiver:
        result["suppressions"] = [{"kind": "external", "state": "accepted",
                                   "justification": r.waiver.get("reason", "")}]
    return result
