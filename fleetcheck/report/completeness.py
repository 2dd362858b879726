"""Whether a run is complete, and what it selected.

A run is **complete** when it ran every check of the default test paths (the ini's
`testpaths`, else the invocation directory), for every selected host, to the end:

- its check selection is the default one: no `-k`, `-m`, `--deselect`, `--ignore`,
  `--ignore-glob`, `--lf` with failures recorded, `--sw`, and no path or node id
  narrower than the default paths (`pytest checks` is the default, `pytest
  checks/test_raid.py` a subset; installed, `fleetcheck audit` and `pytest --pyargs
  fleetcheck.checks` run fleetcheck's checks from outside the run's directory: given
  whole, they are the default path, and the paths given beside them add to it).
  Host selection (`--limit`, `--where`, `--hosts`,
  offline hosts) does not make a run a subset: "every selected host" is the run's
  fleet, and it is part of the selection history compares by. `--remediate` areas
  choose which fixes run, not which checks: recorded, never a subset;
- it ran to the end: not interrupted (Ctrl-C), not stopped (`-x`, `--maxfail`, a
  collection error), every selected check reported, at least one check selected, and
  not `--collect-only`.

A subset that ran to the end is a complete answer to a narrower question: it keeps
its place as reports/latest and its Nagios status. A run that did not run to the end
(or ran nothing) is not an answer: it never moves reports/latest. Neither rewrites
the --prometheus file (the fleet's state for alerting) or judges stale waivers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fleetcheck import layout

# The fields of run.selection that say which records a run can have: history compares
# a run with the last one that had the same (fleetcheck.report.history).
CHECK_KEYS = ("keyword", "markers", "deselect", "ignore", "paths", "last_failed",
              "stepwise")
HOST_KEYS = ("limit", "where", "include_offline")


def check_selection(config: pytest.Config) -> dict[str, Any]:
    """run.selection.checks: what narrowed the checks, and whether that is a subset."""
    opt = config.option
    sel: dict[str, Any] = {
        "keyword": opt.keyword or None,
        "markers": opt.markexpr or None,
        "deselect": sorted(opt.deselect or []),
        "ignore": sorted(str(p) for p in (opt.ignore or []) + (opt.ignore_glob or [])),
        "paths": narrower_paths(config),
        "last_failed": _last_failed(config),
        "stepwise": bool(getattr(opt, "stepwise", False)),
    }
    sel["subset"] = bool(describe_checks(sel))
    return sel


def _last_failed(config: pytest.Config) -> bool:
    """--lf narrows the run only when the cache holds failures (else it runs all)."""
    if not getattr(config.option, "lf", False):
        return False
    plugin = config.pluginmanager.get_plugin("lfplugin")
    return bool(getattr(plugin, "lastfailed", None))


def default_paths(config: pytest.Config) -> list[Path]:
    root = config.rootpath
    paths = []
    for entry in config.getini("testpaths") or []:
        matches = sorted(root.glob(entry)) if any(c in entry for c in "*?[") else [root / entry]
        paths += [p.resolve() for p in matches]
    return paths or [config.invocation_params.dir.resolve()]


def _given_path(arg: str, here: Path, pyargs: bool) -> Path:
    """A path argument as pytest reads it: with --pyargs a module or package name
    (`fleetcheck.checks`) is its file or directory."""
    path = here / arg
    if pyargs and not path.exists():
        return layout.module_path(arg) or path.resolve()
    return path.resolve()


def _installed_checks(config: pytest.Config, plain: list[Path]) -> Path | None:
    """fleetcheck's own checks when the run was given them whole from outside its
    rootdir (`fleetcheck audit`, `pytest --pyargs fleetcheck.checks`); else None."""
    own = layout.package_dir(layout.CHECKS)
    if own is None or own not in plain:
        return None
    root = config.rootpath.resolve()
    return None if own == root or root in own.parents else own


def narrower_paths(config: pytest.Config) -> list[str]:
    """The paths and node ids given, when together they do not cover every default
    path ([] when none were given or they cover them)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return []
    here = config.invocation_params.dir
    given = [str(a) for a in config.args]
    pyargs = bool(getattr(config.option, "pyargs", False))
    plain = [_given_path(a, here, pyargs) for a in given if "::" not in a]
    installed = _installed_checks(config, plain)
    defaults = [installed] if installed is not None else default_paths(config)
    if all(any(p == d or p in d.parents for p in plain) for d in defaults):
        return []
    return [_shown(a, config.rootpath) for a in given]


def _shown(arg: str, root: Path) -> str:
    path, sep, rest = arg.partition("::")
    try:
        path = str(Path(path).resolve().relative_to(root))
    except ValueError:
        pass
    return path + sep + rest


def describe_checks(sel: dict[str, Any]) -> str:
    """'-k raid, -m slow, ...' for a subset; '' for the default selection."""
    parts = []
    if sel.get("keyword"):
        parts.append(f"-k {sel['keyword']!r}")
    if sel.get("markers"):
        parts.append(f"-m {sel['markers']!r}")
    if sel.get("deselect"):
        parts.append("--deselect " + " ".join(sel["deselect"]))
    if sel.get("ignore"):
        parts.append("--ignore " + " ".join(sel["ignore"]))
    if sel.get("paths"):
        parts.append("only " + " ".join(sel["paths"]))
    if sel.get("last_failed"):
        parts.append("--lf")
    if sel.get("stepwise"):
        parts.append("--sw")
    return ", ".join(parts)


def selection_key(meta: dict[str, Any]) -> str | None:
    """What history compares runs by (besides the inventory); None for a run written
    before runs said what they selected."""
    sel = meta.get("selection")
    if not isinstance(sel, dict):
        return None
    checks, hosts = sel.get("checks") or {}, sel.get("hosts") or {}
    return json.dumps({"checks": {k: checks.get(k) for k in CHECK_KEYS},
                       "hosts": {k: hosts.get(k) for k in HOST_KEYS}}, sort_keys=True)


@dataclass
class Progress:
    """What the controller saw of the run: checks selected, checks that reported to
    the end, a Ctrl-C."""
    selected: int = 0
    ran: set[str] = field(default_factory=set)
    keyboard_interrupt: bool = False


@dataclass
class RunStatus:
    complete: bool
    ran_to_end: bool
    reasons: list[str]        # why not complete, most serious first; [] when complete
    selection: dict[str, Any]

    @property
    def moves_latest(self) -> bool:
        return self.complete

    def describe(self) -> str:
        return "; ".join(self.reasons)

    def banner(self) -> str | None:
        return None if self.complete else f"INCOMPLETE RUN: {self.describe()}"

    def to_json(self) -> dict[str, Any]:
        return {"complete": self.complete, "ran_to_end": self.ran_to_end,
                "incomplete": list(self.reasons), "selection": self.selection}


def decide(config: pytest.Config, session: pytest.Session, progress: Progress,
           state) -> RunStatus:
    """The run's status at sessionfinish (controller)."""
    checks = check_selection(config)
    selection = {
        "checks": checks,
        "hosts": {"limit": state.limit, "where": sorted(state.where),
                  "include_offline": state.include_offline, "selected": len(state.hosts)},
        "remediate": state.remediate_mode,
        "selected": progress.selected,
        "ran": len(progress.ran),
    }
    reasons = []
    ran = len(progress.ran)
    if progress.keyboard_interrupt:
        reasons.append(f"interrupted (Ctrl-C) after {ran} of {progress.selected} checks")
    elif config.option.collectonly:
        reasons.append("--collect-only: no check ran")
    elif session.shouldfail or session.shouldstop:
        reasons.append(f"stopped after {ran} of {progress.selected} checks: "
                       f"{session.shouldfail or session.shouldstop}")
    elif progress.selected == 0:
        reasons.append("no check selected")
    elif ran < progress.selected:
        reasons.append(f"stopped after {ran} of {progress.selected} checks "
                       f"(pytest exit {int(session.exitstatus)})")
    ran_to_end = not reasons
    subset = describe_checks(checks)
    if subset:
        reasons.append(f"a subset of the checks ({subset})")
    return RunStatus(complete=not reasons, ran_to_end=ran_to_end, reasons=reasons,
                     selection=selection)
