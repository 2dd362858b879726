"""Where an inventory comes from, chosen per path: an http(s):// URL (http.py), an
executable script (script.py), or else a YAML file (loader.py; a static JSON file in
the YAML shape too). Several sources merge like several YAML files: later wins."""

from __future__ import annotations

import os

from . import http, script
from .build import InventoryBuilder, without_gc
from .dynamic import add_json
from .errors import InventoryError
from .http import SourceOptions
from .loader import _FileLoader
from .model import Inventory


def kind(source: str) -> str:
    """'http', 'script' or 'yaml'."""
    if http.is_url(source):
        return "http"
    if script.is_script(source):
        return "script"
    return "yaml"


def load(paths, options: SourceOptions | None = None,
         base_vars: dict | None = None) -> Inventory:
    """Load and merge inventories; ``Inventory.notes`` says what the run must be told
    (an HTTP inventory answered from the cache). ``base_vars`` sit under 'all' in every
    host's vars (fleetcheck's defaults)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise InventoryError("no inventory file given")
    options = options or SourceOptions()
    builder = InventoryBuilder()
    notes: list[str] = []
    with without_gc():
        for path in paths:
            what = kind(path)
            if what == "yaml":
                _FileLoader(path, builder).load()
                continue
            if what == "http":
                data, note = http.fetch(path, options)
                source = http.display_url(path)
            else:
                data, note, source = script.run_script(path, options.timeout), None, path
            # Any error stops the whole load, so nothing half-added is ever used.
            add_json(data, source, builder)
            if what == "http" and note is None:
                http.write_cache(path, data, options)
            if note:
                notes.append(note)
        inventory = builder.finish(base_vars)
    inventory.notes = notes
    return inventory
