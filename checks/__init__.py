"""fleetcheck's checks, one pytest file per area (test_<area>.py).

Installed, this directory is the package `fleetcheck.checks` (pyproject.toml maps it):
`fleetcheck audit` and `pytest --pyargs fleetcheck.checks` run it from there. In a
clone, pytest collects it as `checks/` (testpaths), node ids `checks/test_<area>.py::...`.
"""
