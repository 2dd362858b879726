"""Injectable faults. Each is done the way an admin would break the host: edit the
real configuration file and reload the real daemon (or stop it, or publish a
package). `heal` puts the healthy configuration back and reloads again. Both are
idempotent.

FAULTS maps a name to a Fault: where it may be applied (a group, or any host), what it
does (one line), the one check it makes fail on the host it is applied to, and whether
``--remediate`` fixes it. ``python -m lab faults --json`` lists them; the lab test
(tests/integration/test_every_lab_fault.py) proves each: exactly that check fails on
exactly that host, --remediate fixes the fixable ones, the next run is clean.
"""

from __future__ import annotations

import time

from .. import render, rootfs
from . import boot, kernel, net, lvm, fs, web, pam, mail, dhcp, proxy, ldap, ftp, vpn, vm
from .base import ANY, EVERY_CHECK, Fault, FaultError

# The areas whose faults live in lab/faults/<area>.py (the check area's name): each has
# FAULTS (name -> Fault), a function `_<name with _ for ->(lab, h, heal)` per fault,
# host_files(lab, h) -> {path: content} the lab writes on h at `up`, and optionally
# SERVICES (name -> render.LabService: the daemons it runs, for labsvc and init.sh).
AREAS = (kernel, net, boot, lvm, fs, web, pam, mail, dhcp, proxy, ldap, ftp, vpn, vm)

FAULTS: dict[str, Fault] = {
    "missing-ptr": Fault(ANY, "the host's PTR record is deleted from the reverse zone on the "
                         "DNS master", "dns.forward_reverse", True),
    "ptr-mismatch": Fault(ANY, "the host's PTR points at another name (<host>-old.<zone>): "
                          "forward/reverse mismatch", "dns.forward_reverse", True),
    "slave-behind": Fault("dns_slave", "the slave's TSIG secret is wrong, then the master's "
                          "zone changes: the slave's serial stays behind",
                          "dns.serial_in_sync", False),
    "axfr-open": Fault("dns_master", "allow-transfer { any; }: AXFR works without the TSIG key",
                       "dns.axfr_restricted", True),
    "share-removed": Fault("fileservers", "the first declared Samba share is deleted from "
                           "smb.conf (smbd reloaded)", "samba.shares", True),
    "smbd-stopped": Fault("fileservers", "smbd is stopped", "samba.shares", True),
    "nfs-insecure-export": Fault("fileservers", "the first declared NFS export becomes "
                                 "rw,no_root_squash to * (ganesha reloaded)", "nfs.exports", True),
    "security-update": Fault(ANY, f"a newer {render.LAB_PKG} is published in the local repo's "
                             "-security suite and apt's lists updated: a pending security update",
                             "updates.applied", True),
    "ip-forward": Fault(ANY, "net.ipv4.ip_forward=1 (runtime and "
                        "/etc/sysctl.d/90-lab-forward.conf)", "sysctl.value", True),
    "icmp-redirects": Fault(ANY, "net.ipv4.conf.all.send_redirects=1 at runtime: the host "
                            "sends ICMP redirects as a router would (the hardening "
                            "baseline says 0)", "sysctl.baseline", True),
    "permit-root-login": Fault(ANY, "PermitRootLogin yes in sshd_config, sshd reloaded",
                               "sshd.config", True),
    "dbus-crashed": Fault(ANY, "dbus-daemon (started at boot, listed in no `services`) is "
                          "killed with SIGKILL: dead, its pid file left", "service.failed",
                          True),
    "weak-cipher": Fault(ANY, "a drop-in sshd_config.d/50-lab-weak.conf adds a CBC cipher "
                         "(Ciphers +aes128-cbc), sshd reloaded", "sshd.baseline", True),
    "empty-passwords": Fault(ANY, "PermitEmptyPasswords yes in sshd_config, sshd reloaded",
                             "sshd.baseline", True),
    "shadow-readable": Fault(ANY, "chmod 0644 /etc/shadow: every user reads the hashes",
                             "files.permissions", True),
    "world-writable-etc": Fault(ANY, "chmod 0666 /etc/issue.net: a file in /etc anyone may "
                                "write", "files.world_writable", True),
    "second-uid0": Fault(ANY, "a second UID 0 account (useradd -o -u 0 toor)",
                         "users.accounts", False),
    "unexpected-listener": Fault("web", "an HTTP server nobody declared listens on "
                                 "0.0.0.0:8000 (python3 -m http.server)", "net.listening",
                                 False),
    "clock-stopped": Fault(ANY, "chronyd is stopped: the host's clock runs free",
                           "time.synced", True),
    "fs-read-only": Fault(ANY, "a filesystem fstab mounts rw (/srv/lab-data, a tmpfs) is "
                          "remounted read-only, as after errors", "fs.read_only", False),
    "deleted-lib": Fault(ANY, "cron's executable replaced as an upgrade does (a new file "
                         "renamed over /usr/sbin/cron): the running cron maps a deleted file",
                         "updates.applied", True),
    "link-down": Fault(ANY, "the host's network link is down: connections to it time out "
                       "(an unreachable host)", EVERY_CHECK, False),
    "service-stopped": Fault(ANY, "a declared service is stopped: cron by default, or the one "
                             "named as service-stopped:SERVICE (e.g. service-stopped:named)",
                             "service.running", True),
}
for _area in AREAS:
    FAULTS.update(_area.FAULTS)

UPDATE_VERSION = "1.0-1+deb12u1"


def _split(name: str) -> tuple[str, str | None]:
    base, _, arg = name.partition(":")
    return base, (arg or None)


def _check(lab, host: str, name: str):
    name, arg = _split(name)
    if name not in FAULTS or (arg and name != "service-stopped"):
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    h = lab.inv.by_name(host)
    where = FAULTS[name].where
    if where != ANY and not h.has(where):
        raise FaultError(f"fault {name} applies to hosts in group {where}; {host} is not")
    if name == "service-stopped" and (arg or "cron") not in h.services:
        raise FaultError(f"{host} does not run {arg or 'cron'} (its services: {', '.join(h.services)})")
    if name in ("missing-ptr", "ptr-mismatch", "slave-behind", "axfr-open") and not lab.inv.dns:
        raise FaultError("the inventory declares no DNS")
    return h


def apply(lab, host: str, name: str, heal: bool):
    h = _check(lab, host, name)
    lab._pid1(host)
    key = [host, name]
    faults = lab._state.setdefault("faults", [])
    if heal:
        if key in faults:
            faults.remove(key)
    elif key not in faults:
        faults.append(key)
    lab._save_state()
    base, arg = _split(name)
    owner = next((area for area in AREAS if base in area.FAULTS), None)
    fn = getattr(owner, "_" + base.replace("-", "_")) if owner else globals()["_" + base.replace("-", "_")]
    if arg:
        fn(lab, h, heal, arg)
    else:
        fn(lab, h, heal)


# ----------------------------------------------------------------- DNS


def _missing_ptr(lab, h, heal):
    lab._sync_dns()


_ptr_mismatch = _missing_ptr
_slave_behind = _missing_ptr
_axfr_open = _missing_ptr

# ----------------------------------------------------------------- Samba / NFS


def _smb_conf(lab, h, heal):
    content = render.smb_conf(h, lab._removed_shares(h))
    if lab.read_file(h.name, "/etc/samba/smb.conf") != content:
        lab.put_file(h.name, "/etc/samba/smb.conf", content)
        if lab.exec(h.name, ["labsvc", "status", "smbd"]).returncode == 0:
            lab.exec(h.name, ["labsvc", "reload", "smbd"], check=True)


_share_removed = _smb_conf


def _smbd_stopped(lab, h, heal):
    lab.exec(h.name, ["labsvc", "start" if heal else "stop", "smbd"], check=True)
    if heal:
        lab.wait_ready(hosts=[h.name], timeout=30)


def _nfs_insecure_export(lab, h, heal):
    changed = lab._sync_files(h.name, [(p, c, 0o644, "root", "root") for p, c in
                                       render.nfs_files(h, not heal).items()])
    if changed:
        lab.exec(h.name, ["labsvc", "reload", "nfs-ganesha"], check=True)
        lab.exec(h.name, ["exportfs", "-ra"])
        time.sleep(0.3)

# ----------------------------------------------------------------- packages, sysctl, sshd


PUBLISH = r"""
set -e
v="$1"; pkg="$2"
d=$(mktemp -d)
mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$pkg"
echo "$v" > "$d/usr/share/doc/$pkg/VERSION"
cat > "$d/DEBIAN/control" <<EOF
Package: $pkg
Version: $v
Architecture: all
Maintainer: fleetcheck lab <lab@lab.test>
Section: admin
Priority: optional
Description: fleetcheck lab package
 security fix published by the lab
EOF
dpkg-deb --root-owner-group -Zgzip -b "$d" "/srv/labrepo/${pkg}_${v}_all.deb" >/dev/null
rm -rf "$d"
lab-repo-index
apt-get -qq update
"""

WITHDRAW = r"""
set -e
v="$1"; pkg="$2"; base="$3"
rm -f "/srv/labrepo/${pkg}_${v}_all.deb"
lab-repo-index
apt-get -qq update
if [ "$(dpkg-query -W -f '${Version}' "$pkg")" != "$base" ]; then
  apt-get -qq -y --allow-downgrades install "$pkg=$base" >/dev/null
fi
"""


def _security_update(lab, h, heal):
    if heal:
        lab.exec(h.name, ["/bin/sh", "-c", WITHDRAW, "sh", UPDATE_VERSION, render.LAB_PKG,
                          rootfs.LAB_PKG_BASE_VERSION], check=True, timeout=120)
    else:
        lab.exec(h.name, ["/bin/sh", "-c", PUBLISH, "sh", UPDATE_VERSION, render.LAB_PKG],
                 check=True, timeout=120)


def _ip_forward(lab, h, heal):
    if heal:
        # the kernel sets conf.all.accept_redirects to 1 when forwarding goes off: the
        # host's hardening set again, as its boot did
        lab.sh(h.name, "rm -f /etc/sysctl.d/90-lab-forward.conf; sysctl -q -w net.ipv4.ip_forward=0; "
                       f"sysctl -q -w {h.hardening_args} >/dev/null")
    else:
        lab.sh(h.name, "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-lab-forward.conf; "
                       "sysctl -q -p /etc/sysctl.d/90-lab-forward.conf")


def _icmp_redirects(lab, h, heal):
    value = h.hardening.get(REDIRECTS, "0") if heal else "1"
    lab.exec(h.name, ["sysctl", "-q", "-w", f"{REDIRECTS}={value}"], check=True)


# send_redirects: accept_redirects is rewritten by the kernel when ip_forward changes
REDIRECTS = "net.ipv4.conf.all.send_redirects"


WEAK_DROPIN = "/etc/ssh/sshd_config.d/50-lab-weak.conf"


def _sshd(lab, h, heal):
    """sshd_config as the host's sshd faults say (lab.sshd_config), and the weak-cipher
    drop-in (read before the file's own lines: the first value wins); sshd reloaded
    when either changed."""
    changed = False
    content = lab.sshd_config(h)
    if lab.read_file(h.name, "/etc/ssh/sshd_config") != content:
        lab.put_file(h.name, "/etc/ssh/sshd_config", content)
        changed = True
    weak = (h.name, "weak-cipher") in lab.faults
    if weak != (lab.read_file(h.name, WEAK_DROPIN) is not None):
        if weak:
            lab.put_file(h.name, WEAK_DROPIN, "Ciphers +aes128-cbc\n")
        else:
            lab.exec(h.name, ["rm", "-f", WEAK_DROPIN], check=True)
        changed = True
    if changed:
        lab.exec(h.name, ["labsvc", "reload", "ssh"], check=True)
        # sshd re-executes itself on SIGHUP: its listener is gone for a moment
        time.sleep(0.3)
        lab.wait_ready(hosts=[h.name], timeout=30)


_permit_root_login = _sshd
_empty_passwords = _sshd
_weak_cipher = _sshd


def _service_stopped(lab, h, heal, svc="cron"):
    lab.exec(h.name, ["labsvc", "start" if heal else "stop", svc], check=True)
    if heal:
        lab.wait_ready(hosts=[h.name], timeout=30)


def _dbus_crashed(lab, h, heal):
    if heal:
        lab.exec(h.name, ["labsvc", "start", "dbus"], check=True)
    else:   # no clean stop: the pid file stays, as after a crash
        lab.sh(h.name, "kill -9 \"$(cat /run/dbus/pid)\"; "
                       "i=0; while kill -0 \"$(cat /run/dbus/pid)\" 2>/dev/null && [ $i -lt 100 ]; "
                       "do sleep 0.05; i=$((i+1)); done")


def _shadow_readable(lab, h, heal):
    lab.sh(h.name, "chown root:shadow /etc/shadow && chmod 0640 /etc/shadow" if heal
           else "chmod 0644 /etc/shadow")


def _world_writable_etc(lab, h, heal):
    lab.exec(h.name, ["chmod", "0644" if heal else "0666", "/etc/issue.net"], check=True)


def _second_uid0(lab, h, heal):
    if heal:
        lab.sh(h.name, "if getent passwd toor >/dev/null; then userdel -f toor; fi")
    else:
        lab.sh(h.name, "getent passwd toor >/dev/null || "
                       "useradd -o -u 0 -g 0 -M -d /root -s /usr/sbin/nologin toor")


LISTENER_PID = "/run/lab-fault-listener.pid"


def _unexpected_listener(lab, h, heal):
    if heal:
        lab.sh(h.name, f'[ -s {LISTENER_PID} ] && kill "$(cat {LISTENER_PID})"; '
                       f"rm -f {LISTENER_PID}", check=False)
        return
    lab.sh(h.name, f"[ -s {LISTENER_PID} ] && kill -0 \"$(cat {LISTENER_PID})\" 2>/dev/null "
                   "&& exit 0; cd /tmp && setsid python3 -m http.server 8000 --bind 0.0.0.0 "
                   f">/dev/null 2>&1 </dev/null & echo $! > {LISTENER_PID}")
    lab.wait_port(h.address, 8000, timeout=30)


def _clock_stopped(lab, h, heal):
    lab.exec(h.name, ["labsvc", "start" if heal else "stop", "chrony"], check=True)
    if heal:   # synchronised again before the next run judges it
        lab.sh(h.name, "chronyc -n waitsync 100 0 0 0.1 >/dev/null", timeout=30)


DATA_MOUNT = "/srv/lab-data"
DATA_FSTAB = f"lab-data {DATA_MOUNT} tmpfs defaults,size=8m 0 0"


def _fs_read_only(lab, h, heal):
    if heal:
        lab.sh(h.name, f"mountpoint -q {DATA_MOUNT} && umount {DATA_MOUNT}; "
                       f"sed -i '\\#^lab-data {DATA_MOUNT} #d' /etc/fstab", check=True)
    else:
        lab.sh(h.name, f"mkdir -p {DATA_MOUNT}; grep -q '^lab-data ' /etc/fstab || "
                       f"echo '{DATA_FSTAB}' >> /etc/fstab; "
                       f"mountpoint -q {DATA_MOUNT} || mount {DATA_MOUNT}; "
                       f"mount -o remount,ro {DATA_MOUNT}", check=True)


def _deleted_lib(lab, h, heal):
    if heal:
        lab.exec(h.name, ["labsvc", "restart", "cron"], check=True)
    else:
        lab.sh(h.name, "cp -p /usr/sbin/cron /usr/sbin/cron.dpkg-new && "
                       "mv -f /usr/sbin/cron.dpkg-new /usr/sbin/cron")


def _link_down(lab, h, heal):
    ns = lab._state["hosts"][h.name]["netns"]
    from ..core import _run

    _run(["ip", "-n", ns, "link", "set", "eth0", "up" if heal else "down"])
    if heal:
        lab.wait_ready(hosts=[h.name], timeout=30)


def services() -> dict[str, render.LabService]:
    """The daemons the areas run (an area's optional SERVICES), for labsvc and init."""
    out: dict[str, render.LabService] = {}
    for area in AREAS:
        out.update(getattr(area, "SERVICES", {}))
    return out


def disks(h) -> list[int]:
    """The sizes (MiB) of the loop-device disks the lab gives h (an area's optional
    disks(h))."""
    out: list[int] = []
    for area in AREAS:
        out += getattr(area, "disks", lambda h: [])(h)
    return out


def char_devices(h) -> list[tuple[str, str]]:
    """The controller's character devices h is given: (name in its /dev, path here)."""
    out: list[tuple[str, str]] = []
    for area in AREAS:
        out += getattr(area, "char_devices", lambda h: [])(h)
    return out


def host_files(lab, h) -> dict[str, str]:
    """The files of every area's lab setup on h (path -> content, mode 0644)."""
    files: dict[str, str] = {}
    for area in AREAS:
        files.update(area.host_files(lab, h))
    return files
