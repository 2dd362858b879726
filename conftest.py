"""Makes the fleetcheck plugin active when pytest runs from a clone.

When fleetcheck is installed (make audit / make test do that), its pytest11 entry
point already loads the plugin and this file does nothing.
"""

from importlib.metadata import entry_points

if not any(ep.name == "fleetcheck" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["fleetcheck.plugin"]
