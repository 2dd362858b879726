"""--sarif FILE: SARIF 2.1.0, one result per failing or waived record.

Rules are the checks (id, title, severity); a result is one host x check whose
outcome is failed, would-fix, error or unreachable, plus waived ones as suppressed
results (kind "external", the waiver's reason as justification) so code-scanning
tools show them as accepted. The location is the check's source file (for GitHub
code scanning) and the host as a logical location.
"""

from __future__ import annotations

from fleetcheck.report.records import BAD_OUTCOMES, Record

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "warning",
          "info": "note"}
# GitHub code scanning reads this property (0.0-10.0) to rank findings.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0",
                     "info": "0.0"}


def reported(record: Record) -> bool:
    return record.outcome in BAD_OUTCOMES or record.outcome == "waived"


def build(records: list[Record], version: str, run_id: str,
          incomplete: str | None = None) -> dict:
    """The SARIF log of a run; `incomplete` (why the run is not complete) makes its
    invocation unsuccessful, so a consumer does not read missing results as fixed."""
    rules: dict[str, dict] = {}
    for r in records:
        if r.check_id not in rules:
            rules[r.check_id] = {
                "id": r.check_id,
                "name": r.check_id.replace(".", "_"),
                "shortDescription": {"text": r.title or r.check_id},
                "defaultConfiguration": {"level": LEVELS.get(r.severity, "warning")},
                "properties": {"severity": r.severity, "area": r.area,
                               "security-severity": SECURITY_SEVERITY.get(r.severity, "5.0")},
            }
    index = {cid: i for i, cid in enumerate(rules)}
    results = [_result(r, index[r.check_id]) for r in records if reported(r)]
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


def _result(r: Record, rule_index: int) -> dict:
    where = r.host + (f" ({r.item})" if r.item else "")
    text = f"{r.check_id} {r.outcome} on {where}"
    if r.message:
        text += f": {r.message}"
    path = r.nodeid.split("::", 1)[0]
    result = {
        "ruleId": r.check_id,
        "ruleIndex": rule_index,
        "level": "error" if r.outcome == "unreachable" else LEVELS.get(r.severity, "warning"),
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"}},
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
