"""updates.applied: no pending (security) updates, no reboot pending, fresh package lists."""

import pytest

from checks.test_updates import pending
from fleetcheck.facts.pkgstate import update_settings


def test_updates_applied(entry, facts):
    if not isinstance(entry.vars.get("updates"), dict):
        pytest.skip("no update policy declared")
    conf = update_settings(entry.vars)
    state = facts.pkgstate
    if state.manager == "none":
        pytest.skip("no apt, dnf or yum on this host")
    if conf["refresh_lists"]:
        refreshed = facts.get("refresh", manager=state.manager)
        assert refreshed.ok, "refreshing the package lists failed: " + "; ".join(
            refreshed.errors[-3:])
        state = facts.get("pkgstate", after_refresh=True)
    names, security, kept_back = pending(facts, state.manager, conf["security_suites"])
    problems = [f"{len(security)} pending security update(s)"] if security else []
    if len(names) - len(security) + kept_back > int(conf["max_pending"]):
        problems.append(f"{len(names) - len(security) + kept_back} pending update(s)")
    if state.reboot_required:
        problems.append("a reboot is required")
    if state.kernel_outdated:
        problems.append(f"running kernel {state.running_kernel} is older than the installed")
    age = state.lists_age_days
    if age is None or age > float(conf["max_list_age_days"]):
        problems.append(f"package lists are {age} days old")
    assert not problems, "; ".join(problems)
