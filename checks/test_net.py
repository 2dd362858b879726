"""Network exposure: what listens on the host (var `net_listening`).

    net_listening:
      allowed: [tcp/22, udp/123, {proto: tcp, port: 25, address: 127.0.0.1}]
      expected: [tcp/22]     # must listen (high when missing)
      allow_loopback: true   # loopback-only listeners are not judged against allowed

No fix: a listener outside the list is a daemon the inventory does not know, and
stopping (or firewalling) an unknown daemon blindly may cut the very service the host
is for, or the admin's own way in; the record names the process and its socket so
the admin decides.
"""

import pytest

from fleetcheck.facts.listening import is_loopback, rule, shown_socket

MAX_SHOWN = 200     # sockets listed in the evidence


@pytest.mark.check("net.listening", severity="high", facts=["listening"],
                   title="only the declared sockets listen, the expected ones do")
def test_listening(host, facts, evidence):
    """Every listening TCP and UDP socket with its process (`ss -H -tulpn`). Where
    `net_listening.allowed` is declared, a socket none of its entries matches fails
    (medium): an unexpected listener is the first thing CIS (2.x, "ensure nonessential
    services are removed or masked") and an intruder's backdoor both show. Without it
    (the embedded default) the check passes and its evidence lists every listener (for
    information): no list fits every box, and a first audit should say what listens
    before judging it.
    An entry of `expected` that matches no socket fails (high): the host's own service
    is down. Listeners bound to loopback only (127.0.0.0/8, ::1, `%lo`) are not judged
    against `allowed` when `allow_loopback` (the default): they cannot be reached from
    the network, and every box has some (a local MTA on :25, chronyd's command port,
    systemd-resolved's stub); `allow_loopback: false` judges them too."""
    conf = host.vars.get("net_listening")
    if conf is None:
        pytest.skip("no listening policy (var net_listening is null)")
    allow_loopback = conf.get("allow_loopback", True) is not False
    allowed = conf.get("allowed")
    allowed_rules = None if allowed is None else [rule(e) for e in allowed]
    expected_rules = [rule(e) for e in conf.get("expected") or []]
    sockets = facts.listening.sockets
    evidence.add(listening=[shown_socket(s) for s in sockets[:MAX_SHOWN]],
                 sockets=len(sockets), allowed=None if allowed_rules is None else
                 [r.text for r in allowed_rules], expected=[r.text for r in expected_rules],
                 allow_loopback=allow_loopback)
    missing = [r.text for r in expected_rules if not any(r.matches(s) for s in sockets)]
    unexpected = [] if allowed_rules is None else [
        shown_socket(s) for s in sockets
        if not (allow_loopback and is_loopback(s))
        and not any(r.matches(s) for r in allowed_rules)]
    evidence.add(missing=missing, unexpected=unexpected[:MAX_SHOWN])
    problems = []
    if missing:
        problems.append(f"not listening: {', '.join(missing[:10])}")
    if unexpected:
        problems.append(f"{len(unexpected)} listener(s) not allowed: "
                        f"{'; '.join(unexpected[:10])}")
        evidence.advice = "ss -tulpn; who owns it: ps -o pid,user,args -p PID; " \
                          "add it to net_listening.allowed, or stop and remove the daemon"
    if unexpected and not missing:
        evidence.severity = "medium"
    assert not problems, "; ".join(problems)
