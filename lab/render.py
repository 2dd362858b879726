"""Pure renderers: the configuration files of each lab host, from the inventory and
the lab's current fault set. Nothing here touches a host."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from .inventory import LabHost, LabInventory

LAB_PKG = "fleetcheck-labpkg"
TSIG_NAME = "lab-xfer"
SERIAL_BASE = 2024010100

# name in the inventory's `services` -> how the lab runs it (see labsvc below)
SERVICE_PROCESS = {
    "ssh": "sshd",
    "cron": "cron",
    "dbus": "dbus-daemon",
    "chrony": "chronyd",
    "named": "named",
    "smbd": "smbd",
    "rpcbind": "rpcbind",
    "nfs-ganesha": "ganesha.nfsd",
}



@dataclass(frozen=True)
class LabService:
    """A daemon an area's lab module runs (lab/faults/<area>.py SERVICES: name ->
    LabService): labsvc starts it with `start` (a shell line that daemonizes and leaves
    `pidfile`), reloads it with `reload` (default: SIGHUP to the pid)."""
    process: str        # its process name
    pidfile: str
    start: str
    reload: str = ""


def labsvc(extra: dict[str, LabService] | None = None) -> str:
    """/usr/local/sbin/labsvc with the areas' services beside the base ones."""
    extra = extra or {}
    cases = "".join(f"  {name}) pidf={svc.pidfile}; start() {{ {svc.start}; }};;\n"
                    for name, svc in extra.items())
    reloads = "".join(f"            {name}) {svc.reload};;\n"
                      for name, svc in extra.items() if svc.reload)
    unknown = '  *) echo "labsvc: unknown service'
    text = LABSVC.replace(unknown, cases + unknown, 1)
    return text.replace("            *)     kill -HUP", reloads + "            *)     kill -HUP", 1)


# ------------------------------------------------------------------ base system


def hostname_files(h: LabHost, inv: LabInventory) -> dict[str, str]:
    zone = inv.dns.get("zone", "lab.test")
    ns = inv.dns.get("nameservers") or []
    resolv = f"search {zone}\n" + "".join(f"nameserver {a}\n" for a in ns) + "options timeout:1 attempts:2\n"
    hosts = (
        "127.0.0.1\tlocalhost\n"
        f"{h.address}\t{h.name}.{zone}\t{h.name}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    return {"/etc/hostname": h.name + "\n", "/etc/hosts": hosts, "/etc/resolv.conf": resolv}


# A hardened lab host's sshd_config settings beside Debian's file (sshd.baseline's
# defaults: no X11, CIS's MaxAuthTries, only the MACs without SHA-1, MD5 or 64-bit tags).
SSHD_SETTINGS = {
    "PasswordAuthentication": "no",
    "HostKey": "/etc/ssh/ssh_host_ed25519_key",
    "UseDNS": "no",
    "PidFile": "/run/sshd.pid",
    "X11Forwarding": "no",
    "MaxAuthTries": "4",
    "MACs": "umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
            "hmac-sha2-512-etm@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512",
}


def sshd_config(base: str, permit_root_login: str = "prohibit-password",
                extra: dict[str, str] | None = None) -> str:
    """Debian's sshd_config with the lab's settings (and a fault's `extra` ones): each
    in place of the file's own line (commented or not; its first), the others at the
    end."""
    settings = dict(SSHD_SETTINGS, PermitRootLogin=permit_root_login, **(extra or {}))
    out = []
    seen = set()
    for line in base.splitlines():
        key = line.strip().lstrip("#").split(" ", 1)[0].strip()
        if key in settings:
            if key in seen or line.strip().startswith("#") and key == "HostKey":
                continue
            seen.add(key)
            out.append(f"{key} {settings[key]}")
            continue
        out.append(line)
    out += [f"{key} {val}" for key, val in settings.items() if key not in seen]
    return "\n".join(out) + "\n"


def chrony_files(h: LabHost, inv: LabInventory) -> dict[str, str]:
    """chronyd on a lab host: the lab's time server (lab_time_server, an address of the
    lab) serves its own clock (`local stratum 8`) to the lab's subnet; every other host
    syncs from it, polling fast so that a start is synchronised in seconds. `-x`: a
    network namespace shares the controller's clock, which chronyd must not set. No
    pool: no packet leaves the lab."""
    server = str(inv.all_vars.get("lab_time_server", ""))
    common = ("# fleetcheck lab: time from the lab's own server, nothing else\n"
              "driftfile /var/lib/chrony/chrony.drift\nmakestep 1 3\n")
    if h.address == server:
        conf = common + f"local stratum 8\nallow {inv.subnet}\n"
    else:
        conf = common + f"server {server} iburst minpoll -1 maxpoll 1\n"
    return {"/etc/chrony/chrony.conf": conf, "/etc/default/chrony": 'DAEMON_OPTS="-x"\n'}


def time_sync_wait(h: LabHost, inv: LabInventory) -> str:
    """The init script's wait for a first synchronisation (ready means synchronised);
    not on the server (its own clock is a `local` reference, which waitsync does not
    count)."""
    if "chrony" not in h.daemons or h.address == str(inv.all_vars.get("lab_time_server")):
        return ":"
    # chronyc gives up at once while chronyd's socket is not there yet: ask again
    return ("i=0; until chronyc -n waitsync 1 0 0 >/dev/null 2>&1; do i=$((i+1)); "
            "[ $i -ge 150 ] && { echo 'lab: chrony not synchronised' >&2; break; }; "
            "sleep 0.1; done")


LABSVC = r"""#!/bin/sh
# labsvc: start/stop/reload/status of the lab host's daemons (there is no systemd
# here; daemons are started directly and tracked by their pid files).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
action="$1"; svc="$2"
case "$svc" in
  ssh)         pidf=/run/sshd.pid;            start() { /usr/sbin/sshd; };;
  cron)        pidf=/run/crond.pid;           start() { /usr/sbin/cron; };;
  dbus)        pidf=/run/dbus/pid;            start() { mkdir -p /run/dbus && /usr/bin/dbus-daemon --system; };;
  chrony)      pidf=/run/chrony/chronyd.pid;  start() { DAEMON_OPTS=; . /etc/default/chrony; mkdir -p /run/chrony && /usr/sbin/chronyd $DAEMON_OPTS; };;
  named)       pidf=/run/named/named.pid;     start() { mkdir -p /run/named && chown bind:bind /run/named && /usr/sbin/named -u bind; };;
  smbd)        pidf=/run/samba/smbd.pid;      start() { mkdir -p /run/samba /var/log/samba && /usr/sbin/smbd -D; };;
  rpcbind)     pidf=/run/rpcbind.pid;         start() { mkdir -p /run/rpcbind && /sbin/rpcbind -w && sleep 0.1 && pidof rpcbind > /run/rpcbind.pid; };;
  nfs-ganesha) pidf=/run/ganesha/ganesha.pid; start() { mkdir -p /run/ganesha /var/log/ganesha /var/lib/nfs/ganesha && /usr/bin/ganesha.nfsd -f /etc/ganesha/ganesha.conf -L /var/log/ganesha/ganesha.log -p /run/ganesha/ganesha.pid -N NIV_EVENT; };;
  *) echo "labsvc: unknown service $svc" >&2; exit 2;;
esac
running() { [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
case "$action" in
  start)  running && exit 0; rm -f "$pidf"; start
          i=0; while ! running && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
          running || { echo "labsvc: $svc did not start" >&2; exit 1; };;
  stop)   running || { rm -f "$pidf"; exit 0; }
          pid=$(cat "$pidf"); kill "$pid"
          i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
          kill -0 "$pid" 2>/dev/null && kill -9 "$pid"; rm -f "$pidf";;
  reload) running || { echo "labsvc: $svc is not running" >&2; exit 1; }
          case "$svc" in
            named) rndc reload >/dev/null;;
            smbd)  smbcontrol smbd reload-config;;
            *)     kill -HUP "$(cat "$pidf")";;
          esac;;
  restart) "$0" stop "$svc"; "$0" start "$svc";;
  status) if running; then echo "$svc is running (pid $(cat "$pidf"))"; else echo "$svc is not running"; exit 3; fi;;
  *) echo "usage: labsvc start|stop|reload|restart|status SERVICE" >&2; exit 2;;
esac
"""


def init_script(h: LabHost, inv: LabInventory,
                extra: dict[str, LabService] | None = None) -> str:
    known = set(SERVICE_PROCESS) | set(extra or {})
    svcs = " ".join(s for s in h.daemons if s in known)
    return f"""#!/bin/sh
# PID 1's child on a lab host (tini is PID 1): prepare /run and start the daemons.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mkdir -p /run/lock /run/sshd /var/log
chmod 1777 /run/lock
[ -f /etc/sysctl.d/90-lab-forward.conf ] || sysctl -q -w net.ipv4.ip_forward=0
# a hardened host: the baseline's per-namespace keys, as sysctl.d would set them
sysctl -q -w {h.hardening_args} >/dev/null
[ -x /etc/fleetcheck-lab/prepare ] && /etc/fleetcheck-lab/prepare
# each area's boot step (lab/faults/<area>.py host_files): routes, mounts, ...
for f in /etc/fleetcheck-lab/boot.d/*.sh; do [ -r "$f" ] && sh "$f"; done
for s in {svcs}; do /usr/local/sbin/labsvc start $s || echo "lab: $s failed" >&2; done
{time_sync_wait(h, inv)}
echo ready > /run/fleetcheck-lab.ready
exec sleep infinity
"""

# ------------------------------------------------------------------ DNS


def reverse_name(addr: str) -> str:
    return ipaddress.ip_address(addr).reverse_pointer + "."


def zone_files(inv: LabInventory, faults: set[tuple[str, str]], serial: int) -> dict[str, str]:
    dns = inv.dns
    zone = dns.get("zone", "lab.test")
    rzone = dns.get("reverse_zone")
    master = inv.by_name(dns["master"])
    slaves = [inv.by_name(s) for s in dns.get("slaves") or []]
    missing = {h for h, f in faults if f == "missing-ptr"}
    mismatch = {h for h, f in faults if f == "ptr-mismatch"}
    soa = (f"$TTL 300\n@\tIN\tSOA\t{master.name}.{zone}. hostmaster.{zone}. "
           f"( {serial} 300 60 86400 60 )\n")
    ns = f"\tIN\tNS\t{master.name}.{zone}.\n" + "".join(f"\tIN\tNS\t{s.name}.{zone}.\n" for s in slaves)
    fwd = soa + ns
    rev = soa + ns
    beyond = {h.name for h in inv.beyond}
    prev = soa + ns                      # the plain subnet's reverse zone (inv.dns_zones)
    for h in inv.hosts:
        fwd += f"{h.name}\tIN\tA\t{h.address}\n"
        if h.name in missing:
            continue
        target = f"{h.name}.{zone}."
        if h.name in mismatch:
            target = f"{h.name}-old.{zone}."
        rname = reverse_name(h.address)
        if h.name in beyond:
            prev += f"{rname}\tIN\tPTR\t{target}\n"
            continue
        if rzone and rname.endswith("." + rzone + "."):
            rname = rname[: -len(rzone) - 2]
        rev += f"{rname}\tIN\tPTR\t{target}\n"
    return {zone: fwd, rzone: rev} | ({inv.plain_reverse_zone: prev} if beyond else {})


def named_conf(inv: LabInventory, h: LabHost, tsig_secret: str, axfr_open: bool = False,
               wrong_key: bool = False) -> dict[str, str]:
    dns = inv.dns
    master = inv.by_name(dns["master"])
    slaves = [inv.by_name(s) for s in dns.get("slaves") or []]
    secret = tsig_secret
    if wrong_key:
        # an admin pasted a stale secret: same name, other bytes
        secret = "c3RhbGUtc2VjcmV0LW9mLWEtcHJldmlvdXMta2V5LXJvdGF0aW9uIQ=="
    key = f'key "{TSIG_NAME}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n'
    transfer = "any;" if axfr_open else f'key "{TSIG_NAME}";'
    options = f"""options {{
\tdirectory "/var/cache/bind";
\tpid-file "/run/named/named.pid";
\trecursion no;
\tallow-recursion {{ none; }};
\tallow-query {{ any; }};
\tallow-transfer {{ {transfer} }};
\tlisten-on {{ any; }};
\tlisten-on-v6 {{ none; }};
\tdnssec-validation no;
\tnotify yes;
}};
"""
    conf = ('// fleetcheck lab: authoritative only (no recursion, no forwarders, no root hints)\n'
            'include "/etc/bind/named.conf.options";\n'
            'include "/etc/bind/rndc.key";\n'
            'controls { inet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { "rndc-key"; }; };\n'
            'include "/etc/bind/named.conf.local";\n')
    local = f'include "/etc/bind/{TSIG_NAME}.key";\n'
    if h.name == master.name:
        notify = " ".join(f"{s.address};" for s in slaves)
        for z in inv.dns_zones:
            local += (f'zone "{z}" {{\n\ttype primary;\n\tfile "/etc/bind/db.{z}";\n'
                      f'\talso-notify {{ {notify} }};\n}};\n')
    else:
        local += f'server {master.address} {{ keys {{ "{TSIG_NAME}"; }}; }};\n'
        for z in inv.dns_zones:
            local += (f'zone "{z}" {{\n\ttype secondary;\n\tfile "/var/cache/bind/db.{z}";\n'
                      f'\tprimaries {{ {master.address} key "{TSIG_NAME}"; }};\n}};\n')
    return {
        "/etc/bind/named.conf": conf,
        "/etc/bind/named.conf.options": options,
        "/etc/bind/named.conf.local": local,
        f"/etc/bind/{TSIG_NAME}.key": key,
    }

# ------------------------------------------------------------------ Samba / NFS


def smb_conf(h: LabHost, removed: set[str] = frozenset()) -> str:
    samba = h.vars.get("samba") or {}
    out = f"""# fleetcheck lab: standalone Samba server
[global]
\tworkgroup = {samba.get('workgroup', 'LAB')}
\tserver string = {h.name} file server
\tserver role = standalone server
\tmap to guest = Bad User
\tguest account = nobody
\tdisable netbios = yes
\tsmb ports = 445
\tload printers = no
\tprinting = bsd
\tprintcap name = /dev/null
\tdisable spoolss = yes
\tlog file = /var/log/samba/log.%m
\tmax log size = 1000
\tlogging = file
"""
    for s in samba.get("shares") or []:
        if s["name"] in removed:
            continue
        out += (f"\n[{s['name']}]\n\tpath = {s['path']}\n"
                f"\tread only = {'yes' if s.get('read_only', True) else 'no'}\n"
                f"\tguest ok = {'yes' if s.get('guest_ok', False) else 'no'}\n"
                f"\tbrowseable = yes\n")
    return out


def _export_opts(e: dict, insecure: bool) -> list[str]:
    opts = list(e.get("options") or ["ro", "root_squash"])
    if insecure:
        opts = [o for o in opts if o not in ("ro", "rw", "root_squash", "all_squash", "no_root_squash")]
        opts = ["rw", "no_root_squash"] + opts
    return opts


def nfs_files(h: LabHost, insecure: bool = False) -> dict[str, str]:
    exports = (h.vars.get("nfs") or {}).get("exports") or []
    ganesha = """# fleetcheck lab: nfs-ganesha (userspace NFS server; no kernel nfsd here)
NFS_CORE_PARAM {
\tProtocols = 3, 4;
\tEnable_NLM = false;
\tEnable_RQUOTA = false;
}
NFSV4 {
\tGraceless = true;
}
LOG {
\tDefault_Log_Level = EVENT;
}
"""
    etc_exports = "# fleetcheck lab: the same exports as /etc/ganesha/ganesha.conf, in exports(5) form\n"
    for i, e in enumerate(exports, start=1):
        # the insecure fault hits the first declared export
        bad = insecure and i == 1
        opts = _export_opts(e, bad)
        clients = "*" if bad else e.get("clients", "*")
        access = "RW" if "rw" in opts else "RO"
        squash = ("No_Root_Squash" if "no_root_squash" in opts
                  else "All_Squash" if "all_squash" in opts else "Root_Squash")
        ganesha += f"""EXPORT {{
\tExport_Id = {i};
\tPath = {e['path']};
\tPseudo = {e['path']};
\tProtocols = 3, 4;
\tTransports = TCP;
\tSecType = sys;
\tAccess_Type = None;
\tFSAL {{
\t\tName = VFS;
\t}}
\tCLIENT {{
\t\tClients = {clients};
\t\tAccess_Type = {access};
\t\tSquash = {squash};
\t}}
}}
"""
        etc_exports += f"{e['path']}\t{clients}({','.join(opts + ['no_subtree_check'])})\n"
    return {"/etc/ganesha/ganesha.conf": ganesha, "/etc/exports": etc_exports}


def fileserver_prepare(h: LabHost) -> str:
    lines = ["#!/bin/sh"]
    for s in (h.vars.get("samba") or {}).get("shares") or []:
        lines.append(f"mkdir -p {s['path']} && chmod 1777 {s['path']} && echo 'lab share {s['name']}' > {s['path']}/README")
    for e in (h.vars.get("nfs") or {}).get("exports") or []:
        # ganesha's VFS backend needs file handles overlayfs cannot give: export a tmpfs
        lines.append(f"mkdir -p {e['path']} && mount -t tmpfs -o size=32m,mode=755 lab-nfs {e['path']}"
                     f" && echo 'lab export' > {e['path']}/README")
    return "\n".join(lines) + "\n"
