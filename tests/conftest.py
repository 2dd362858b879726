"""What some tests need besides the venv, as marks (registered in pyproject.toml):

    @pytest.mark.root("mount a tmpfs")      needs root
    @pytest.mark.chromium                   needs chromium, chromedriver and selenium
    @pytest.mark.chromium(pdf=True)         and poppler-utils' pdftotext and pdfinfo

Without it, such a test is skipped with a reason that says what it needs (`make unit`
as another user), unless FLEETCHECK_TESTS_COMPLETE is set (`make test`): then it
fails, so a run that must be complete is.
"""

import fcntl
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EMPTY_ANSIBLE_CFG = Path(__file__).parent / "fixtures" / "inventory" / "empty-ansible.cfg"


def pytest_configure(config):
    """The machine's Ansible settings never reach the tests (nor the audits and
    ansible-inventory runs they start): no ANSIBLE_* variable, and an empty ansible.cfg
    in ANSIBLE_CONFIG, found before ./ansible.cfg, ~/.ansible.cfg and /etc/ansible's.
    A test of ansible.cfg sets its own (tests/unit/test_inventory_ansiblecfg.py)."""
    for name in [n for n in os.environ if n.startswith("ANSIBLE_")]:
        del os.environ[name]
    os.environ["ANSIBLE_CONFIG"] = str(EMPTY_ANSIBLE_CFG)


def _missing(item) -> str | None:
    mark = item.get_closest_marker("root")
    if mark is not None and os.geteuid() != 0:
        why = mark.args[0] if mark.args else mark.kwargs.get("reason", "")
        return "needs root" + (f" ({why})" if why else "") + ": run it as root (make test)"
    if item.get_closest_marker("chromium") is not None:
        tools = ("chromium", "chromedriver") + (
            ("pdftotext", "pdfinfo") if item.get_closest_marker("chromium").kwargs.get("pdf")
            else ())
        lacking = [name for name in tools if not shutil.which(name)]
        if importlib.util.find_spec("selenium") is None:
            lacking.append("selenium (tests/requirements.txt)")
        if lacking:
            return (f"needs chromium: {', '.join(lacking)} missing "
                    "(tests/requirements-apt.txt; make test installs them, as root)")
    return None


@pytest.hookimpl(tryfirst=True)   # before the test's fixtures are set up
def pytest_runtest_setup(item):
    why = _missing(item)
    if why is None:
        return
    if os.environ.get("FLEETCHECK_TESTS_COMPLETE"):
        pytest.fail(f"{why} (FLEETCHECK_TESTS_COMPLETE: this run must run it)", pytrace=False)
    pytest.skip(why)


# -- the lab: one per machine, one per session ---------------------------------------

def _repo_on_path() -> None:
    repo = str(Path(__file__).resolve().parents[1])  # the `lab` package
    if repo not in sys.path:
        sys.path.insert(0, repo)


MACHINE_LOCK = "/tmp/fleetcheck-lab.lock"


@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, mounts, links)")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("the lab is one fleet per machine: run tests/integration without -n "
                    "(pytest-xdist workers would each start and stop it)", pytrace=False)
    _repo_on_path()
    from lab import Lab  # noqa: PLC0415

    # One lab per machine (its bridge and namespace names are global): a test session
    # holds this lock from up to down, so two checkouts never run their labs at once.
    lock = open(MACHINE_LOCK, "a")  # noqa: SIM115 - held for the whole session
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        lab = Lab()
        lab.up(plain_hosts=0)
        yield lab
        res = lab.down()
        left = {k: v for k, v in res["left"].items() if v}
        assert not left, f"lab-down left {left}"
    finally:
        lock.close()
