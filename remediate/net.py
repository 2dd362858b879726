"""The network area's fixes, all at runtime except the hostname's file:

- net.routes: each missing declared route added with `ip route replace` (rollback puts
  back the route it replaced, or deletes the new one). Persisting a route is the
  distribution's network configuration (ifupdown, NetworkManager, systemd-networkd),
  which fleetcheck does not write.
- net.interfaces: a declared interface that is administratively down set up (`ip link
  set dev NAME up`; rollback sets it down again). Addresses and MTU are not changed:
  they belong to the network configuration too.
- net.hostname: the inventory name set (`hostname -- NAME`) and written to
  /etc/hostname (re-read: one line, that name), in the style the file had (short, or
  fully qualified in the declared domain). /etc/hosts and DNS stay the admin's.

Every value is checked again with its kind before it reaches a command or the file.
"""

from __future__ import annotations

from fleetcheck.facts.base import Command
from fleetcheck.facts.hostname import expected_hostname
from fleetcheck.facts.ip_addr import ifname, ip, network
from fleetcheck.facts.ip_route import matches, same_dst
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import not_utf8, unsafe

HOSTNAME_FILE = "/etc/hostname"


def route_command(verb: str, want: dict) -> Command:
    """`ip route VERB` of a declared route (values already checked)."""
    kind = str(want.get("type") or "unicast")
    if kind != "unicast":
        return Command(f"ip route {verb} {kind} %s", str(want["to"]))
    template, args = f"ip route {verb} to %s", [str(want["to"])]
    for key in ("via", "dev"):
        if want.get(key):
            template += f" {key} %s"
            args.append(str(want[key]))
    return Command(template, *args)


def _summary(want: dict) -> str:
    return " ".join(f"{k} {want[k]}" for k in ("type", "to", "via", "dev") if want.get(k))


@fix("net.routes")
def plan_routes(ctx):
    """Adds each declared route of `net_routes.routes` that is missing, at runtime
    (`ip route replace to NET via GW dev DEV`, `ip route replace blackhole NET`); not
    persisted (the distribution's network configuration does that). A unicast route
    needs a gateway or a device. Rollback puts back the route to the same destination
    it replaced, or deletes the one it added."""
    conf = ctx.vars.get("net_routes") or {}
    declared = [r for r in conf.get("routes") or [] if r]
    routes = ctx.facts.get("ip_route").routes
    missing = [w for w in declared if not any(matches(r, w) for r in routes)]
    if not missing:
        return refuse(ctx.check_id, ctx.host, "every declared route is present; a missing "
                      "default route has no declared gateway to add")
    actions, undo = [], []
    for want in missing:
        why = unsafe([(network, want.get("to"), "net_routes.routes[].to")]
                     + [(ip, want.get("via"), "net_routes.routes[].via")] * bool(want.get("via"))
                     + [(ifname, want.get("dev"), "net_routes.routes[].dev")]
                     * bool(want.get("dev")))
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        if str(want.get("type") or "unicast") == "unicast" and not (want.get("via")
                                                                    or want.get("dev")):
            return refuse(ctx.check_id, ctx.host, f"route {_summary(want)} declares neither "
                          "a gateway (via) nor a device (dev)")
        old = [r for r in routes if same_dst(r, str(want["to"]))]
        if len(old) > 1 or (old and len(old[0].hops) != 1):
            return refuse(ctx.check_id, ctx.host, f"{len(old)} routes to {want['to']} (or "
                          "a multipath one): replace it by hand (ip route)")
        actions.append(RunCommand(f"ip route replace {_summary(want)} (runtime only)",
                                  command=route_command("replace", want)))
        if old:
            before = {"to": want["to"], "type": old[0].type,
                      "via": old[0].hops[0].gateway, "dev": old[0].hops[0].dev}
            undo.append(RunCommand(f"ip route replace {_summary(before)} (the route it "
                                   "replaced)", command=route_command("replace", before)))
        else:
            undo.append(RunCommand(f"ip route del {_summary(want)}",
                                   command=route_command("del", want)))
    return ctx.plan(*actions).after_restore(*undo)


@fix("net.interfaces")
def plan_interfaces(ctx):
    """Sets each declared interface (`state: up`, the default) that is administratively
    down up: `ip link set dev NAME up`, at runtime (its addresses and MTU are the
    network configuration's). Rollback sets it down again."""
    declared = {n: d or {} for n, d in (ctx.vars.get("net_interfaces") or {}).items()
                if d is not None}
    links = ctx.facts.get("ip_addr")
    down = [n for n, d in declared.items() if d.get("state", "up") == "up"
            and links.link(n) is not None and not links.link(n).admin_up]
    if not down:
        return refuse(ctx.check_id, ctx.host, "no declared interface is administratively "
                      "down: a missing carrier, address or MTU is the network's or its "
                      "configuration's to fix")
    why = unsafe([(ifname, n, "net_interfaces key") for n in down])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    return ctx.plan(*[RunCommand(f"ip link set dev {n} up (runtime only)",
                                 command=Command("ip link set dev %s up", n)) for n in down]
                    ).after_restore(*[RunCommand(f"ip link set dev {n} down",
                                                 command=Command("ip link set dev %s down", n))
                                      for n in down])


@fix("net.hostname")
def plan_hostname(ctx):
    """Sets the inventory name as the hostname (`hostname -- NAME`) and writes it to
    /etc/hostname, short or fully qualified as the file had it (re-read before it is
    written). Refused for `localhost` or an address in the inventory, or when only
    `hostname -f` is wrong (that is /etc/hosts' or DNS')."""
    from fleetcheck import values
    from fleetcheck.facts.hostname import _NAME

    short, domain = expected_hostname(ctx.vars, ctx.host)
    if not short:
        return refuse(ctx.check_id, ctx.host, "the inventory name is localhost or an address: "
                      "no hostname to set")
    why = unsafe([(values.dns_name, short, "the inventory name")])
    if why or "." in short or not _NAME.fullmatch(short):
        return refuse(ctx.check_id, ctx.host, why or f"{short!r} is not a host name")
    names = ctx.facts.get("hostname")
    current = ctx.facts.get("file", path=HOSTNAME_FILE)
    if not_utf8(HOSTNAME_FILE, current):
        return refuse(ctx.check_id, ctx.host, not_utf8(HOSTNAME_FILE, current))
    qualified = bool(current.exists and "." in (current.text or "").strip() and domain)
    wanted = f"{short}.{domain}" if qualified else short
    actions, undo = [], []
    if names.short.lower() != short.lower():
        actions.append(RunCommand(f"hostname -- {wanted}",
                                  command=Command("hostname -- %s", wanted)))
        if _NAME.fullmatch(names.name) and not names.name.startswith("-"):
            undo.append(RunCommand(f"hostname -- {names.name} (its name before the fix)",
                                   command=Command("hostname -- %s", names.name)))
    after = wanted + "\n"
    if not current.exists or (current.text or "") != after:
        lines = after.splitlines()
        if lines != [wanted] or not _NAME.fullmatch(lines[0]):
            return refuse(ctx.check_id, ctx.host, f"{HOSTNAME_FILE} would not read back as "
                          f"{wanted!r}")
        actions.append(WriteFile(f"write {wanted} to {HOSTNAME_FILE}", path=HOSTNAME_FILE,
                                 content=after.encode(),
                                 before=current.content if current.exists else None))
    if not actions:
        return refuse(ctx.check_id, ctx.host, f"the hostname is {names.name} already: "
                      "hostname -f is wrong in /etc/hosts or DNS (fix it there)")
    return ctx.plan(*actions).after_restore(*undo)
