"""Virtual machine guests on hypervisor hosts (libvirt/KVM through virsh, Xen's xl):
the guests each host must carry, in their declared state (vm.guests), their autostart
(vm.autostart), and the guests that run without being declared (vm.undeclared). From
the var `vm` (fleetcheck.facts.vm.VARS) and the fact vm_guests; `vm: null` turns the
area off. A host without virsh or xl, or whose hypervisor does not answer, is not
applicable unless it declares guests."""

import pytest

from fleetcheck.facts.vm import found_elsewhere, hypervisors, ignored, in_state, settings


def _unless_off(host, item):
    if settings(host.vars) is not None:
        yield "vm_guests"


def _hypervisor(host, facts, evidence, declared):
    """The host's guests, or a skip (not a hypervisor), or a failure (guests declared
    but no hypervisor answers)."""
    state = facts.vm_guests
    evidence.add(tool=state.tool, uri=state.uri, version=state.version)
    if state.applicable:
        return state
    why = (f"the hypervisor does not answer ({state.error})" if state.tool
           else "neither virsh nor xl is installed")
    if declared:
        evidence.add(declared=[g["name"] for g in declared])
        evidence.judge([("high", f"{why}: declared guests "
                         + ", ".join(g["name"] for g in declared))])
    pytest.skip(f"not a hypervisor: {why}")


@pytest.mark.check("vm.guests", severity="high", facts=[_unless_off],
                   title="every declared guest exists on its host in its declared state",
                   compare={"guest states": ("declared_states", "found_states"),
                            "hypervisor": (None, "tool")})
def test_guests(host, facts, fleet, fleet_facts, evidence):
    """Each guest of `vm.guests` exists on the host (virsh list --all, or xl list: a
    running domain) and is in its `state` (running, the default; paused; shut off):
    high when it is missing or in another state. A declared guest that is not active
    here but is found active on another hypervisor of the inventory (a host whose var
    `vm` is set, not offline: its vm_guests is read by this run) is moved (medium),
    and the fix leaves it alone. On Xen (xl lists running domains only), a guest
    declared shut off that is not listed passes. --remediate starts, resumes, suspends
    or shuts down a guest (vm.guests' fix)."""
    conf = settings(host.vars)
    if conf is None or conf["guests"] is None:
        pytest.skip("not judged (vm or vm.guests is null)")
    declared = conf["guests"]
    state = _hypervisor(host, facts, evidence, declared)
    if not declared:
        pytest.skip("no guest is declared for this host (vm.guests)")
    problems, items, others = [], {}, None
    for want in declared:
        name, wanted = want["name"], want["state"]
        guest = state.guest(name)
        item = items[name] = {"declared": wanted, "found": guest.state if guest else None}
        if guest is not None:
            item.update(reason=guest.reason, uuid=guest.uuid)
        if guest is not None and in_state(guest.state, wanted):
            continue
        if guest is None and state.tool == "xl" and wanted == "shut off":
            continue
        if guest is None or not guest.active:
            if others is None:
                others = hypervisors(fleet, host.name)
            found, unread = found_elsewhere(name, others, fleet_facts)
            active = [(h, g) for h, g in found if g.active]
            if unread:
                item["not_read"] = unread
            if active:
                where = ", ".join(f"{h} ({g.state})" for h, g in active)
                item["moved_to"] = [h for h, _ in active]
                problems.append(("medium", f"{name}: moved: declared {wanted} here, "
                                 f"{'shut off' if guest else 'absent'} here, found on {where}"))
                continue
        if guest is None:
            problems.append(("high", f"{name}: missing: declared {wanted}, not defined on "
                             f"{host.name}" + (" (xl lists running domains only)"
                                               if state.tool == "xl" else "")))
        else:
            problems.append(("high", f"{name}: {guest.state}"
                             + (f" ({guest.reason})" if guest.reason else "")
                             + f", declared {wanted}"))
    evidence.add(guests=items,
                 declared_states={n: i["declared"] for n, i in items.items()},
                 found_states={n: i["found"] or "absent" for n, i in items.items()})
    if problems:
        evidence.advice = ("virsh start / resume / suspend / shutdown the guest (virsh "
                           "domstate --reason NAME says why it is where it is); a moved "
                           "guest belongs in the vars of the host that carries it")
    evidence.judge(problems)


@pytest.mark.check("vm.autostart", severity="medium", facts=[_unless_off],
                   title="the declared guests autostart as declared",
                   compare={"autostart": ("declared_autostart", "found_autostart"),
                            "hypervisor": (None, "tool")})
def test_autostart(host, facts, evidence):
    """Each guest of `vm.guests` with `autostart: true` or `false` is marked so in
    libvirt (virsh dominfo: Autostart), medium when not: after a reboot of the host
    the guest would (not) come back. Guests that do not exist are vm.guests' to
    report; not applicable with xl (no autostart flag) or where nothing is declared."""
    conf = settings(host.vars)
    if conf is None or not conf["guests"]:
        pytest.skip("not judged (no vm.guests)")
    wanted = [g for g in conf["guests"] if g["autostart"] is not None]
    if not wanted:
        pytest.skip("no declared guest says autostart: true or false")
    state = _hypervisor(host, facts, evidence, [])
    if state.tool != "virsh":
        pytest.skip("xl keeps no autostart flag (xendomains' auto directory is not read)")
    problems, items = [], {}
    for want in wanted:
        guest = state.guest(want["name"])
        if guest is None:
            continue
        items[guest.name] = {"declared": want["autostart"], "found": guest.autostart}
        if guest.autostart is None:
            problems.append(("medium", f"{guest.name}: virsh does not say whether it "
                             "autostarts"))
        elif guest.autostart != want["autostart"]:
            problems.append(("medium", f"{guest.name}: autostart "
                             f"{'on' if guest.autostart else 'off'}, declared "
                             f"{'on' if want['autostart'] else 'off'}"))
    evidence.add(autostart=items,
                 declared_autostart={n: i["declared"] for n, i in items.items()},
                 found_autostart={n: i["found"] for n, i in items.items()})
    if problems:
        evidence.advice = "virsh autostart NAME (or --disable)"
    evidence.judge(problems)


@pytest.mark.check("vm.undeclared", severity="info", facts=[_unless_off],
                   title="no guest runs here that the inventory does not declare",
                   compare={"undeclared guests": (None, "undeclared"),
                            "declared guests": ("declared", None),
                            "active guests": (None, "active")})
def test_undeclared(host, facts, fleet, evidence):
    """Every active guest (any state but shut off) of the host is declared in its
    `vm.guests`, or matches `vm.undeclared.ignore` (names or globs); one that is not
    is reported at `vm.undeclared.severity` (info by default), saying when it is
    declared for another host of the inventory. Not applicable where no hypervisor
    answers; off with `vm.undeclared: null`. No fix unless `vm.undeclared.shutdown:
    true` (then --remediate shuts such a running guest down gracefully): a guest the
    inventory does not know is the admin's to declare or to stop."""
    conf = settings(host.vars)
    if conf is None or conf["undeclared"] is None:
        pytest.skip("not judged (vm or vm.undeclared is null)")
    state = _hypervisor(host, facts, evidence, [])
    known = {g["name"] for g in conf["guests"] or []}
    rule = conf["undeclared"]
    extra = [g for g in state.guests if g.active and g.name not in known
             and not ignored(g.name, rule["ignore"])]
    declared_elsewhere = {}
    for other, entry in fleet.items():
        theirs = settings(entry.vars) if other != host.name else None
        for g in (theirs or {}).get("guests") or []:
            declared_elsewhere.setdefault(g["name"], other)
    evidence.add(active=[g.name for g in state.guests if g.active], declared=sorted(known),
                 undeclared={g.name: g.state for g in extra})
    evidence.judge([(rule["severity"], f"{g.name}: {g.state} here, not declared"
                     + (f" (declared for {declared_elsewhere[g.name]})"
                        if g.name in declared_elsewhere else ""))
                    for g in extra])
