"""`fleetcheck report merge RUN_DIR... --out DIR`: the runs of disjoint host sets
(CI matrix jobs, one per datacenter or group) as one fleet report.

Each RUN_DIR is a run's directory (its results.json; a reports directory is read
at its `latest` run, else its `last`). The merge refuses, in one line and exit 2:
a directory without a readable results.json, runs of different fleetcheck versions
(their checks and records may differ), and runs that share a host (a host audited
twice has two answers, and the fleet report would count it twice).

What it writes in --out (created; existing files of these names are replaced):

- results.json and run.json: every record of every run, the run metadata of the
  merged run (`merged_from`: each run's id, directory and hosts; hosts in the runs'
  order; complete only when every run was complete, else each incomplete run's
  reasons, prefixed by its run id);
- report.html: the same findings-first summary and fleet section as an audit's
  report (fleetcheck.report.html.render_section), as a page of its own (pytest's
  own details stay in each run's report: they describe that run's process);
- junit.xml: each run's <testsuite> elements under one <testsuites>, each suite
  named after its run (a run without a junit.xml is said on stderr);
- the gate decided again on all records: --fail-on and --allow-unreachable as given,
  else the runs' own (when they differ, --fail-on must be given). The exit code is the
  gate's: 0 pass, 1 failing findings; the terminal gets the verdict line.

SARIF, Prometheus and Nagios outputs are per run (they describe what that job
saw); the merged results.json is what a later tool reads.
"""

from __future__ import annotations

import json
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from fleetcheck.report import gate
from fleetcheck.report.records import Record
from fleetcheck.report.results import write_atomic, write_results

EXIT_REFUSED = 2
MAX_RESULTS_BYTES = 512 * 1024 * 1024     # one run's results.json read at most


class MergeRefused(Exception):
    """One line: why these runs are not merged."""


@dataclass
class Shard:
    directory: Path
    meta: dict[str, Any]
    records: list[Record]

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id") or self.directory.name)

    @property
    def hosts(self) -> list[str]:
        listed = self.meta.get("hosts")
        if isinstance(listed, list) and listed:
            return [str(h) for h in listed]
        seen: dict[str, None] = {}
        for r in self.records:
            seen.setdefault(r.host, None)
        return list(seen)


def run_dir(path: Path) -> Path:
    """A run's directory: PATH itself when it holds results.json, else its `latest`
    (the last complete run), else its `last` run."""
    if (path / "results.json").is_file():
        return path
    for link in ("latest", "last"):
        if (path / link / "results.json").is_file():
            return (path / link).resolve()
    raise MergeRefused(f"{path}: no results.json (neither a run's directory nor a "
                       "reports directory with a latest or last run)")


def read_shard(path: Path) -> Shard:
    directory = run_dir(path)
    results = directory / "results.json"
    try:
        if results.stat().st_size > MAX_RESULTS_BYTES:
            raise MergeRefused(f"{results}: larger than {MAX_RESULTS_BYTES >> 20} MiB")
        data = json.loads(results.read_text(encoding="utf-8"))
        meta, raw = data["run"], data["records"]
        if not isinstance(meta, dict) or not isinstance(raw, list):
            raise TypeError("run must be an object and records a list")
        records = [Record.from_json(r) for r in raw]
    except MergeRefused:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MergeRefused(f"{results}: not a fleetcheck results.json "
                           f"({type(exc).__name__}: {exc})") from None
    return Shard(directory, meta, records)


def check_disjoint(shards: list[Shard]) -> None:
    versions = {s.meta.get("fleetcheck_version") for s in shards}
    if len(versions) > 1:
        said = ", ".join(f"{s.run_id}: {s.meta.get('fleetcheck_version')}" for s in shards)
        raise MergeRefused(f"runs of different fleetcheck versions ({said}): merge runs "
                           "of one version")
    owner: dict[str, str] = {}
    shared: dict[str, list[str]] = {}
    for s in shards:
        for host in s.hosts:
            if host in owner and owner[host] != s.run_id:
                shared.setdefault(host, [owner[host]]).append(s.run_id)
            owner.setdefault(host, s.run_id)
    ids = [s.run_id for s in shards]
    if len(set(ids)) != len(ids):
        raise MergeRefused(f"the same run given twice: {', '.join(sorted(set(i for i in ids if ids.count(i) > 1)))}")
    if shared:
        named = "; ".join(f"{h} ({', '.join(runs)})" for h, runs in list(shared.items())[:10])
        more = f" and {len(shared) - 10} more" if len(shared) > 10 else ""
        raise MergeRefused(f"{len(shared)} host(s) in more than one run: {named}{more}: "
                           "merge runs of disjoint host sets")


def _gate_of(shards: list[Shard], fail_on: str | None,
             allow_unreachable: bool | None) -> tuple[str | None, bool]:
    if fail_on is None:
        theirs = {(s.meta.get("gate") or {}).get("fail_on", "any") for s in shards}
        if len(theirs) > 1:
            raise MergeRefused(f"the runs' gates differ (--fail-on {', '.join(sorted(theirs))}):"
                               " give --fail-on for the merged run")
        found = theirs.pop() if theirs else "any"
        fail_on = None if found == "any" else found
    if allow_unreachable is None:
        allow_unreachable = all((s.meta.get("gate") or {}).get("allow_unreachable", False)
                                for s in shards)
    return fail_on, allow_unreachable


def _merged_meta(shards: list[Shard], run_id: str) -> dict[str, Any]:
    first = shards[0].meta
    inventories: list[str] = []
    for s in shards:
        for inv in s.meta.get("inventory") or []:
            if inv not in inventories:
                inventories.append(inv)
    connections: dict[str, Any] = {}
    for s in shards:
        connections.update(s.meta.get("connections") or {})
    reasons = [f"{s.run_id}: {reason}" for s in shards if not s.meta.get("complete", True)
               for reason in (s.meta.get("incomplete") or ["incomplete"])]
    return {
        "run_id": run_id,
        "started": min(str(s.meta.get("started") or "") for s in shards),
        "user": first.get("user"),
        "inventory": inventories,
        "limit": None,
        "remediate": first.get("remediate", "off") if len(
            {s.meta.get("remediate", "off") for s in shards}) == 1 else "mixed",
        "hosts": [h for s in shards for h in s.hosts],
        "where": [],
        "inventory_notes": [n for s in shards for n in s.meta.get("inventory_notes") or []],
        "offline": [h for s in shards for h in s.meta.get("offline") or []],
        "include_offline": any(s.meta.get("include_offline") for s in shards),
        "connections": connections,
        "connection_warnings": [w for s in shards
                                for w in s.meta.get("connection_warnings") or []],
        "fleetcheck_version": first.get("fleetcheck_version"),
        "complete": not reasons,
        "ran_to_end": all(s.meta.get("ran_to_end", True) for s in shards),
        "incomplete": reasons,
        "merged_from": [{"run_id": s.run_id, "directory": str(s.directory),
                         "hosts": s.hosts, "complete": s.meta.get("complete", True)}
                        for s in shards],
    }


def _junit(shards: list[Shard]) -> tuple[str | None, list[str]]:
    root = ET.Element("testsuites")
    missing = []
    for s in shards:
        path = s.directory / "junit.xml"
        try:
            tree = ET.parse(path)
        except (OSError, ET.ParseError):
            missing.append(s.run_id)
            continue
        top = tree.getroot()
        suites = [top] if top.tag == "testsuite" else list(top.iter("testsuite"))
        for suite in suites:
            suite.set("name", f"fleetcheck {s.run_id}")
            root.append(suite)
    if not len(root):
        return None, missing
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n", missing


def _page(section: str, shards: list[Shard]) -> str:
    runs = ", ".join(f"{escape(s.run_id)} ({len(s.hosts)} hosts)" for s in shards)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>fleetcheck compliance report (merged)</title>"
            "<style>body{font-family:sans-serif;margin:8px;color:#1a1a1a}</style></head>"
            "<body><h1>fleetcheck compliance report</h1>"
            f'<p id="fc-merged">Merged from {len(shards)} runs: {runs}</p>'
            f"{section}</body></html>\n")


def merge(paths: list[Path], out: Path, fail_on: str | None = None,
          allow_unreachable: bool | None = None) -> gate.Verdict:
    """Write the merged reports in `out`; the merged run's verdict."""
    from fleetcheck.report.completeness import RunStatus
    from fleetcheck.report.html import render_section
    from fleetcheck.state import FleetRun, new_run_id

    if not paths:
        raise MergeRefused("no run to merge")
    shards = [read_shard(Path(p)) for p in paths]
    check_disjoint(shards)
    fail_on, allow_unreachable = _gate_of(shards, fail_on, allow_unreachable)
    records = [r for s in shards for r in s.records]
    verdict = gate.decide(records, fail_on, allow_unreachable)
    meta = _merged_meta(shards, new_run_id())
    state = FleetRun(run_id=meta["run_id"], hosts=dict.fromkeys(meta["hosts"]),
                     inventory_paths=meta["inventory"], limit=None, pool=None)
    state.records = {f"{i}:{r.test_id}": r for i, r in enumerate(records)}
    state.connections = meta["connections"]
    state.verdict = verdict
    state.run_status = RunStatus(meta["complete"], meta["ran_to_end"], meta["incomplete"],
                                 {"merged_from": len(shards)})
    state.started = time.time() - sum(float(s.meta.get("duration") or 0) for s in shards)
    state.checks = _declared_checks()
    meta["gate"] = verdict.to_json()
    state.summary.update({k: meta[k] for k in ("complete", "ran_to_end", "incomplete",
                                               "merged_from", "gate")})
    out.mkdir(parents=True, exist_ok=True)
    write_results(out / "results.json", meta, records,
                  sum(float(s.meta.get("duration") or 0) for s in shards))
    write_atomic(out / "report.html", _page(render_section(state, meta=meta), shards))
    junit, missing = _junit(shards)
    if junit is not None:
        write_atomic(out / "junit.xml", junit)
    for run_id in missing:
        print(f"fleetcheck report merge: run {run_id} has no readable junit.xml: its tests "
              "are not in the merged junit.xml", file=sys.stderr)
    return verdict


def _declared_checks() -> dict[str, dict]:
    """check id -> its compare= rows, from fleetcheck's own checks (the evidence
    tables); {} where the catalogue cannot be read (a user's own checks are shown with
    their evidence as it is)."""
    try:
        from fleetcheck import catalogue
        infos = catalogue.collect()
    except Exception:  # noqa: BLE001 - the tables are a nicety; the merge goes on
        return {}
    return {i.check_id: {"description": i.what, "compare": i.compare} for i in infos}
