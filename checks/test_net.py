"""The network (LPIC-2 205): what listens on the host (net.listening), its interfaces,
routes, resolvers and name (net.interfaces, net.routes, net.resolvers, net.hostname).

net.listening (var `net_listening`):

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

from fleetcheck.checkmeta import when_set
from fleetcheck.probes.dns import fqdn as _fqdn
from fleetcheck.facts.hostname import expected_hostname
from fleetcheck.facts.ip_route import matches as _route_matches
from fleetcheck.facts.ip_route import same_dst as _same_dst
from fleetcheck.facts.listening import is_loopback, rule, shown_socket
from fleetcheck.facts.resolv_conf import queried_name, resolver_settings

MAX_SHOWN = 200     # sockets listed in the evidence


@pytest.mark.check("net.listening", severity="high", facts=["listening"],
                   title="only the declared sockets listen, the expected ones do",
                   compare={"unexpected listeners": ("allowed", "unexpected"),
                            "missing listeners": ("expected", "missing"),
                            "listening": (None, "listening")})
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


# -- the host's network configuration (LPIC-2 205): interfaces, routes, resolvers, name --


@pytest.mark.check("net.interfaces", severity="high", facts=[when_set("net_interfaces", "ip_addr")],
                   title="declared interfaces up, with their addresses and MTU",
                   compare={"interfaces": ("declared", "links")})
def test_interfaces(host, facts, evidence):
    """Each interface of `net_interfaces` (`ip -j addr`): present; `state: up` (the
    default) administratively up with a carrier (LOWER_UP: a cable, a switch port, the
    peer of a veth), `state: down` administratively down; each declared address on it
    (others may be there too); its MTU the declared one (a jumbo-frame storage network
    at 1500 fragments or drops). Missing, down or without an address is high (the
    network it serves is cut off), a wrong MTU or an unused port up medium. The embedded
    default declares the loopback (127.0.0.1/8): local daemons talk over it.
    --remediate sets a declared interface that is administratively down up (`ip link
    set dev NAME up`, runtime only: persisting it is the distribution's network
    configuration, /etc/network/interfaces, NetworkManager, systemd-networkd)."""
    declared = {n: d or {} for n, d in (host.vars.get("net_interfaces") or {}).items()
                if d is not None}
    if not declared:
        pytest.skip("no interface declared (var net_interfaces)")
    links = facts.ip_addr
    evidence.add(declared=declared, links={
        lk.name: {"flags": lk.flags, "operstate": lk.operstate, "mtu": lk.mtu,
                  "addresses": [a.cidr for a in lk.addresses]}
        for lk in links.links if lk.name in declared})
    problems = []
    for name, want in declared.items():
        link = links.link(name)
        if link is None:
            problems.append(("high", f"{name} does not exist"))
            continue
        if want.get("state", "up") == "up":
            if not link.admin_up:
                problems.append(("high", f"{name} is down (ip link set dev {name} up)"))
            elif not link.carrier:
                problems.append(("high", f"{name} is up without a carrier "
                                 f"(operstate {link.operstate})"))
        elif link.admin_up:
            problems.append(("medium", f"{name} is up, declared down"))
        missing = [a for a in want.get("addresses") or [] if not link.has_address(str(a))]
        if missing:
            problems.append(("high", f"{name} lacks {', '.join(map(str, missing))}"))
        if want.get("mtu") is not None and link.mtu != want["mtu"]:
            problems.append(("medium", f"{name} has MTU {link.mtu}, declared {want['mtu']}"))
    evidence.judge(problems)


@pytest.mark.check("net.routes", severity="high", facts=[when_set("net_routes", "ip_route")],
                   title="a default route and the declared routes are present",
                   compare={"routes": ("declared", "routes"),
                            "default route required": (None, "default_required")})
def test_routes(host, facts, evidence):
    """The main routing table (`ip -j route`, IPv4 and IPv6): a default route when
    `net_routes.default` (the embedded default: a server reaches beyond its subnets
    through one; a lab or an isolated segment says false), and each route of
    `net_routes.routes` ({to, via, dev, type}: a destination network, through that
    gateway and device, or a blackhole) present. A missing one is high: what lies
    behind it is unreachable. --remediate adds a missing declared route at runtime
    (`ip route replace to NET via GW dev DEV`, or `ip route replace blackhole NET`);
    persisting it is the distribution's network configuration (an `up ip route add`
    in /etc/network/interfaces, a route in NetworkManager or systemd-networkd)."""
    conf = host.vars.get("net_routes")
    if conf is None:
        pytest.skip("routes not judged (var net_routes is null)")
    routes = facts.ip_route.routes
    declared = [r for r in conf.get("routes") or [] if r]
    evidence.add(routes=[r.shown() for r in routes[:200]], count=len(routes),
                 declared=declared, default_required=conf.get("default", True))
    problems = []
    if conf.get("default", True) and not facts.ip_route.defaults:
        problems.append(("high", "no default route"))
    for want in declared:
        if any(_route_matches(r, want) for r in routes):
            continue
        same = [r.shown() for r in routes if _same_dst(r, str(want["to"]))]
        shown = " ".join(f"{k} {want[k]}" for k in ("type", "to", "via", "dev") if want.get(k))
        problems.append(("high", f"no route {shown}" + (f" (there: {'; '.join(same)})"
                                                        if same else "")))
    if problems:
        evidence.advice = "ip route; the distribution's network configuration persists routes"
    evidence.judge(problems)


def _resolver_reads(host, item):
    conf = resolver_settings(host.vars)
    if conf is None:
        return
    yield "resolv_conf"
    if conf.get("answer") and host.facts.resolv_conf.used:
        name = queried_name(host.vars, host.name, host.facts.hostname
                            if not (host.vars.get("dns") or {}).get("zone")
                            and not conf.get("name") else None)
        for server in host.facts.resolv_conf.used:
            yield "dig", {"server": server, "name": name, "timeout": conf.get("timeout", 2)}


@pytest.mark.check("net.resolvers", severity="high", facts=[_resolver_reads],
                   title="resolv.conf lists the declared nameservers, and they answer",
                   compare={"nameservers": ("declared", "nameservers"),
                            "used": (None, "used"),
                            "invalid lines": (None, "invalid"),
                            "replies": ("name", "replies")})
def test_resolvers(host, facts, evidence):
    """/etc/resolv.conf (`net_resolvers.path`) as glibc reads it: at least `minimum`
    nameservers, and each of `net_resolvers.nameservers` (default: dns.nameservers)
    among the first three (glibc asks no fourth). With `answer`, each nameserver it
    uses (`each`) or at least one (`one`) answers a query sent FROM the host (dig, one
    try of `timeout` seconds) for the host's own name (`<host>.<dns.zone>`); with
    `own_name` the answer must hold its address (not NXDOMAIN). A resolver that does
    not answer stalls every lookup of the host by the resolver's timeout. What the
    nameservers say about each host, asked from the controller, is dns.forward_reverse's.
    No fix: resolv.conf is often written by resolvconf, systemd-resolved, DHCP or
    NetworkManager, each from its own configuration."""
    conf = resolver_settings(host.vars)
    if conf is None:
        pytest.skip("resolvers not judged (var net_resolvers is null)")
    resolv = facts.resolv_conf
    declared = [str(a) for a in conf.get("nameservers") or []]
    evidence.add(nameservers=resolv.nameservers, used=resolv.used, search=resolv.search,
                 options=resolv.options, declared=declared, invalid=resolv.invalid)
    problems = []
    minimum = conf.get("minimum", 1)
    if len(resolv.used) < minimum:
        problems.append(("high", f"resolv.conf lists {len(resolv.used)} nameserver(s), "
                         f"at least {minimum} required"))
    absent = [a for a in declared if a not in resolv.used]
    if absent:
        problems.append(("high", f"not among the nameservers resolv.conf uses: "
                         f"{', '.join(absent)}"))
    if resolv.invalid:
        problems.append(("low", f"nameserver line(s) glibc skips: {'; '.join(resolv.invalid)}"))
    answer = conf.get("answer")
    if answer and resolv.used:
        name = queried_name(host.vars, host.name, facts.hostname
                            if not (host.vars.get("dns") or {}).get("zone")
                            and not conf.get("name") else None)
        replies = {s: facts.get("dig", server=s, name=name, timeout=conf.get("timeout", 2))
                   for s in resolv.used}
        evidence.add(name=name, replies={s: {"status": r.status, "addresses": r.addresses}
                                         for s, r in replies.items()})
        dead = [s for s, r in replies.items() if not r.replied]
        if dead and (answer == "each" or len(dead) == len(replies)):
            problems.append(("high", f"no answer from {', '.join(dead)} (asked for {name})"))
        if conf.get("own_name"):
            empty = [f"{s} ({r.status})" for s, r in replies.items()
                     if r.replied and not r.addresses]
            if empty:
                problems.append(("medium", f"no address for {name} from {', '.join(empty)}"))
    evidence.judge(problems)


@pytest.mark.check("net.hostname", severity="medium", facts=[when_set("net_hostname", "hostname")],
                   title="the hostname is the inventory's, fully qualified in dns.zone",
                   compare={"hostname": ("inventory", "hostname"),
                            "FQDN": ("domain", "fqdn"),
                            "/etc/hostname": (None, "etc_hostname")})
def test_hostname(host, facts, evidence):
    """`hostname` is the inventory name (its first label; not judged when the
    inventory calls the host `localhost` or by its address), and so is /etc/hostname
    (what the next boot sets); `hostname -f` is fully qualified, and is
    `<name>.<net_hostname.domain>` (default: dns.zone) where a domain is declared. A
    host that calls itself something else sends mail, logs, Kerberos tickets and
    certificates under the wrong name (medium); a name without domain is low.
    --remediate sets the inventory name (`hostname -- NAME`, and /etc/hostname in the
    style it had: short, or fully qualified); /etc/hosts and DNS stay the admin's."""
    conf = host.vars.get("net_hostname")
    if conf is None:
        pytest.skip("the hostname is not judged (var net_hostname is null)")
    names = facts.hostname
    want_short, domain = expected_hostname(host.vars, host.name)
    evidence.add(hostname=names.name, fqdn=names.fqdn, fqdn_error=names.fqdn_error,
                 etc_hostname=names.file, inventory=host.name, domain=domain)
    problems = []
    if conf.get("match_inventory", True) and want_short:
        if names.short.lower() != want_short.lower():
            problems.append(("medium", f"hostname is {names.name}, the inventory says "
                             f"{want_short}"))
        if names.file is not None and names.file.split(".")[0].lower() != want_short.lower():
            problems.append(("medium", f"/etc/hostname says {names.file or '(empty)'}, the "
                             f"inventory {want_short}"))
    short = want_short or names.short
    if domain:
        expected = _fqdn(short, domain).rstrip(".")
        if (names.fqdn or "").lower().rstrip(".") != expected:
            problems.append(("medium", f"hostname -f is {names.fqdn or names.fqdn_error}, "
                             f"expected {expected}"))
    elif conf.get("fqdn", True) and not names.qualified:
        problems.append(("low", f"hostname -f is {names.fqdn or names.fqdn_error}: not "
                         "fully qualified (no domain in /etc/hosts or DNS)"))
    evidence.judge(problems)
