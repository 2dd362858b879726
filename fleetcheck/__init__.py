"""fleetcheck: audit and remediate fleets of Linux servers with pytest."""

__version__ = "0.1.0"
