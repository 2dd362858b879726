"""The lab: namespaced hosts with real daemons, controlled from the root namespace.

Each host is a network namespace (veth to the lab bridge, one address, no route out),
plus UTS, IPC, mount and PID namespaces whose root is an overlay over the cached
rootfs (lab/rootfs.py). Layers live on a tmpfs mounted at <state>/layers. Every
process the lab starts is recorded with its pid and start time in <state>/lab.json
and is ended by that pid only.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import faults as lab_faults
from . import render, rootfs
from .inventory import DEFAULT_INVENTORY, LabHost, LabInventory, load, write_generated

LAB_DIR = Path(__file__).resolve().parent
DEFAULT_STATE = LAB_DIR / "state"
BRIDGE = "fclab0"
NETNS_PREFIX = "fclab-"
VETH_PREFIX = "fcv"
# machine-wide kernel limits a large lab raises (Lab._kernel_room): entries per host
ROOM = {"/proc/sys/net/ipv4/neigh/default/gc_thresh1": 2,
        "/proc/sys/net/ipv4/neigh/default/gc_thresh2": 8,
        "/proc/sys/net/ipv4/neigh/default/gc_thresh3": 16,
        "/proc/sys/net/core/netdev_max_backlog": 8}
INIT_SCRIPT = "/etc/fleetcheck-lab/init.sh"
# the device nodes the launcher makes in a host's /dev, `b|c NAME MAJOR MINOR` a line:
# its loop-device disks, the controller's /dev/kvm (Lab._attach_devices, launcher.sh)
DEVICES = "/etc/fleetcheck-lab/devices"
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class LabError(RuntimeError):
    pass


def require_root():
    if os.geteuid() != 0:
        raise LabError("the lab needs root (namespaces, mounts, links): run it as root")


def veth_name(address: str) -> str:
    """The controller's end of a host's link, named after the last two octets of its
    address (fcv47-30, fcv51-113): one per address of the lab's 10.213.0.0/16 subnets,
    within the kernel's 15 characters."""
    return f"{VETH_PREFIX}{address.replace('.', '-').split('-', 2)[-1]}"[:15]


def _run(argv, check=True, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    res = subprocess.run(argv, **kw)
    if check and res.returncode != 0:
        raise LabError(f"{' '.join(map(str, argv))}: exit {res.returncode}: {(res.stderr or '').strip()}")
    return res


def _proc_start(pid: int) -> int | None:
    """Start time (clock ticks since boot) of a pid, None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return int(data.rsplit(")", 1)[1].split()[19])


def _proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()[0]


def _alive(pid: int | None, start: int | None) -> bool:
    if not pid:
        return False
    st = _proc_start(pid)
    return st is not None and st == start and _proc_state(pid) not in ("Z", "X")


def _kill_recorded(pid: int | None, start: int | None, sig=signal.SIGKILL) -> bool:
    """Signal a recorded process only if it still is the one we started."""
    if not pid or _proc_start(pid) != start:
        return False
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def _reap(pid: int):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _wait_gone(pid: int, start: int | None, timeout: float = 5.0):
    """Wait until pid is gone or a zombie (its parent may not be us)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        _reap(pid)
        if _proc_start(pid) != start or _proc_state(pid) in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False


def _mountinfo() -> list[str]:
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        return [line.split()[4].replace("\\040", " ") for line in f]


def _loops_of(directory: Path) -> dict[str, str]:
    """The loop devices whose backing file lies in directory (the lab's disks): device
    -> backing file."""
    out = {}
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        try:
            path = backing.read_text().strip().removesuffix(" (deleted)")
        except OSError:
            continue
        if Path(path).parent == directory:
            out["/dev/" + backing.parent.parent.name] = path
    return dict(sorted(out.items()))


def _netns_list() -> list[str]:
    try:
        return sorted(n for n in os.listdir("/run/netns") if n.startswith(NETNS_PREFIX))
    except FileNotFoundError:
        return []


def _links() -> list[str]:
    res = _run(["ip", "-o", "link", "show"], check=False)
    names = []
    for line in res.stdout.splitlines():
        name = line.split(":", 2)[1].strip().split("@", 1)[0]
        if name == BRIDGE or name.startswith(VETH_PREFIX):
            names.append(name)
    return names


def _tcp_open(addr: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def _no_ipv6(link: str):
    try:
        Path(f"/proc/sys/net/ipv6/conf/{link}/disable_ipv6").write_text("1")
    except OSError:
        pass


def _locked(fn):
    """Serialize the lab's mutating operations across processes (flock on
    <state>/.lock) and work on the state as it is on disk."""

    @functools.wraps(fn)
    def wrapper(self, *a, **kw):
        with self._lock():
            return fn(self, *a, **kw)

    return wrapper


ROLE_PORTS = {"ssh": 22, "named": 53, "smbd": 445, "rpcbind": 111, "nfs-ganesha": 2049}


class Lab:
    """Start, stop, inspect and break the lab fleet. Needs root for everything but
    reading status and the generated files."""

    def __init__(self, state_dir: str | os.PathLike | None = None,
                 inventory: str | os.PathLike | None = None):
        self.state_dir = Path(state_dir) if state_dir else DEFAULT_STATE
        self.state_dir = self.state_dir.resolve()
        self.inventory_path = Path(inventory) if inventory else DEFAULT_INVENTORY
        self.layers = self.state_dir / "layers"
        self.state_file = self.state_dir / "lab.json"
        self.ssh_config = self.state_dir / "ssh_config"
        self.known_hosts = self.state_dir / "known_hosts"
        self.identity = self.state_dir / "id_ed25519"
        self.generated_inventory = self.state_dir / "inventory.yml"
        self.disks = self.state_dir / "disks"     # the loop devices' backing files
        self._state = self._load_state()
        self._inv: LabInventory | None = None

    # ------------------------------------------------------------ state

    @contextlib.contextmanager
    def _lock(self):
        if getattr(self, "_lock_depth", 0):
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        require_root()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            fresh = self._load_state()
            if fresh.get("plain", 0) != self._state.get("plain", 0):
                self._inv = None
            self._state = fresh
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
        finally:
            os.close(fd)

    def _load_state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {"hosts": {}, "faults": [], "plain": 0, "serial": render.SERIAL_BASE}

    def _save_state(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state, indent=1, sort_keys=True))
        tmp.replace(self.state_file)

    @property
    def inv(self) -> LabInventory:
        if self._inv is None:
            self._inv = load(self.inventory_path, self._state.get("plain", 0))
        return self._inv

    @property
    def hosts(self) -> dict[str, dict]:
        """name -> {address, groups, services, running, pid}."""
        out = {}
        for h in self.inv.hosts:
            rec = self._state["hosts"].get(h.name) or {}
            out[h.name] = {
                "address": h.address,
                "groups": list(h.groups),
                "services": h.services,
                "running": _alive(rec.get("pid1"), rec.get("pid1_start")),
                "pid": rec.get("pid1"),
            }
        return out

    @property
    def faults(self) -> set[tuple[str, str]]:
        return {tuple(f) for f in self._state.get("faults", [])}

    @property
    def tsig_secret(self) -> str:
        return (self.state_dir / "tsig-secret").read_text().strip()

    @property
    def tsig_name(self) -> str:
        return render.TSIG_NAME

    def rootfs_in_use(self) -> list[Path]:
        """The rootfs this checkout's running hosts stand on (a rebuild keeps it)."""
        alive = any(_alive(r.get("pid1"), r.get("pid1_start"))
                    for r in self._state.get("hosts", {}).values())
        return [Path(self._state["rootfs"])] if alive and self._state.get("rootfs") else []

    def address(self, host: str) -> str:
        return self.inv.by_name(host).address

    def _rootfs(self) -> Path:
        """The rootfs the running hosts were started on (pinned at `up`: a changed
        package list takes effect at the next down/up), else the package list's."""
        pinned = self._state.get("rootfs")
        if pinned and self._state.get("hosts"):
            return Path(pinned)
        return rootfs.rootfs_path()

    # ------------------------------------------------------------ keys

    def _ensure_keys(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.identity.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleetcheck-lab-controller",
                  "-f", str(self.identity)])
        sec = self.state_dir / "tsig-secret"
        if not sec.exists():
            sec.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            sec.chmod(0o600)
        for h in self.inv.hosts:
            d = self.state_dir / "hostkeys" / h.name
            if not (d / "ssh_host_ed25519_key").exists():
                d.mkdir(parents=True, exist_ok=True)
                _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{h.name}",
                      "-f", str(d / "ssh_host_ed25519_key")])

    def _host_pubkey(self, name: str) -> str:
        return (self.state_dir / "hostkeys" / name / "ssh_host_ed25519_key.pub").read_text().split()[:2]

    def _write_client_files(self):
        zone = self.inv.dns.get("zone", "lab.test")
        cfg = ["# generated by the fleetcheck lab (lab/core.py); rewritten at every lab-up\n"]
        kh = []
        for h in self.inv.hosts:
            cfg.append(
                f"Host {h.name} {h.name}.{zone} {h.address}\n"
                f"    HostName {h.address}\n    User root\n    Port 22\n"
                f"    IdentityFile {self.identity}\n    IdentitiesOnly yes\n"
                f"    StrictHostKeyChecking yes\n    UserKnownHostsFile {self.known_hosts}\n"
                f"    GlobalKnownHostsFile /dev/null\n    CheckHostIP no\n"
                f"    ConnectTimeout 10\n    BatchMode yes\n\n")
            ktype, kdata = self._host_pubkey(h.name)
            kh.append(f"{h.name},{h.name}.{zone},{h.address} {ktype} {kdata}\n")
        self.ssh_config.write_text("".join(cfg))
        self.known_hosts.write_text("".join(kh))
        write_generated(self.inv, self.generated_inventory, ".")

    # ------------------------------------------------------------ upper dir

    def _lower_ids(self):
        root = self._rootfs()
        users, groups = {}, {}
        for line in (root / "etc/passwd").read_text().splitlines():
            p = line.split(":")
            users[p[0]] = int(p[2])
        for line in (root / "etc/group").read_text().splitlines():
            p = line.split(":")
            groups[p[0]] = int(p[2])
        return users, groups

    def _write_upper(self, h: LabHost, path: str, content: str | bytes, mode=0o644,
                     owner: str = "root", group: str = "root"):
        """Write a file into a stopped host's upper dir, creating parents with the
        lower dir's ownership and mode so the merged view keeps them."""
        lower = self._rootfs()
        upper = self.layers / h.name / "upper"
        rel = Path(path.lstrip("/"))
        cur_u, cur_l = upper, lower
        for part in rel.parts[:-1]:
            cur_u, cur_l = cur_u / part, cur_l / part
            if not cur_u.exists():
                cur_u.mkdir()
                if cur_l.is_dir():
                    st = cur_l.stat()
                    os.chown(cur_u, st.st_uid, st.st_gid)
                    cur_u.chmod(st.st_mode & 0o7777)
        users, groups = self._ids
        target = upper / rel
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        os.chown(target, users[owner], groups[group])
        target.chmod(mode)

    def put_file(self, host: str, path: str, content: str, mode: int = 0o644,
                 owner: str = "root", group: str = "root"):
        """Write a file inside a running host (as an admin editing it would)."""
        script = ('set -e; t="$1.fclab-tmp"; cat > "$t"; chown "$2:$3" "$t"; chmod "$4" "$t"; '
                  'mv -f "$t" "$1"')
        res = self.exec(host, ["/bin/sh", "-c", script, "sh", path, owner, group, f"{mode:o}"],
                        input=content)
        if res.returncode != 0:
            raise LabError(f"{host}: writing {path}: {res.stderr.strip()}")

    def read_file(self, host: str, path: str) -> str | None:
        res = self.exec(host, ["cat", path])
        return res.stdout if res.returncode == 0 else None

    # ------------------------------------------------------------ files per host

    def _host_files(self, h: LabHost) -> list[tuple[str, str, int, str, str]]:
        """(path, content, mode, owner, group) of every file the lab writes on h."""
        inv = self.inv
        files = [(p, c, 0o644, "root", "root") for p, c in render.hostname_files(h, inv).items()]
        keydir = self.state_dir / "hostkeys" / h.name
        files.append(("/etc/ssh/ssh_host_ed25519_key", (keydir / "ssh_host_ed25519_key").read_text(),
                      0o600, "root", "root"))
        files.append(("/etc/ssh/ssh_host_ed25519_key.pub",
                      (keydir / "ssh_host_ed25519_key.pub").read_text(), 0o644, "root", "root"))
        files.append(("/etc/ssh/sshd_config", self.sshd_config(h), 0o644, "root", "root"))
        files.append(("/root/.ssh/authorized_keys", Path(str(self.identity) + ".pub").read_text(),
                      0o600, "root", "root"))
        services = lab_faults.services()
        files.append(("/usr/local/sbin/labsvc", render.labsvc(services), 0o755, "root", "root"))
        files.append(("/etc/fleetcheck-lab/init.sh", render.init_script(h, inv, services), 0o755,
                      "root", "root"))
        files.append(("/etc/fleetcheck-lab/host", json.dumps(
            {"name": h.name, "address": h.address, "groups": h.groups, "services": h.services}) + "\n",
            0o644, "root", "root"))
        if "chrony" in h.daemons:
            files += [(p, c, 0o644, "root", "root") for p, c in render.chrony_files(h, inv).items()]
        files += [(p, c, 0o644, "root", "root") for p, c in lab_faults.host_files(self, h).items()]
        files += self._dns_files(h)
        if h.has("fileservers"):
            files.append(("/etc/samba/smb.conf", render.smb_conf(h, self._removed_shares(h)),
                          0o644, "root", "root"))
            for p, c in render.nfs_files(h, (h.name, "nfs-insecure-export") in self.faults).items():
                files.append((p, c, 0o644, "root", "root"))
            files.append(("/etc/fleetcheck-lab/prepare", render.fileserver_prepare(h), 0o755,
                          "root", "root"))
        return files

    def sshd_config(self, h: LabHost) -> str:
        """h's sshd_config: Debian's with the lab's settings, and its sshd faults'."""
        base = (self._rootfs() / "etc/ssh/sshd_config").read_text()
        prl = "yes" if (h.name, "permit-root-login") in self.faults else \
            str((h.vars.get("sshd") or {}).get("PermitRootLogin", "prohibit-password"))
        extra = {"PermitEmptyPasswords": "yes"} if (h.name, "empty-passwords") in self.faults \
            else {}
        return render.sshd_config(base, prl, extra)

    def _removed_shares(self, h: LabHost) -> set[str]:
        if (h.name, "share-removed") not in self.faults:
            return set()
        shares = (h.vars.get("samba") or {}).get("shares") or []
        return {shares[0]["name"]} if shares else set()

    def _dns_files(self, h: LabHost) -> list:
        dns = self.inv.dns
        if not dns or not (h.has("dns_master") or h.has("dns_slave")):
            return []
        out = []
        conf = render.named_conf(self.inv, h, self.tsig_secret,
                                 axfr_open=(h.name, "axfr-open") in self.faults,
                                 wrong_key=(h.name, "slave-behind") in self.faults)
        for p, c in conf.items():
            mode = 0o640 if p.endswith(".key") else 0o644
            out.append((p, c, mode, "root", "bind"))
        if h.name == dns.get("master"):
            for z, c in self._zones().items():
                out.append((f"/etc/bind/db.{z}", c, 0o644, "root", "bind"))
        return out

    def _zones(self) -> dict[str, str]:
        dns_faults = {(h, f) for h, f in self.faults if f in ("missing-ptr", "ptr-mismatch")}
        zones = render.zone_files(self.inv, dns_faults, self._state.get("serial", render.SERIAL_BASE))
        if any(f == "slave-behind" for _, f in self.faults):
            # the master moved on (an ordinary edit) while the slave cannot follow
            z = self.inv.dns.get("zone")
            zones[z] += 'lab-change\tIN\tTXT\t"edited on the master after the slave lost its key"\n'
        return zones

    # ------------------------------------------------------------ up / down

    @_locked
    def up(self, plain_hosts: int | None = None, wait: bool = True,
           timeout: float | None = None) -> dict:
        require_root()
        t0 = time.monotonic()
        alive = any(_alive(r.get("pid1"), r.get("pid1_start")) for r in self._state["hosts"].values())
        if alive and self._state.get("rootfs") not in (None, str(rootfs.rootfs_path())):
            raise LabError("the rootfs package list changed while the lab runs: "
                           "make lab-down first, then lab-up builds the new rootfs")
        self._state["rootfs"] = str(rootfs.build(keep=self.rootfs_in_use()))
        if plain_hosts is not None and plain_hosts != self._state.get("plain", 0):
            self._state["plain"] = int(plain_hosts)
            self._inv = None
        inv = self.inv
        self._ids = self._lower_ids()
        self._ensure_keys()
        if not any(_alive(r.get("pid1"), r.get("pid1_start")) for r in self._state["hosts"].values()):
            # nothing of ours runs: clear what a crash may have left before starting afresh
            self._state["hosts"] = {}
            self._sweep()
        self._ensure_layers()
        self._ensure_bridge()
        wanted = {h.name for h in inv.hosts}
        for name in list(self._state["hosts"]):
            if name not in wanted:
                self._stop_host(name)
        if not any(_alive(r.get("pid1"), r.get("pid1_start")) for r in self._state["hosts"].values()):
            # a fresh lab: faults of a previous run are gone with its layers
            self._state["faults"] = []
            self._state["serial"] = render.SERIAL_BASE
        started = []
        self._route_to_plain()
        for h in inv.hosts:
            rec = self._state["hosts"].get(h.name)
            if rec and _alive(rec.get("pid1"), rec.get("pid1_start")):
                continue
            self._start_host(h)
            started.append(h.name)
            self._save_state()
        self._write_client_files()
        self._save_state()
        if wait:
            # 90 s, and a tenth of a second per host: a thousand hosts boot together
            self.wait_ready(timeout=timeout or 90.0 + 0.1 * len(inv.hosts))
            master, _ = self._dns_hosts()
            if master and master.name not in started:
                self._sync_dns()  # e.g. plain hosts added: their records go in
            else:
                self._wait_dns_sync()
        return {"started": started, "seconds": round(time.monotonic() - t0, 2)}

    def _ensure_layers(self):
        self.layers.mkdir(parents=True, exist_ok=True)
        if str(self.layers) not in _mountinfo():
            _run(["mount", "-t", "tmpfs", "-o", "mode=755,size=8g", "fclab-layers", str(self.layers)])

    def _ensure_bridge(self):
        if not Path(f"/sys/class/net/{BRIDGE}").exists():
            _run(["ip", "link", "add", BRIDGE, "type", "bridge"])
            _no_ipv6(BRIDGE)
        res = _run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE])
        # the controller's address first (primary: the source of its connections),
        # then the extra ones (secondary addresses of the same subnet)
        cidrs = [f"{addr}/{self.inv.subnet.prefixlen}"
                 for addr in [self.inv.controller_address, *self.inv.controller_extra_addresses]]
        if self.inv.beyond:
            # the plain hosts past the role hosts' subnet: the controller's address there
            cidrs.append(f"{self.inv.plain_controller_address}/{self.inv.plain_subnet.prefixlen}")
        for cidr in cidrs:
            if f" {cidr} " not in res.stdout:
                _run(["ip", "addr", "add", cidr, "dev", BRIDGE])
        _run(["ip", "link", "set", BRIDGE, "up"])
        self._kernel_room()

    def _kernel_room(self):
        """Room in the kernel for a large lab, in limits that are the whole machine's
        (every network namespace counted together):
        - the neighbour table (net.ipv4.neigh.default.gc_thresh1-3: 128, 512, 1024 by
          default): each lab host holds the controller, its nameservers and the time
          server, and those hold every host, so a thousand hosts need several thousand
          entries, past which the kernel drops new ones ("neighbour table overflow");
        - the receive backlog of a CPU (net.core.netdev_max_backlog: 1000): the bridge
          floods a broadcast (each ARP request) to every port at once, each copy queued
          on the sending CPU, and past the limit the copies to the oldest ports, the
          role hosts, are dropped (seen at 1005 hosts: ARP for ns1 never answered).
        Each raised (never lowered) to ROOM's entries per host once that is more than
        its current value; the values found are kept in the state and put back at down."""
        hosts = len(self.inv.hosts)
        saved = self._state.setdefault("kernel_room", {})
        for path, per_host in ROOM.items():
            current = int(Path(path).read_text())
            wanted = per_host * hosts
            if wanted > current:
                saved.setdefault(path, current)
                Path(path).write_text(f"{wanted}\n")
        if not saved:
            del self._state["kernel_room"]
        self._save_state()

    def _kernel_room_restore(self):
        """The limits as the lab found them (after _kernel_room)."""
        for path, value in (self._state.pop("kernel_room", None) or {}).items():
            Path(path).write_text(f"{value}\n")

    def _other_subnet(self, h: LabHost) -> str | None:
        """The lab subnet a host reaches through an on-link route on its eth0 (the same
        bridge, no router): a host of the plain subnet reaches the role hosts' (their
        nameservers, the time server), a role host the plain subnet once hosts live
        there; none while the lab is one subnet."""
        if not self.inv.beyond:
            return None
        mine = self.inv.network_of(h)
        return str(self.inv.plain_subnet if mine == self.inv.subnet else self.inv.subnet)

    def _route_to_plain(self):
        """A running host of the role subnet gets its on-link route to the plain subnet
        when plain hosts are added beyond it (a host started later gets it at start)."""
        for h in self.inv.hosts:
            rec = self._state["hosts"].get(h.name)
            other = self._other_subnet(h)
            if other and rec and _alive(rec.get("pid1"), rec.get("pid1_start")):
                _run(["ip", "-n", rec["netns"], "route", "replace", other, "dev", "eth0"])

    def _veth(self, h: LabHost) -> str:
        return veth_name(h.address)

    def _start_host(self, h: LabHost):
        ns = NETNS_PREFIX + h.name
        veth = self._veth(h)
        self._stop_host(h.name)
        if Path(f"/run/netns/{ns}").exists():
            _run(["ip", "netns", "del", ns], check=False)
        if Path(f"/sys/class/net/{veth}").exists():
            _run(["ip", "link", "del", veth], check=False)
        _run(["ip", "netns", "add", ns])
        # a fixed MAC per address: neighbours' ARP caches stay right across restarts
        mac = "02:fc:" + ":".join(f"{int(o):02x}" for o in h.address.split("."))
        _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "address", mac,
              "netns", ns])
        _no_ipv6(veth)
        _run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
        # no IPv6 on the lab's links: nothing but the lab's IPv4 subnet is ever spoken
        _run(["nsenter", f"--net=/run/netns/{ns}", "--", "/bin/sh", "-c",
              "echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6 || true"], check=False)
        other = self._other_subnet(h)
        _run(["ip", "-n", ns, "-b", "-"], input=(
            f"link set lo up\naddr add {h.address}/{self.inv.network_of(h).prefixlen} dev eth0\n"
            f"link set eth0 up\n" + (f"route add {other} dev eth0\n" if other else "")))
        hl = self.layers / h.name
        if hl.exists():
            shutil.rmtree(hl)
        for d in ("upper", "work", "merged"):
            (hl / d).mkdir(parents=True)
        for path, content, mode, owner, group in self._host_files(h):
            self._write_upper(h, path, content, mode, owner, group)
        self._attach_devices(h)
        logdir = self.state_dir / "logs"
        logdir.mkdir(exist_ok=True)
        log = open(logdir / f"{h.name}.log", "wb")
        argv = ["nsenter", f"--net=/run/netns/{ns}", "--",
                "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--propagation", "private",
                "--", "/bin/sh", str(LAB_DIR / "launcher.sh"), h.name, str(self._rootfs()),
                str(hl / "upper"), str(hl / "work"), str(hl / "merged")]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True, env={"PATH": HOST_PATH, "LANG": "C"})
        log.close()
        launcher_start = None
        pid1 = None
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if launcher_start is None:
                launcher_start = _proc_start(p.pid)
            try:
                kids = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
            except OSError:
                kids = []
            if kids:
                pid1 = int(kids[0])
                break
            if p.poll() is not None:
                break
            time.sleep(0.005)
        if not pid1:
            raise LabError(f"{h.name}: launcher failed: {(logdir / f'{h.name}.log').read_text()[-2000:]}")
        self._state["hosts"][h.name] = {
            "netns": ns, "veth": veth, "address": h.address,
            "launcher": p.pid, "launcher_start": launcher_start,
            "pid1": pid1, "pid1_start": _proc_start(pid1),
        }
        self._popen = getattr(self, "_popen", {})
        self._popen[h.name] = p

    def _attach_devices(self, h: LabHost):
        """The host's device nodes, listed in its DEVICES file: its disks
        (lab_faults.disks: sizes in MiB) as loop devices over fresh sparse files in
        <state>/disks (fresh at every start: a restarted host has pristine disks, as
        its pristine root), and the controller's character devices it is given
        (lab_faults.char_devices: /dev/kvm for a hypervisor)."""
        self._detach_disks(h.name)
        lines = []
        for name, path in lab_faults.char_devices(h):
            rdev = os.stat(path).st_rdev
            lines.append(f"c {name} {os.major(rdev)} {os.minor(rdev)}\n")
        sizes = lab_faults.disks(h)
        if sizes:
            self.disks.mkdir(parents=True, exist_ok=True)
        try:
            for i, mib in enumerate(sizes):
                image = self.disks / f"{h.name}-{i}.img"
                image.unlink(missing_ok=True)
                with open(image, "wb") as f:
                    f.truncate(mib * 1024 * 1024)
                dev = _run(["losetup", "--find", "--show", "--", str(image)]).stdout.strip()
                rdev = os.stat(dev).st_rdev
                lines.append(f"b {Path(dev).name} {os.major(rdev)} {os.minor(rdev)}\n")
        except BaseException:
            self._detach_disks(h.name)
            raise
        if lines:
            self._write_upper(h, DEVICES, "".join(lines))

    def _detach_disks(self, name: str):
        """Detach the loop devices over the host's disk images (found by their backing
        files, so also after a crash) and remove the images."""
        mine = re.compile(re.escape(name) + r"-[0-9]+\.img")
        for dev, path in _loops_of(self.disks).items():
            if mine.fullmatch(Path(path).name):
                _run(["losetup", "--detach", dev], check=False)
        for image in self.disks.glob("*.img") if self.disks.exists() else ():
            if mine.fullmatch(image.name):
                image.unlink(missing_ok=True)

    @_locked
    def reset(self, *names: str):
        """Restart hosts from a pristine upper dir (every change made on them is gone,
        their faults healed); the DNS master's zones follow the lab's fault set."""
        require_root()
        self._ids = self._lower_ids()
        for name in names:
            self._pid1(name)
            self._stop_host(name)
            self._start_host(self.inv.by_name(name))
        self._save_state()
        self.wait_ready(hosts=list(names))
        self._sync_dns()

    def wait_port(self, address: str, port: int, timeout: float = 30.0):
        """Until a TCP port of a lab address accepts connections (LabError past timeout)."""
        end = time.monotonic() + timeout
        while not _tcp_open(address, port):
            if time.monotonic() > end:
                raise LabError(f"{address}:{port} not listening after {timeout:.0f}s")
            time.sleep(0.05)

    def wait_ready(self, timeout: float = 90.0, hosts: list[str] | None = None):
        end = time.monotonic() + timeout
        pending = {h.name: h for h in self.inv.hosts if hosts is None or h.name in hosts}
        while pending:
            for name, h in list(pending.items()):
                rec = self._state["hosts"].get(name) or {}
                if not _alive(rec.get("pid1"), rec.get("pid1_start")):
                    log = self.state_dir / "logs" / f"{name}.log"
                    tail = log.read_text()[-1500:] if log.exists() else ""
                    raise LabError(f"{name}: host died during start:\n{tail}")
                if not Path(f"/proc/{rec['pid1']}/root/run/fleetcheck-lab.ready").exists():
                    continue
                ports = [ROLE_PORTS[s] for s in h.daemons if s in ROLE_PORTS]
                if all(_tcp_open(h.address, port) for port in ports):
                    del pending[name]
            if not pending:
                break
            if time.monotonic() > end:
                detail = []
                for name, h in sorted(pending.items()):
                    closed = [f"{s}:{ROLE_PORTS[s]}" for s in h.daemons
                              if s in ROLE_PORTS and not _tcp_open(h.address, ROLE_PORTS[s])]
                    detail.append(f"{name} ({', '.join(closed) or 'init not finished'})")
                raise LabError(f"hosts not ready after {timeout:.0f}s: {'; '.join(detail)}; "
                               f"see {self.state_dir / 'logs'}")
            time.sleep(0.05)

    def _stop_host(self, name: str):
        rec = self._state["hosts"].get(name)
        if not rec:
            return
        _kill_recorded(rec.get("pid1"), rec.get("pid1_start"))
        _wait_gone(rec.get("pid1") or 0, rec.get("pid1_start"))
        if _kill_recorded(rec.get("launcher"), rec.get("launcher_start")):
            _wait_gone(rec["launcher"], rec.get("launcher_start"))
        p = getattr(self, "_popen", {}).pop(name, None)
        if p is not None:
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        if rec.get("netns") and Path(f"/run/netns/{rec['netns']}").exists():
            _run(["ip", "netns", "del", rec["netns"]], check=False)
        if rec.get("veth") and Path(f"/sys/class/net/{rec['veth']}").exists():
            _run(["ip", "link", "del", rec["veth"]], check=False)
        self._detach_disks(name)
        hl = self.layers / name
        if hl.exists():
            shutil.rmtree(hl, ignore_errors=True)
        self._state["hosts"].pop(name, None)
        self._state["faults"] = [f for f in self._state.get("faults", []) if f[0] != name]

    def leftovers(self) -> dict:
        """Whatever of the lab exists on this machine (empty lists after a clean down)."""
        ns_inodes = set()
        for n in _netns_list():
            try:
                ns_inodes.add(os.stat(f"/run/netns/{n}").st_ino)
            except OSError:
                pass
        procs = []
        layers = str(self.layers)
        own_pidns = os.stat("/proc/self/ns/pid").st_ino
        launcher = str(LAB_DIR / "launcher.sh").encode()
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if ns_inodes and os.stat(f"/proc/{d}/ns/net").st_ino in ns_inodes:
                    procs.append(int(d))
                    continue
                root = os.readlink(f"/proc/{d}/root")
                if root.startswith(layers + "/") or root == layers:
                    procs.append(int(d))
                    continue
                # a lab host's PID 1 or launcher whose namespace name is already gone
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                if (argv[:2] == [b"/usr/bin/tini", b"-s"] and INIT_SCRIPT.encode() in argv
                        and os.stat(f"/proc/{d}/ns/pid").st_ino != own_pidns):
                    procs.append(int(d))
                elif argv[:1] == [b"unshare"] and launcher in argv:
                    procs.append(int(d))
            except OSError:
                continue
        # processes recorded by this lab and still alive
        for rec in self._state.get("hosts", {}).values():
            for k in ("pid1", "launcher"):
                if _alive(rec.get(k), rec.get(k + "_start")) and rec[k] not in procs:
                    procs.append(rec[k])
        mounts = [m for m in _mountinfo()
                  if m == layers or m.startswith(layers + "/") or m.startswith("/run/netns/" + NETNS_PREFIX)
                  or m.startswith(str(rootfs.BUILD_TMPFS))]
        return {"netns": _netns_list(), "links": _links(), "mounts": mounts,
                "processes": sorted(procs), "loops": list(_loops_of(self.disks))}

    @_locked
    def down(self) -> dict:
        require_root()
        t0 = time.monotonic()
        for name in list(self._state.get("hosts", {})):
            self._stop_host(name)
        self._sweep()
        self._kernel_room_restore()
        self._state["hosts"] = {}
        self._state["faults"] = []
        self._state["serial"] = render.SERIAL_BASE
        if self.state_dir.exists():
            self._save_state()
        return {"seconds": round(time.monotonic() - t0, 2), "left": self.leftovers()}

    def _sweep(self):
        """Remove whatever a crash left behind, found by namespace or root: each
        process by its pid, then namespaces, links and mounts."""
        left = self.leftovers()
        for pid in left["processes"]:
            st = _proc_start(pid)
            if st is None:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _wait_gone(pid, st, timeout=2)
        for ns in left["netns"]:
            _run(["ip", "netns", "del", ns], check=False)
        for link in _links():
            _run(["ip", "link", "del", link], check=False)
        for dev in _loops_of(self.disks):
            _run(["losetup", "--detach", dev], check=False)
        if self.disks.exists():
            shutil.rmtree(self.disks, ignore_errors=True)
        for m in sorted(self.leftovers()["mounts"], key=len, reverse=True):
            if m == str(self.layers) and self._state.get("hosts"):
                continue
            _run(["umount", "-l", m], check=False)
        if self.layers.exists() and str(self.layers) not in _mountinfo():
            shutil.rmtree(self.layers, ignore_errors=True)

    def status(self) -> dict:
        if not getattr(self, "_lock_depth", 0):
            fresh = self._load_state()  # another process may have changed the lab
            if fresh.get("plain", 0) != self._state.get("plain", 0):
                self._inv = None
            self._state = fresh
        hosts = self.hosts
        return {
            "hosts": hosts,
            "running": sum(1 for h in hosts.values() if h["running"]),
            "faults": sorted(self.faults),
            "bridge": Path(f"/sys/class/net/{BRIDGE}").exists(),
            "ssh_config": str(self.ssh_config),
            "inventory": str(self.generated_inventory),
        }

    # ------------------------------------------------------------ exec

    def _pid1(self, host: str) -> int:
        rec = self._state["hosts"].get(host)
        if not rec or not _alive(rec.get("pid1"), rec.get("pid1_start")):
            raise LabError(f"{host} is not running (make lab-up)")
        return rec["pid1"]

    def exec(self, host: str, argv: list[str], input: str | None = None, timeout: float = 60,
             check: bool = False) -> subprocess.CompletedProcess:
        """Run argv inside the host's namespaces and root (not over ssh)."""
        pid = self._pid1(host)
        full = ["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--",
                "/usr/bin/env", "-i", f"PATH={HOST_PATH}", "HOME=/root", "LANG=C", "LC_ALL=C",
                "DEBIAN_FRONTEND=noninteractive", *argv]
        res = subprocess.run(full, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise LabError(f"{host}: {' '.join(argv)}: exit {res.returncode}: {res.stderr.strip()}")
        return res

    def sh(self, host: str, script: str, check: bool = True, timeout: float = 60):
        return self.exec(host, ["/bin/sh", "-c", script], check=check, timeout=timeout)

    # ------------------------------------------------------------ DNS sync

    def _soa_serial(self, addr: str, zone: str) -> int | None:
        import dns.message
        import dns.query
        import dns.rdatatype
        try:
            q = dns.message.make_query(zone, dns.rdatatype.SOA)
            r = dns.query.udp(q, addr, timeout=1.0)
            for rrset in r.answer:
                for rd in rrset:
                    return int(rd.serial)
        except Exception:
            return None
        return None

    def _dns_hosts(self):
        dns = self.inv.dns
        if not dns:
            return None, []
        master = self.inv.by_name(dns["master"])
        slaves = [self.inv.by_name(s) for s in dns.get("slaves") or []]
        return master, slaves

    def _wait_dns_sync(self, timeout: float = 20.0):
        """Wait until every slave serves the master's serial (forcing a transfer
        if the slave has not caught up on its own)."""
        master, slaves = self._dns_hosts()
        if not master:
            return
        zones = self.inv.dns_zones
        end = time.monotonic() + timeout
        kicked = time.monotonic()
        while True:
            behind = []
            expected = self._state.get("serial", render.SERIAL_BASE)
            for z in zones:
                want = self._soa_serial(master.address, z)
                if want != expected:
                    # the master has not loaded its edited zone yet
                    behind.append((master, z))
                    continue
                for s in slaves:
                    if (s.name, "slave-behind") in self.faults:
                        continue
                    if want is None or self._soa_serial(s.address, z) != want:
                        behind.append((s, z))
            if not behind:
                return
            if time.monotonic() > end:
                raise LabError(f"DNS slaves not in sync: {[(s.name, z) for s, z in behind]}")
            if time.monotonic() - kicked > 1.0:
                for s, z in behind:
                    if s.name != master.name:
                        self.exec(s.name, ["rndc", "retransfer", z])
                kicked = time.monotonic()
            time.sleep(0.1)

    def _sync_dns(self):
        """Make the DNS servers' real config and zone files match the lab's fault set,
        the way an admin does: edit, bump the serial, reload."""
        master, slaves = self._dns_hosts()
        if not master:
            return
        for s in slaves:
            changed = self._sync_files(s.name, self._dns_files(s))
            if changed:
                self.exec(s.name, ["rndc", "reconfig"], check=True)
                if (s.name, "slave-behind") not in self.faults:
                    for z in self.inv.dns_zones:
                        self.exec(s.name, ["rndc", "retransfer", z])
        zone_paths = {f"/etc/bind/db.{z}" for z in self._zones()}
        cur = {p: self.read_file(master.name, p) for p in zone_paths}
        new = {f"/etc/bind/db.{z}": c for z, c in self._zones().items()}
        if any(cur[p] != new[p] for p in zone_paths):
            self._state["serial"] = self._state.get("serial", render.SERIAL_BASE) + 1
            self._save_state()
        files = self._dns_files(master)
        changed = self._sync_files(master.name, files)
        if changed:
            self.exec(master.name, ["rndc", "reload"], check=True)
        self._wait_dns_sync()

    def _sync_files(self, host: str, files) -> bool:
        changed = False
        for path, content, mode, owner, group in files:
            if self.read_file(host, path) != content:
                self.put_file(host, path, content, mode, owner, group)
                changed = True
        return changed

    # ------------------------------------------------------------ faults

    @_locked
    def fault(self, host: str, name: str):
        from .faults import apply
        require_root()
        self._ids = self._lower_ids()
        apply(self, host, name, heal=False)

    @_locked
    def heal(self, host: str, name: str):
        from .faults import apply
        require_root()
        self._ids = self._lower_ids()
        apply(self, host, name, heal=True)

    @_locked
    def heal_all(self):
        for host, name in sorted(self.faults):
            self.heal(host, name)
