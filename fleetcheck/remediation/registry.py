"""remediate/<area>.py registers a plan function per check id.

    from fleetcheck.remediation import fix

    @fix("sysctl.value")
    def plan_sysctl(ctx) -> Plan: ...

`ctx` (PlanContext) gives the host's name, vars, the check's item and read-only facts;
a plan function never runs a command itself.

Where the fixes come from (load_all), in every layout:
- fleetcheck's own: the package `fleetcheck.remediate` (installed from the repository's
  remediate/, or in an editable install that directory itself; fleetcheck.layout);
- a user's own: a top-level `remediate` package (or module) found on sys.path, e.g. in
  the directory the run starts from (`fleetcheck audit` and `python -m pytest` put it
  there), unless it is fleetcheck's own directory again (a clone's top);
- any module the run imports that applies `@fix` (a conftest.py, a test file).
Each file is imported under one name: the same file under two would register its fixes
twice, which is refused with a message that says so.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from fleetcheck import layout
from fleetcheck.remediation.model import Plan

PlanFn = Callable[["PlanContext"], Plan]
_REGISTRY: dict[str, PlanFn] = {}
_LOADED = False
FLEETCHECK_FIXES = layout.FIXES
USER_FIXES = "remediate"


@dataclass
class PlanContext:
    check_id: str
    host: str
    vars: dict[str, Any]
    facts: Any            # FactCache-like: .get(name, **params)
    item: str | None = None
    # name -> that inventory host's facts (read-only), for a fix that changes another
    # host than the one checked (DNS records live on the DNS master)
    other: Callable[[str], Any] | None = None
    # every inventory host: name -> HostEntry (the `fleet` of the checks), for a fix
    # that must look at the others before it acts (vm.guests: a guest running elsewhere)
    fleet: Mapping[str, Any] | None = None

    def plan(self, *actions, reason: str = "", target: str | None = None) -> Plan:
        return Plan(self.check_id, self.host, list(actions), reason=reason,
                    target=None if target == self.host else target)

    def facts_of(self, name: str):
        if name == self.host:
            return self.facts
        if self.other is None:
            raise LookupError(f"no facts of other hosts here (asked for {name})")
        return self.other(name)


def _source(fn: PlanFn) -> tuple[str, str]:
    code = getattr(fn, "__code__", None)
    path = str(Path(code.co_filename).resolve()) if code is not None else ""
    return path, getattr(fn, "__qualname__", repr(fn))


def fix(check_id: str) -> Callable[[PlanFn], PlanFn]:
    def register(fn: PlanFn) -> PlanFn:
        known = _REGISTRY.get(check_id)
        if known is not None and known is not fn:
            where = f"{known.__module__}.{known.__qualname__}"
            if _source(known) == _source(fn):
                raise ValueError(
                    f"two remediations registered for {check_id}: {_source(fn)[0]} was "
                    f"imported twice, as {known.__module__} and as {fn.__module__} "
                    f"(fleetcheck's own fixes are {FLEETCHECK_FIXES}.<area>)")
            raise ValueError(f"two remediations registered for {check_id}: {where} and "
                             f"{fn.__module__}.{fn.__qualname__}")
        _REGISTRY[check_id] = fn
        return fn
    return register


def _import_all(name: str) -> ModuleType | None:
    """Import the package `name` and every module in it; None when there is no such
    package (an error inside one is raised)."""
    try:
        package = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
    _import_modules(package)
    return package


def _import_modules(package: ModuleType) -> None:
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        importlib.import_module(f"{package.__name__}.{info.name}")


def _dirs(locations) -> set[Path]:
    return {Path(p).resolve() for p in locations or []}


def _import_users(own: ModuleType | None) -> None:
    """A user's top-level `remediate` (a package, a directory without __init__.py, or
    a module) from sys.path, in its order, passing over fleetcheck's own remediate/
    (a clone's top is on sys.path when pytest runs from it, or loads the clone's
    conftest.py for an editable install): that one is fleetcheck.remediate."""
    own_dirs = _dirs(getattr(own, "__path__", None))
    known = sys.modules.get(USER_FIXES)
    if known is not None:
        if not (own_dirs and _dirs(getattr(known, "__path__", None)) <= own_dirs):
            _import_modules(known)
        return
    search = [entry for entry in sys.path
              if isinstance(entry, str) and (Path(entry or ".").resolve() / USER_FIXES)
              not in own_dirs]
    try:
        spec = importlib.machinery.PathFinder.find_spec(USER_FIXES, search)
    except (ImportError, ValueError, OSError):
        spec = None
    if spec is None:
        return
    module = importlib.util.module_from_spec(spec)
    if spec.submodule_search_locations is not None:
        # a namespace directory's path would be searched again on the whole sys.path
        module.__path__ = list(spec.submodule_search_locations)
    sys.modules[USER_FIXES] = module
    try:
        if spec.loader is not None:
            spec.loader.exec_module(module)
        _import_modules(module)
    except BaseException:
        sys.modules.pop(USER_FIXES, None)
        raise


def load_all() -> dict[str, PlanFn]:
    """Import the fixes (once: fleetcheck's, then a user's top-level `remediate`) and
    return the registry, with whatever else the run has registered since."""
    global _LOADED
    if not _LOADED:
        _import_users(_import_all(FLEETCHECK_FIXES))
        _LOADED = True
    return dict(_REGISTRY)


def lookup(check_id: str) -> PlanFn | None:
    return load_all().get(check_id)
