"""Mail (LPIC-2 211): Postfix's own verdict on its configuration and the parameters the
inventory declares (mail.postfix), whether the MTA relays for strangers as the
controller sees it (mail.open_relay, fleetcheck.probes.smtp: only to the host's
inventory address, nothing ever sent), and the queue (mail.queue). From the var `mail`
(fleetcheck.facts.postfix.VARS); a key null turns its check off."""

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts.postfix import FIXED, probe_settings, same_value, settings
from fleetcheck.inventory import hostvars as hv
from fleetcheck.probes.smtp import problems as relay_problems
from fleetcheck.probes.smtp import relay_test, target
from fleetcheck.thresholds import CRIT, evaluate

MAX_SHOWN = 10


def left_to_relay_fix(hostvars) -> set[str]:
    """The parameters mail.open_relay's fix restores (declared there): judged by it."""
    conf = settings(hostvars, "open_relay") or {}
    return {k for k in FIXED if conf.get(k) is not None}


@pytest.mark.check("mail.postfix", severity="medium",
                   facts=[when_set("mail", "postfix_config", key="postfix")],
                   title="postfix check is clean and the declared main.cf parameters hold",
                   compare={"parameters": ("declared", "in_effect"),
                            "postfix check exit": (None, "check_exit"),
                            "messages": (None, "messages"),
                            "running": (None, "running")})
def test_postfix(host, facts, evidence):
    """Where Postfix is installed: `postfix check` (the configuration, the queue's files,
    owners and modes) exits 0 and, with `mail.postfix.warnings` (the default), neither it
    nor `postconf -n` warns (an `unused parameter` is a misspelt one: the setting the
    admin meant is not in effect); each parameter of `mail.postfix.parameters` has the
    declared value in `postconf -n` (lists compared word by word; a parameter main.cf
    does not set has its default, which is not the declared value). A failing postfix
    check or postconf is high (the next reload or start fails), a warning or another
    value medium. A Postfix that is installed but not running, with nothing declared and
    nothing failing, is not applicable (a package pulled in as a dependency). mynetworks and
    smtpd_relay_restrictions, when mail.open_relay declares them, are judged there. No
    fix: a misspelt parameter is for the admin to correct."""
    conf = settings(host.vars, "postfix")
    if conf is None:
        pytest.skip("Postfix is not judged (mail.postfix is null)")
    cfg = facts.postfix_config
    if not cfg.installed:
        pytest.skip("Postfix is not installed (no postconf)")
    skip = left_to_relay_fix(host.vars)
    declared = {str(k): v for k, v in (conf.get("parameters") or {}).items()
                if v is not None and str(k) not in skip}
    if not cfg.running and not declared and not (cfg.postconf_exit or cfg.check_exit):
        pytest.skip("Postfix is installed but not running, and no parameter is declared")
    warnings = cfg.warnings()
    evidence.add(running=cfg.running, config_directory=cfg.config_directory,
                 postconf_exit=cfg.postconf_exit, check_exit=cfg.check_exit,
                 check_on_a_terminal=cfg.check_tty, messages=warnings[:50],
                 declared={k: str(v) for k, v in declared.items()},
                 in_effect={k: cfg.parameters.get(k) for k in declared})
    problems = []
    if cfg.postconf_exit:
        problems.append(("high", f"postconf -n exits {cfg.postconf_exit}: "
                         f"{(cfg.postconf_messages or ['no message'])[-1]}"))
    if cfg.check_exit:
        problems.append(("high", f"postfix check exits {cfg.check_exit}: "
                         f"{(cfg.check_messages or ['no message'])[-1]}"))
    if conf.get("warnings", True) and warnings and not (cfg.postconf_exit or cfg.check_exit):
        problems.append(("medium", f"{len(warnings)} warning(s): "
                         f"{'; '.join(warnings[:MAX_SHOWN])}"))
    for name, want in declared.items():
        have = cfg.parameters.get(name)
        if have is None:
            problems.append(("medium", f"{name} is not set in main.cf (its default is in "
                             f"effect), declared {want!s}"))
        elif not same_value(str(want), have):
            problems.append(("medium", f"{name} = {have}, declared {want!s}"))
    if problems:
        evidence.advice = (f"postfix check; postconf -n; edit {cfg.main_cf}, then postfix "
                           "check and postfix reload")
    evidence.judge(problems)


@pytest.mark.check("mail.open_relay", severity="high", facts=[],
                   title="the MTA refuses to relay for an outside sender and recipient",
                   compare={"relay test": (None, "session"),
                            "error": (None, "error"),
                            "banner": (None, "banner"),
                            "from": (None, "source")})
def test_open_relay(host, facts, evidence):
    """From the controller, to the host's inventory IP address only (`mail.open_relay`:
    port 25, a timeout on every step): EHLO, MAIL FROM an outside sender, RCPT TO a
    recipient in an outside domain (`.invalid` names by default: they never resolve),
    then RSET and QUIT, never DATA: nothing is sent. An MTA that accepts the recipient
    relays for anyone who reaches it (spam sent in the host's name, its address on
    every blocklist): high. A refusal (Postfix's `554 5.7.1 Relay access denied`, or
    454 with defer_unauth_destination) passes. Nothing listening, a name or loopback
    as the inventory address (a test from inside mynetworks proves nothing) is not
    applicable; a session that breaks before RCPT's reply is medium. --remediate
    restores `mynetworks` and `smtpd_relay_restrictions` to the values declared under
    mail.open_relay (postfix check before postfix reload)."""
    conf = probe_settings(host.vars)
    if conf is None:
        pytest.skip("the relay test is off (mail.open_relay is null)")
    address, why = target(hv.address(host.vars, host.name))
    if address is None:
        pytest.skip(why)
    test = relay_test(address, conf["port"], helo=conf["helo"], sender=conf["sender"],
                      recipient=conf["recipient"], timeout=float(conf["timeout"]),
                      allowed=address)
    evidence.add(address=address, port=test.port, source=test.source, banner=test.banner,
                 session=test.steps, error=test.error)
    if not test.connected:
        pytest.skip(f"{test.error}: no MTA to test")
    found = relay_problems(test, conf["sender"], conf["recipient"])
    if found and test.relayed:
        evidence.advice = ("postconf mynetworks smtpd_relay_restrictions "
                           "smtpd_recipient_restrictions: relay only for mynetworks and "
                           "authenticated clients (reject_unauth_destination)")
    evidence.judge(found)


@pytest.mark.check("mail.queue", severity="medium",
                   facts=[when_set("mail", "postfix_queue", key="queue")],
                   title="the mail queue is small and nothing waits in it for long",
                   compare={"messages": (None, "messages"),
                            "oldest (h)": (None, "oldest_hours"),
                            "by queue": (None, "by_queue"),
                            "oldest message": (None, "oldest")})
def test_queue(host, facts, evidence):
    """`postqueue -j` (every queue: incoming, active, deferred, hold, ...): the number of
    messages against `mail.queue.messages` and the hours since the oldest arrived
    against `mail.queue.oldest_hours` ({warn, crit}: a warning is low, a critical
    breach medium). A queue that grows is mail that is not delivered: a dead relay
    host, a destination refusing the host, a full disk, or a spam run; Postfix bounces
    a message only after maximal_queue_lifetime (5 days). Not applicable where Postfix
    is not installed, and where its mail system is down (postqueue cannot read the
    queue: mail.postfix and service.running say why). No fix: flushing or deleting mail is the admin's call
    (postqueue -f, postsuper -d)."""
    conf = settings(host.vars, "queue")
    if conf is None:
        pytest.skip("the queue is not judged (mail.queue is null)")
    queue = facts.postfix_queue
    if not queue.installed:
        pytest.skip("Postfix is not installed (no postqueue)")
    if not queue.available:
        pytest.skip(f"the mail system is down (postqueue -j exits {queue.exit}): no queue "
                    "report")
    oldest = queue.oldest
    measured = {"messages": len(queue.messages), "oldest_hours": queue.oldest_hours()}
    evidence.add(messages=len(queue.messages), by_queue=queue.by_queue(),
                 oldest_hours=None if measured["oldest_hours"] is None
                 else round(measured["oldest_hours"], 2),
                 oldest=None if oldest is None else
                 {"queue_id": oldest.queue_id, "queue": oldest.queue,
                  "sender": oldest.sender, "recipients": oldest.recipients[:5],
                  "reasons": oldest.reasons[:3]})
    pairs = {k: {lv: x for lv, x in (conf.get(k) or {}).items() if x is not None}
             for k in ("messages", "oldest_hours")}
    usable = {k: v for k, v in pairs.items() if measured[k] is not None
              and (("warn" in v and "crit" in v) or any(isinstance(x, str) for x in v.values()))}
    levels, breaches = evaluate({k: measured[k] for k in usable}, usable)
    problems = [("medium" if levels[k] == CRIT else "low", text)
                for k, text in zip([k for k in levels if levels[k] != "ok"], breaches)]
    if problems:
        evidence.advice = "postqueue -p (why: the delay reasons); postqueue -f once fixed"
    evidence.judge(problems)
