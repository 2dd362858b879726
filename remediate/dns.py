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

Every value written or passed to a command (names, addresses, the key, the files
named.conf names) is checked again with its kind, and each edited file is read back
before it is planned (fleetcheck.zoneedit: dnspython for zone files, its own
tokenizer for named.conf); a value or an edit that does not pass refuses the fix.
"""

import ipaddress
import posixpath
from collections.abc import Mapping

import dns.exception
import dns.name

from fleetcheck import values
from fleetcheck.probes.dns import DnsLayout, fqdn, reverse_name
from fleetcheck.facts import named_conf
from fleetcheck.facts.base import Command
from fleetcheck.facts.named_conf import conf_path
from fleetcheck.inventory import hostvars as hv
from fleetcheck.remediation import RunCommand, WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, not_utf8, unsafe
from fleetcheck.zoneedit import EditRefused, fix_zone, includes, restrict_transfers

MAX_INCLUDES = 32


def _dns_vars(ctx) -> tuple[Mapping | None, str | None]:
    """The var dns, its values checked again with their kinds; or the reason."""
    dnsvars = ctx.vars.get("dns")
    if not isinstance(dnsvars, Mapping):
        return None, f"the var dns must be a mapping, got {values.describe(dnsvars)}"
    why = declared_problem("dns", dnsvars, named_conf.VALUE_KINDS) or declared_problem(
        "dns_addresses", ctx.vars.get("dns_addresses"), named_conf.VALUE_KINDS)
    return (None, why) if why else (dnsvars, None)


def _addresses(ctx) -> tuple[list[str], str | None]:
    """The host's addresses in canonical form (as dnspython prints them), each a
    record address (no zone index); or the reason."""
    declared = ctx.vars.get("dns_addresses") or []
    if not isinstance(declared, list):
        return [], f"dns_addresses must be a list, got {values.describe(declared)}"
    if not declared:
        try:
            declared = [str(ipaddress.ip_address(hv.address(ctx.vars, ctx.host) or ""))]
        except ValueError:
            return [], None
    why = unsafe([(named_conf.record_address, a, "an address of the host") for a in declared])
    if why:
        return [], why
    return [str(ipaddress.ip_address(a)) for a in declared], None


def _primary_file(conf, zone: str):
    z = conf.zone(zone)
    if z is None or z.type not in ("primary", "master") or not z.file or z.format != "text":
        return None
    return z


@fix("dns.forward_reverse")
def plan_forward_reverse(ctx):
    """On the DNS master (another host than the one checked): the host's A/AAAA and PTR
    records set in the zone files (only those records change), the serial bumped,
    `named-checkzone` before `rndc reload ZONE`; the re-check waits for the slaves to
    follow."""
    dnsvars, why = _dns_vars(ctx)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    master = dnsvars.get("master")
    if not master or not dnsvars.get("zone"):
        return refuse(ctx.check_id, ctx.host, "the inventory names no dns.master / dns.zone")
    addresses, why = _addresses(ctx)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    if not addresses:
        return refuse(ctx.check_id, ctx.host, "no IP address in the inventory")
    try:
        layout = DnsLayout.from_vars(dnsvars, {})
    except (TypeError, ValueError, AttributeError) as exc:
        return refuse(ctx.check_id, ctx.host, f"the var dns cannot be read: {exc}")
    name = fqdn(str(ctx.host), layout.zone)
    why = unsafe([(values.dns_name, layout.zone, "dns.zone"),
                  (values.dns_name, name, "the host's DNS name")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    try:
        inside = dns.name.from_text(name).is_subdomain(dns.name.from_text(layout.zone))
    except dns.exception.DNSException:
        inside = False
    if "*" in name or not inside:
        return refuse(ctx.check_id, ctx.host, f"the host's name {name} is not a name of the "
                      f"zone {layout.zone}")
    try:
        facts = ctx.facts_of(master)
    except LookupError as exc:
        return refuse(ctx.check_id, ctx.host, f"no facts of the DNS master: {exc}")
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
        # the zone's name and file come from the master's named.conf: they reach
        # named-checkzone and rndc as arguments
        why = unsafe([(values.dns_name, z.name, f"zone {zone} in named.conf"),
                      (values.path, z.file, f"the file of zone {zone} in named.conf")])
        if why:
            return refuse(ctx.check_id, ctx.host, f"{master}: {why}")
        current = facts.get("file", path=z.file)
        if not current.exists:
            return refuse(ctx.check_id, ctx.host, f"{z.file} does not exist on {master}")
        if not_utf8(z.file, current):
            return refuse(ctx.check_id, ctx.host, not_utf8(z.file, current))
        try:
            text = fix_zone(current.text, zone, owners) or current.text
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
    # rollback: named serves the restored files again. Their serial is the older one:
    # secondaries keep the fixed copy until the zone's serial passes it (said here).
    undo = [RunCommand(f"validate the restored {z.name} with named-checkzone",
                       command=Command("named-checkzone %s %s", z.name, z.file))
            for z in zones_changed]
    undo += [RunCommand(f"rndc reload {z.name} (the restored file has the older serial: "
                        "secondaries keep the fixed copy until the serial passes it)",
                        command=Command("rndc reload %s", z.name)) for z in zones_changed]
    # the reverse zone may be shared by several views: one name is enough for rndc
    return ctx.plan(*actions, target=master).after_restore(*undo)


@fix("dns.axfr_restricted")
def plan_axfr_restricted(ctx):
    """Every `allow-transfer` clause of named.conf and its includes that admits unsigned
    requests becomes `allow-transfer { key "<dns.transfer_key>"; };`, `named-checkconf`
    before `rndc reconfig`."""
    dnsvars, why = _dns_vars(ctx)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    key = dnsvars.get("transfer_key")
    if not key:
        return refuse(ctx.check_id, ctx.host, "set dns.transfer_key (the TSIG key name "
                      "zone transfers must be signed with) in the inventory")
    main = conf_path(ctx.vars)
    why = unsafe([(named_conf.key_name, key, "dns.transfer_key"),
                  (values.path, main, "dns.named_conf")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    todo, seen, actions = [main], [], []
    while todo and len(seen) < MAX_INCLUDES:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.append(path)
        # an include's path comes from the host's own files: it is read and written
        why = unsafe([(values.path, path, "an included file")])
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        current = ctx.facts.get("file", path=path)
        if not current.exists:
            continue
        if not_utf8(path, current):
            return refuse(ctx.check_id, ctx.host, not_utf8(path, current))
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
                    RunCommand("rndc reconfig", command=Command("rndc reconfig"))
                    ).after_restore(
        RunCommand("validate the restored files with named-checkconf",
                   command=Command("named-checkconf %s", main)),
        RunCommand("rndc reconfig (named reads the restored files)",
                   command=Command("rndc reconfig")))
