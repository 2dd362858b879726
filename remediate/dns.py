"""DNS fixes.

dns.forward_reverse: the host's A (AAAA) and PTR records are set in the zone files of
the DNS master (`dns.master`, another inventory host: the plan targets it), the
serial bumped once per zone, each zone validated with `named-checkzone` BEFORE
`rndc reload ZONE` (when validation fails, the engine restores the backed-up files
and nothing is reloaded). The slaves follow by NOTIFY; the re-check waits for them
(at most `dns.sync_wait` seconds, see checks/test_dns.py).

dns.axfr_restricted: every allow-transfer clause of the server's named.conf (and the
files it includes) that lets an unsigned request through becomes
`allow-transfer { key "<dns.transfer_key>"; };`, validated with `named-checkconf`
before `rndc reconfig` (which rereads the configuration without reloading zones).
"""

import ipaddress
import posixpath
import re

from fleetcheck.dnsprobe import DnsLayout, fqdn, reverse_name
from fleetcheck.facts.base import Command
from fleetcheck.facts.named_conf import conf_path
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.zoneedit import EditRefused, fix_records, includes, restrict_transfers

KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_INCLUDES = 32


def _addresses(ctx) -> list[str]:
    declared = [str(a) for a in ctx.vars.get("dns_addresses") or []]
    if declared:
        return declared
    try:
        return [str(ipaddress.ip_address(str(ctx.vars.get("ansible_host") or "")))]
    except ValueError:
        return []


def _primary_file(conf, zone: str):
    z = conf.zone(zone)
    if z is None or z.type not in ("primary", "master") or not z.file or z.format != "text":
        return None
    return z


@fix("dns.forward_reverse")
def plan_forward_reverse(ctx):
    dnsvars = ctx.vars.get("dns") or {}
    master = dnsvars.get("master")
    if not master or not dnsvars.get("zone"):
        return refuse(ctx.check_id, ctx.host, "the inventory names no dns.master / dns.zone")
    addresses = _addresses(ctx)
    if not addresses:
        return refuse(ctx.check_id, ctx.host, "no IP address in the inventory")
    layout = DnsLayout.from_vars(dnsvars, {})
    name = fqdn(ctx.host, layout.zone)
    facts = ctx.facts_of(master)
    conf = facts.get("named_conf")
    if not conf.valid:
        return refuse(ctx.check_id, ctx.host, f"named.conf on {master} is invalid: "
                      + "; ".join(conf.errors[:2]))
    # zone -> {owner: {type: values}}
    wanted: dict[str, dict[str, dict[str, list[str]]]] = {}
    v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
    v6 = [a for a in addresses if ipaddress.ip_address(a).version == 6]
    forward = {"A": v4} | ({"AAAA": v6} if v6 else {})
    wanted.setdefault(layout.zone, {})[name] = forward
    for addr in addresses:
        rzone = layout.reverse_zone_of(addr)
        if rzone is None:
            return refuse(ctx.check_id, ctx.host, f"no reverse zone of the inventory "
                          f"(dns.reverse_zone) holds {addr}")
        wanted.setdefault(rzone, {})[reverse_name(addr)] = {"PTR": [name]}
    actions, zones_changed = [], []
    for zone, owners in wanted.items():
        z = _primary_file(conf, zone)
        if z is None:
            return refuse(ctx.check_id, ctx.host, f"{master} is not the primary of {zone} "
                          "with a text zone file")
        current = facts.get("file", path=z.file)
        if not current.exists:
            return refuse(ctx.check_id, ctx.host, f"{z.file} does not exist on {master}")
        text = current.text
        try:
            for owner, by_type in owners.items():
                text = fix_records(text, zone, owner, by_type) or text
        except EditRefused as exc:
            return refuse(ctx.check_id, ctx.host, f"{z.file} on {master}: {exc}: fix by hand")
        if text != current.text:
            actions.append(WriteFile(f"set {name} records in {z.file} on {master}, "
                                     "serial bumped", path=z.file, content=text.encode(),
                                     before=current.content))
            zones_changed.append(z)
    if not actions:
        return ctx.plan(reason=f"the zone files on {master} already hold these records: "
                        "a nameserver serves something else (a slave behind? see "
                        "dns.serial_in_sync; or named not reloaded)", target=master)
    for z in zones_changed:
        actions.append(RunCommand(f"validate {z.name} with named-checkzone",
                                  command=Command("named-checkzone %s %s", z.name, z.file)))
    for z in zones_changed:
        actions.append(RunCommand(f"rndc reload {z.name}",
                                  command=Command("rndc reload %s", z.name)))
    # the reverse zone may be shared by several views: one name is enough for rndc
    return ctx.plan(*actions, target=master)


@fix("dns.axfr_restricted")
def plan_axfr_restricted(ctx):
    key = (ctx.vars.get("dns") or {}).get("transfer_key")
    if not key:
        return refuse(ctx.check_id, ctx.host, "set dns.transfer_key (the TSIG key name "
                      "zone transfers must be signed with) in the inventory")
    if not KEY_NAME.match(str(key)):
        return refuse(ctx.check_id, ctx.host, f"dns.transfer_key {key!r} is not a key name")
    main = conf_path(ctx.vars)
    todo, seen, actions = [main], [], []
    while todo and len(seen) < MAX_INCLUDES:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.append(path)
        current = ctx.facts.get("file", path=path)
        if not current.exists:
            continue
        text = current.text
        todo += [p if p.startswith("/") else posixpath.join(posixpath.dirname(main), p)
                 for p in includes(text)]
        try:
            after = restrict_transfers(text, str(key), options_needed=True)
        except EditRefused as exc:
            return refuse(ctx.check_id, ctx.host, f"{path}: {exc}: fix by hand")
        if after != text:
            actions.append(WriteFile(f"allow-transfer only with key {key} in {path}",
                                     path=path, content=after.encode(),
                                     before=current.content))
    if not actions:
        return ctx.plan(reason="every allow-transfer clause already requires a key")
    return ctx.plan(*actions,
                    RunCommand("validate with named-checkconf",
                               command=Command("named-checkconf %s", main)),
                    RunCommand("rndc reconfig", command=Command("rndc reconfig")))
