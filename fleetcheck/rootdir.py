"""The rootdir and ini file pytest would have chosen had it known the plugins' options.

pytest chooses the rootdir and the ini file (pyproject.toml's [tool.pytest.ini_options],
pytest.ini, ...) in ``Config.parse`` from a first parse of the command line, made before
the entry-point plugins (fleetcheck, xdist, pytest-html, testinfra) and the ``-p``
plugins have added their options. That parse takes the value of such an option, given
as a separate word, for a test path: ``pytest --inventory /elsewhere/inv.yml`` looks for
the ini file above ``/elsewhere`` and roots the run at the common ancestor of the
invocation directory and ``/elsewhere``. The project's ini file (testpaths, addopts,
markers) is lost, ``.pytest_cache`` and node ids move, and under xdist the workers'
node ids are wrong too. ``--inventory=/elsewhere/inv.yml`` (one word) does not have the
problem.

`reconsider` runs in the plugin's ``pytest_load_initial_conftests`` (after the plugins
are loaded, before any conftest): it redoes pytest's choice with every option known and,
when the answer differs, puts the right rootdir and ini file in place.
"""

from __future__ import annotations

import copy
import os
import shlex
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

# Config's private attributes reconsider reads and replaces (pytest 9): without any of
# them (a future pytest) it does nothing.
_PRIVATE = ("_rootpath", "_inipath", "_inicfg", "_inicache", "_ignored_config_files")
# The early options it reads (dests of pytest's own options).
_OPTIONS = ("file_or_dir", "inifilename", "override_ini", "rootdir", "confcutdir")


def reconsider(early_config: pytest.Config, args: list[str], parser: pytest.Parser) -> None:
    """Redo pytest's rootdir and ini file choice now that the plugins' options are known.

    Call from ``pytest_load_initial_conftests(early_config, args, parser)``, as a
    ``tryfirst`` wrapper: then it also runs before pytest's capture and warnings plugins
    read the early options (a ``-s`` in the right ini's addopts takes effect).

    The command line as pytest's first parse read it (``PYTEST_ADDOPTS`` and the
    invocation's arguments) is parsed again with every option now known. pytest keeps
    no trace of the test paths its first parse saw, but those differ from the ones now
    found only by option values taken for paths, and only a value that names an
    existing path can have moved the rootdir (pytest ignores test paths that do not
    exist): when no option value is an existing path, nothing is done. Otherwise
    ``determine_setup`` is asked again with what pytest gave it (``-c``, ``-o``, the
    test paths, ``--rootdir``, the invocation directory), the test paths now right, so
    ``--rootdir`` and ``-c`` given by the user win as they do in pytest. If its rootdir
    or ini file differ from pytest's, this function:

    - sets the config's rootpath, inipath, ini values (their cache cleared), ignored
      config files and the parser's ``extra_info`` (rootdir, inifile);
    - removes the addopts of the ini file pytest had chosen from ``args`` (when ``args``
      is exactly those addopts + ``PYTEST_ADDOPTS`` + the invocation's arguments) and
      prepends the right ini file's addopts (in place, as pytest does), loads or blocks
      the ``-p`` plugins they name, applies their ``-o`` and parses the early options
      again (``early_config.known_args_namespace``); when pytest applied no addopts
      (``Config.fromdictargs``), applies none either;
    - takes the wrong ini file's ``pythonpath`` entries off ``sys.path`` and puts the
      right one's in front (pytest's cleanup takes the right ones off at the end);
    - checks the right ini file's ``minversion`` and ``required_plugins``, gives its
      ``python_files`` to the assertion rewriter, and sets ``confcutdir`` to its
      directory (or the rootdir) when the user gave none.

    What the wrong ini file's addopts did beyond options cannot be undone and stays: a
    plugin they loaded with ``-p`` stays loaded, one they blocked stays blocked, the
    assertion mode they chose stays. When ``args`` is not what pytest made of the
    command line (another plugin changed it first), nothing at all is done.

    This touches pytest's private state: Config's ``_rootpath``, ``_inipath``,
    ``_inicfg``, ``_inicache``, ``_ignored_config_files`` (and ``_validate_args``,
    ``_checkversion``, ``_validate_plugins`` when present), the rewrite hook's
    ``fnpats``, and ``_pytest.config.findpaths`` (``determine_setup``,
    ``get_dirs_from_args``, ``parse_override_ini``). It is all here, and when any of it
    is missing (a future pytest) the function does nothing rather than fail. Calling it
    again is harmless: the second call finds pytest's choice right.
    """
    try:
        from _pytest.config import findpaths  # noqa: PLC0415
        determine_setup = findpaths.determine_setup
        get_dirs_from_args = findpaths.get_dirs_from_args
        parse_override_ini = findpaths.parse_override_ini
    except (ImportError, AttributeError):
        return
    extra_info = getattr(parser, "extra_info", None)
    invocation = getattr(early_config, "invocation_params", None)
    consider_preparse = getattr(early_config.pluginmanager, "consider_preparse", None)
    if (not all(hasattr(early_config, name) for name in _PRIVATE)
            or not isinstance(extra_info, dict) or invocation is None
            or consider_preparse is None):
        return

    cmdline = [os.fspath(arg) for arg in invocation.args]
    env = shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    try:
        wrong_addopts = list(early_config.getini("addopts"))
    except ValueError:
        return
    if args == wrong_addopts + env + cmdline:
        with_addopts, given = True, env + cmdline
    elif args == cmdline:      # Config.fromdictargs: parse(args, addopts=False)
        with_addopts, given = False, cmdline
    else:                      # args changed by someone else: not ours to redo
        return

    try:
        ns = parser.parse_known_args(given, namespace=copy.copy(early_config.option))
    except pytest.UsageError:
        return                 # said by pytest's own parse, a moment later
    if not all(hasattr(ns, name) for name in _OPTIONS):
        return
    if not get_dirs_from_args(_option_values(given, ns.file_or_dir)):
        return                 # no option value is an existing path: nothing moved
    try:
        setup = determine_setup(
            inifile=ns.inifilename,
            override_ini=ns.override_ini,
            args=ns.file_or_dir,
            rootdir_cmd_arg=ns.rootdir or None,
            invocation_dir=invocation.dir,
        )
    except TypeError:          # another signature: a future pytest
        return
    if not (isinstance(setup, tuple) and len(setup) == 4):
        return
    rootpath, inipath, inicfg, ignored = setup
    if (rootpath, inipath) == (early_config.rootpath, early_config.inipath):
        return

    wrong_pythonpath = [str(p) for p in early_config.getini("pythonpath")]
    early_config._rootpath = rootpath
    early_config._inipath = inipath
    early_config._inicfg = inicfg
    early_config._inicache.clear()
    early_config._ignored_config_files = ignored
    extra_info["rootdir"] = str(rootpath)
    extra_info["inifile"] = str(inipath)

    if with_addopts:
        addopts = list(early_config.getini("addopts"))
        validate = getattr(early_config, "_validate_args", None)
        if addopts and validate is not None:
            validate(addopts, "via addopts config")
        args[:] = addopts + given
        consider_preparse(addopts, exclude_only=False)
    known = parser.parse_known_args(args, namespace=copy.copy(early_config.option))
    if with_addopts:
        overrides = parse_override_ini(known.override_ini)
        if overrides:
            early_config._inicfg.update(overrides)
            early_config._inicache.clear()

    _replace_pythonpath(wrong_pythonpath, [str(p) for p in early_config.getini("pythonpath")])
    for check in ("_checkversion", "_validate_plugins"):
        method = getattr(early_config, check, None)
        if method is not None:
            method()
    rewrite_hook = getattr(early_config.pluginmanager, "rewrite_hook", None)
    if hasattr(rewrite_hook, "fnpats"):
        rewrite_hook.fnpats = early_config.getini("python_files")
    if known.confcutdir is None:
        known.confcutdir = str(inipath.parent if inipath is not None else rootpath)
    early_config.known_args_namespace = known


def _option_values(given: Sequence[str], file_or_dir: Sequence[Any]) -> list[str]:
    """The words of `given` the full parse did not take for test paths (the values of
    options), those that are no option themselves."""
    words = Counter(word for word in given if not word.startswith("-"))
    words.subtract(Counter(os.fspath(path) for path in file_or_dir))
    return [word for word, count in words.items() if count > 0]


def _replace_pythonpath(wrong: list[str], right: list[str]) -> None:
    """What pytest's _configure_python_path did for the wrong ini file, undone and done
    for the right one (its cleanup, registered then, removes the right one's entries)."""
    for entry in wrong:
        if entry in sys.path:
            sys.path.remove(entry)
    for entry in reversed(right):
        sys.path.insert(0, entry)

