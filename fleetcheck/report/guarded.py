"""pytest-html and junitxml on a full disk: no traceback, no truncated file.

Both write their file in place from a session hook. When the disk is full the write
raises OSError inside pytest_sessionfinish: the run ends in a traceback, the hooks
after it (the terminal summary among them) never run, and a truncated report.html or
junit.xml is left behind. fleetcheck's own files are written atomically
(report.results.write_atomic); these two are guarded instead: on OSError the partial
file is removed and the problem recorded (FleetRun.report_failed), so the run still
says what it could not write and gives exit 3.
"""

from __future__ import annotations

import os

import pytest
from _pytest.junitxml import LogXML, xml_key


def guard(config: pytest.Config, state) -> None:
    """Call once every plugin is configured (at sessionstart)."""
    pm = config.pluginmanager
    xml = config.stash.get(xml_key, None)
    if xml is not None and type(xml) is LogXML and pm.is_registered(xml):
        # pluggy binds a hook method when the plugin is registered: swap the class
        # between unregister and register so sessionfinish is the guarded one.
        pm.unregister(xml)
        xml.__class__ = _GuardedLogXML
        xml.fleetcheck_state = state
        pm.register(xml)
    for plugin in list(pm.get_plugins()):
        cls = type(plugin)
        if cls.__module__.startswith("pytest_html") and hasattr(cls, "_generate_report"):
            name = pm.get_name(plugin)
            pm.unregister(plugin)
            plugin.__class__ = _guarded_html(cls)
            plugin.fleetcheck_state = state
            plugin.fleetcheck_failed = False
            pm.register(plugin, name)


def _drop(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class _GuardedLogXML(LogXML):
    def pytest_sessionfinish(self) -> None:
        try:
            super().pytest_sessionfinish()
        except OSError as exc:
            _drop(self.logfile)
            self.fleetcheck_state.report_failed(os.path.basename(self.logfile), exc)
            self.logfile = f"(not written: {exc.strerror or exc})"


_HTML_CLASSES: dict[type, type] = {}


def _guarded_html(cls: type) -> type:
    if cls not in _HTML_CLASSES:
        def _generate_report(self, *args, **kwargs):
            try:
                return cls._generate_report(self, *args, **kwargs)
            except OSError as exc:
                _drop(self._report_path)
                problem = f"{self._report_path.name} not written: {exc.strerror or exc}"
                if problem not in self.fleetcheck_state.report_problems:
                    self.fleetcheck_state.report_problems.append(problem)
                self.fleetcheck_failed = True
                return None

        @pytest.hookimpl(trylast=True)
        def pytest_terminal_summary(self, terminalreporter):
            if not self.fleetcheck_failed:   # else it would say "Generated html report"
                cls.pytest_terminal_summary(self, terminalreporter)

        _HTML_CLASSES[cls] = type(cls.__name__, (cls,), {
            "_generate_report": _generate_report,
            "pytest_terminal_summary": pytest_terminal_summary})
    return _HTML_CLASSES[cls]
