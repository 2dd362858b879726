# fleetcheck: the two commands a new user needs are `make audit` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PYTEST := $(VENV)/bin/pytest
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.tests-installed
WHEELHOUSE := $(VENV)/wheelhouse
WHEELHOUSE_STAMP := $(WHEELHOUSE)/.complete

.PHONY: audit test venv test-deps unit bench clean-reports docs

# Create the venv and install fleetcheck (editable) with its dependencies.
$(STAMP): pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { \
	  echo "python3 -m venv is missing: apt-get install python3-venv" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e .
	@touch $@

venv: $(STAMP)

# Audit THIS machine over local:// with the embedded default inventory.
# --fail-on medium: low findings (capacity warnings, hygiene) are reported, not failed
audit: $(STAMP)
	$(PYTEST) --inventory inventories/local.yml -q --fail-on medium $(ARGS)

# The Python packages the project's own tests need, into the venv (no root needed).
$(TEST_STAMP): $(STAMP) tests/requirements.txt
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	@touch $@

# fleetcheck's dependencies and its build backend as files, for the test that builds a
# wheel and installs it in a fresh venv with --no-index (tests/install/test_pip_install.py):
# the registry is asked once, here, never while the tests run.
$(WHEELHOUSE_STAMP): $(STAMP) pyproject.toml tests/requirements.txt
	$(VENV)/bin/pip download -q -d $(WHEELHOUSE) . setuptools wheel 'ansible-core>=2.19,<2.20'
	@rm -f $(WHEELHOUSE)/fleetcheck-*
	@touch $@

# Everything the project's own tests need, then the tests (unit, plugin, lab, install).
test-deps: $(TEST_STAMP) $(WHEELHOUSE_STAMP) lab-deps
	@tools/apt-ensure $$(grep -v '^#' tests/requirements-apt.txt)

# FLEETCHECK_TESTS_COMPLETE: a test marked `root` or `chromium` fails instead of
# skipping when what it needs is missing (tests/conftest.py): here it all must run.
# Two sessions: what needs no lab on every core (xdist), then the lab's tests in one
# process (one lab per machine: its bridge and namespace names are global). --dist
# loadfile: each test file on one worker, so a module's expensive fixtures (Ansible's
# answers, the parity venvs) are made once, not once per worker. --durations: the
# slowest tests of each session in the log, where CI time is watched.
TEST_WORKERS ?= 2
# The lab's rootfs (about 90 s: downloads and dpkg) builds while the unit session runs;
# the lab session waits for it (and builds it itself should that have failed).
test: test-deps
	@$(LAB_PY) -m lab rootfs > $(VENV)/lab-rootfs.log 2>&1 & echo $$! > $(VENV)/lab-rootfs.pid
	FLEETCHECK_TESTS_COMPLETE=1 $(PYTEST) tests -q -p no:cacheprovider -m "not integration" -n $(TEST_WORKERS) --dist loadfile --durations=15 $(ARGS)
	@tail --pid=$$(cat $(VENV)/lab-rootfs.pid) -f /dev/null; tail -n 2 $(VENV)/lab-rootfs.log
	FLEETCHECK_TESTS_COMPLETE=1 $(PYTEST) tests -q -p no:cacheprovider -m integration --durations=15 $(ARGS)

# The fast part only: no lab, no root needed (as another user, the tests marked
# `root` or `chromium` skip and say so).
unit: $(TEST_STAMP)
	$(PYTEST) tests -q -p no:cacheprovider -m "not integration" $(ARGS)

# The benchmark (needs root: it brings up the lab, up to 50 hosts). ARGS=--quick for a
# short run. Writes bench/results.{json,md,png}; see bench/run.py.
bench: $(STAMP) lab-deps
	@$(VENV)/bin/pip install -q -r bench/requirements.txt
	$(VENV)/bin/python bench/run.py $(ARGS)

# The README's check, fix and vars reference, generated from the code (fleetcheck checks).
docs: $(STAMP)
	$(VENV)/bin/python -m fleetcheck checks --update-readme README.md

clean-reports:
	find reports -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +

include lab/lab.mk
