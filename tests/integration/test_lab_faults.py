"""Every lab fault: injected, seen by a direct probe from the controller, healed."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

import lab_probes as p

pytestmark = pytest.mark.integration


def _ns(lab):
    dns = lab.inv.dns
    return lab.address(dns["master"]), [lab.address(s) for s in dns["slaves"]]


def _eventually(fn, timeout=10.0, every=0.2):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(every)


def test_fault_names_are_all_tested():
    """Every fault has a probe test: test_<fault> (or test_<fault>_<more>) here or in
    an area's test_lab_faults_<area>.py."""
    from lab import FAULTS

    names = set()
    for path in Path(__file__).parent.glob("test_lab_faults*.py"):
        names |= {node.name for node in ast.parse(path.read_text()).body
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    untested = {f for f in FAULTS
                if not any(n == "test_" + f.replace("-", "_")
                           or n.startswith("test_" + f.replace("-", "_") + "_") for n in names)}
    assert not untested, untested


def test_missing_ptr(healthy):
    lab = healthy
    master, slaves = _ns(lab)
    addr = lab.address("web1")
    for s in [master, *slaves]:
        assert p.ptr(s, addr) == ["web1.lab.test."]
    lab.fault("web1", "missing-ptr")
    lab.fault("web1", "missing-ptr")  # idempotent
    for s in [master, *slaves]:
        assert p.query(s, f"{addr.split('.')[3]}.{lab.inv.dns['reverse_zone']}", "PTR") == ("NXDOMAIN", [])
        assert p.a(s, "web1.lab.test") == [addr], "the forward record stays"
    assert p.ptr(master, lab.address("app1")) == ["app1.lab.test."], "only web1 lost its PTR"
    lab.heal("web1", "missing-ptr")
    for s in [master, *slaves]:
        assert p.ptr(s, addr) == ["web1.lab.test."]
    assert p.serial(master, "lab.test") == p.serial(slaves[0], "lab.test")


def test_ptr_mismatch(healthy):
    lab = healthy
    master, slaves = _ns(lab)
    addr = lab.address("app1")
    lab.fault("app1", "ptr-mismatch")
    for s in [master, *slaves]:
        names = p.ptr(s, addr)
        assert names and names != ["app1.lab.test."]
        # the PTR's name does not resolve back to the address: forward/reverse mismatch
        assert addr not in p.a(s, names[0])
        assert p.a(s, "app1.lab.test") == [addr]
    lab.heal("app1", "ptr-mismatch")
    for s in [master, *slaves]:
        assert p.ptr(s, addr) == ["app1.lab.test."]


def test_slave_behind(healthy):
    lab = healthy
    master, slaves = _ns(lab)
    for z in ("lab.test", lab.inv.dns["reverse_zone"]):
        assert p.serial(master, z) == p.serial(slaves[0], z)
    lab.fault("ns2", "slave-behind")
    time.sleep(1.5)  # the slave got the NOTIFY and failed its transfer by now
    assert p.serial(slaves[0], "lab.test") < p.serial(master, "lab.test")
    # the slave's key is wrong: its transfers are refused by the master
    log = lab.exec("ns2", ["rndc", "status"]).stdout
    assert "server is up and running" in log
    lab.heal("ns2", "slave-behind")
    assert _eventually(lambda: p.serial(slaves[0], "lab.test") == p.serial(master, "lab.test"))
    assert p.query(slaves[0], "lab-change.lab.test", "TXT")[0] == "NXDOMAIN"


def test_axfr_open(healthy):
    lab = healthy
    master, slaves = _ns(lab)
    key = (lab.tsig_name, lab.tsig_secret)
    assert p.axfr(master, "lab.test") is None, "healthy: AXFR without the key is refused"
    signed = p.axfr(master, "lab.test", key)
    assert signed and "web1" in signed, "healthy: AXFR with the TSIG key works"
    lab.fault("ns1", "axfr-open")
    opened = p.axfr(master, "lab.test")
    assert opened and "web1" in opened
    lab.heal("ns1", "axfr-open")
    assert p.axfr(master, "lab.test") is None
    assert p.axfr(slaves[0], "lab.test") is None, "the slave refuses unsigned AXFR too"


def test_share_removed(healthy):
    lab = healthy
    addr = lab.address("files1")
    declared = [s["name"] for s in lab.inv.by_name("files1").vars["samba"]["shares"]]
    assert sorted(p.smb_shares(addr)) == sorted(declared)
    lab.fault("files1", "share-removed")
    shares = p.smb_shares(addr)
    assert declared[0] not in shares and declared[1] in shares
    assert f"[{declared[0]}]" not in lab.read_file("files1", "/etc/samba/smb.conf")
    lab.heal("files1", "share-removed")
    assert sorted(p.smb_shares(addr)) == sorted(declared)


def test_smbd_stopped(healthy, ssh):
    lab = healthy
    addr = lab.address("files1")
    assert p.tcp_open(addr, 445)
    lab.fault("files1", "smbd-stopped")
    lab.fault("files1", "smbd-stopped")
    assert not p.tcp_open(addr, 445)
    assert p.smb_shares(addr) is None
    assert ssh.run("files1", "service smbd status").returncode != 0
    lab.heal("files1", "smbd-stopped")
    assert p.smb_shares(addr)
    assert ssh.run("files1", "service smbd status").returncode == 0


def test_nfs_insecure_export(healthy, ssh):
    lab = healthy
    addr = lab.address("files1")
    exports = lab.inv.by_name("files1").vars["nfs"]["exports"]
    first = exports[0]["path"]
    assert p.showmount(addr) == {e["path"]: e["clients"] for e in exports}
    lab.fault("files1", "nfs-insecure-export")
    seen = p.showmount(addr)
    assert seen[first] == "*"
    assert seen[exports[1]["path"]] == exports[1]["clients"]
    conf = lab.read_file("files1", "/etc/ganesha/ganesha.conf")
    assert "No_Root_Squash" in conf
    ev = ssh.out("files1", "exportfs -v")
    assert "no_root_squash" in ev and "<world>" in ev
    lab.heal("files1", "nfs-insecure-export")
    assert p.showmount(addr) == {e["path"]: e["clients"] for e in exports}
    assert "No_Root_Squash" not in lab.read_file("files1", "/etc/ganesha/ganesha.conf")


def test_security_update(healthy, ssh):
    assert "Inst " not in ssh.out("web1", "apt-get -s upgrade")
    healthy.fault("web1", "security-update")
    out = ssh.out("web1", "apt-get -s upgrade")
    inst = [line for line in out.splitlines() if line.startswith("Inst ")]
    assert len(inst) == 1 and "fleetcheck-labpkg" in inst[0] and "bookworm-security" in inst[0], out
    assert "Inst " not in ssh.out("app1", "apt-get -s upgrade"), "only web1 has it"
    # the update is real: apt applies it, and heal puts the healthy version back
    ssh.out("web1", "DEBIAN_FRONTEND=noninteractive apt-get -qq -y upgrade >/dev/null")
    assert ssh.out("web1", "dpkg-query -W -f '${Version}' fleetcheck-labpkg") == "1.0-1+deb12u1"
    healthy.heal("web1", "security-update")
    assert "Inst " not in ssh.out("web1", "apt-get -s upgrade")
    assert ssh.out("web1", "dpkg-query -W -f '${Version}' fleetcheck-labpkg") == "1.0-1"


def test_ip_forward(healthy, ssh):
    assert ssh.out("web1", "sysctl -n net.ipv4.ip_forward").strip() == "0"
    healthy.fault("web1", "ip-forward")
    assert ssh.out("web1", "sysctl -n net.ipv4.ip_forward").strip() == "1"
    assert ssh.out("app1", "sysctl -n net.ipv4.ip_forward").strip() == "0", "per host (netns)"
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        root_ns = f.read().strip()
    healthy.heal("web1", "ip-forward")
    assert ssh.out("web1", "sysctl -n net.ipv4.ip_forward").strip() == "0"
    # forwarding off sets conf.all.accept_redirects to 1 in the kernel: healed as booted
    assert ssh.out("web1", "sysctl -n net.ipv4.conf.all.accept_redirects").strip() == "0"
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read().strip() == root_ns, "the controller's own setting is untouched"


def test_icmp_redirects(healthy, ssh):
    key = "net.ipv4.conf.all.send_redirects"
    assert ssh.out("web1", f"sysctl -n {key}").strip() == "0", "a hardened lab host"
    healthy.fault("web1", "icmp-redirects")
    assert ssh.out("web1", f"sysctl -n {key}").strip() == "1"
    assert ssh.out("app1", f"sysctl -n {key}").strip() == "0", "per host (netns)"
    healthy.heal("web1", "icmp-redirects")
    assert ssh.out("web1", f"sysctl -n {key}").strip() == "0"


def test_dbus_crashed(healthy, ssh):
    status = "/etc/init.d/dbus status >/dev/null 2>&1; echo $?"
    assert ssh.out("web1", status).strip() == "0", "every lab host runs dbus-daemon"
    healthy.fault("web1", "dbus-crashed")
    assert ssh.out("web1", status).strip() == "1", "dead, its pid file left (LSB 1)"
    assert ssh.out("app1", status).strip() == "0"
    healthy.heal("web1", "dbus-crashed")
    assert ssh.out("web1", status).strip() == "0"


def test_permit_root_login(healthy, ssh):
    def prl():
        for line in ssh.out("web1", "sshd -T").splitlines():
            if line.startswith("permitrootlogin "):
                return line.split()[1]

    assert prl() in ("prohibit-password", "without-password")
    healthy.fault("web1", "permit-root-login")
    assert prl() == "yes"
    assert "PermitRootLogin yes" in ssh.out("web1", "cat /etc/ssh/sshd_config")
    healthy.heal("web1", "permit-root-login")
    assert prl() in ("prohibit-password", "without-password")


def test_service_stopped(healthy, ssh):
    assert ssh.run("app1", "service cron status").returncode == 0
    healthy.fault("app1", "service-stopped")
    assert ssh.run("app1", "service cron status").returncode != 0
    assert "cron" not in ssh.out("app1", "ps -eo comm").split()
    healthy.heal("app1", "service-stopped")
    assert ssh.run("app1", "service cron status").returncode == 0


def test_service_stopped_named_service(healthy, ssh):
    lab = healthy
    ns2 = lab.address("ns2")
    assert p.serial(ns2, "lab.test")
    lab.fault("ns2", "service-stopped:named")
    assert ssh.run("ns2", "service named status").returncode != 0
    assert not p.tcp_open(ns2, 53)
    lab.heal("ns2", "service-stopped:named")
    assert ssh.run("ns2", "service named status").returncode == 0
    assert p.serial(ns2, "lab.test") == p.serial(lab.address("ns1"), "lab.test")


def test_service_stopped_ssh_makes_the_host_unreachable(healthy, ssh):
    healthy.fault("app1", "service-stopped:ssh")
    assert not p.tcp_open(healthy.address("app1"), 22)
    assert ssh.run("app1", "true").returncode == 255
    healthy.heal("app1", "service-stopped:ssh")  # healed from inside, not over ssh
    assert ssh.out("app1", "hostname").strip() == "app1"


def test_link_down(healthy, ssh):
    import socket

    addr = healthy.address("app1")
    healthy.fault("app1", "link-down")
    with pytest.raises((socket.timeout, TimeoutError, OSError)) as exc:
        socket.create_connection((addr, 22), timeout=1.0).close()
    assert not isinstance(exc.value, ConnectionRefusedError), "no answer at all, not a refusal"
    healthy.heal("app1", "link-down")
    assert ssh.out("app1", "hostname").strip() == "app1"


def test_unknown_fault_and_wrong_role_are_refused(healthy):
    from lab.faults import FaultError

    with pytest.raises(FaultError):
        healthy.fault("web1", "no-such-fault")
    with pytest.raises(FaultError):
        healthy.fault("web1", "smbd-stopped")  # web1 is no fileserver
    with pytest.raises(FaultError):
        healthy.fault("web1", "service-stopped:named")  # web1 runs no named
    assert healthy.faults == set()


# ---------------------------------------------------------------- issue 17's baseline


def _sshd_t(ssh, host: str, keyword: str) -> str:
    for line in ssh.out(host, "sshd -T").splitlines():
        if line.split(" ", 1)[0] == keyword:
            return line.split(" ", 1)[1]
    raise AssertionError(f"sshd -T prints no {keyword}")


def test_weak_cipher(healthy, ssh):
    assert "cbc" not in _sshd_t(ssh, "web1", "ciphers")
    healthy.fault("web1", "weak-cipher")
    assert "aes128-cbc" in _sshd_t(ssh, "web1", "ciphers").split(",")
    assert "cbc" not in _sshd_t(ssh, "app1", "ciphers")
    healthy.heal("web1", "weak-cipher")
    assert "cbc" not in _sshd_t(ssh, "web1", "ciphers")


def test_empty_passwords(healthy, ssh):
    assert _sshd_t(ssh, "web1", "permitemptypasswords") == "no"
    healthy.fault("web1", "empty-passwords")
    assert _sshd_t(ssh, "web1", "permitemptypasswords") == "yes"
    healthy.heal("web1", "empty-passwords")
    assert _sshd_t(ssh, "web1", "permitemptypasswords") == "no"


def test_shadow_readable(healthy, ssh):
    mode = "stat -c '%a %U %G' /etc/shadow"
    assert ssh.out("web1", mode).split() == ["640", "root", "shadow"]
    healthy.fault("web1", "shadow-readable")
    assert ssh.out("web1", mode).split()[0] == "644"
    healthy.heal("web1", "shadow-readable")
    assert ssh.out("web1", mode).split() == ["640", "root", "shadow"]


def test_world_writable_etc(healthy, ssh):
    scan = "find /etc -xdev -type f -perm -0002"
    assert ssh.out("web1", scan).split() == []
    healthy.fault("web1", "world-writable-etc")
    assert ssh.out("web1", scan).split() == ["/etc/issue.net"]
    healthy.heal("web1", "world-writable-etc")
    assert ssh.out("web1", scan).split() == []


def test_second_uid0(healthy, ssh):
    uid0 = "awk -F: '$3 == 0 {print $1}' /etc/passwd"
    assert ssh.out("web1", uid0).split() == ["root"]
    healthy.fault("web1", "second-uid0")
    assert ssh.out("web1", uid0).split() == ["root", "toor"]
    healthy.heal("web1", "second-uid0")
    assert ssh.out("web1", uid0).split() == ["root"]


def test_unexpected_listener(healthy, ssh):
    listens = "ss -H -tln 'sport = :8000' | wc -l"
    assert ssh.out("web1", listens).strip() == "0"
    healthy.fault("web1", "unexpected-listener")
    assert ssh.out("web1", listens).strip() == "1"
    healthy.heal("web1", "unexpected-listener")
    assert ssh.out("web1", listens).strip() == "0"


def test_clock_stopped(healthy, ssh):
    tracking = "chronyc -n -c tracking >/dev/null 2>&1; echo $?"
    assert ssh.out("web1", tracking).strip() == "0", "chronyd runs on every lab host"
    healthy.fault("web1", "clock-stopped")
    assert ssh.out("web1", tracking).strip() != "0"
    healthy.heal("web1", "clock-stopped")
    assert ssh.out("web1", tracking).strip() == "0"


def test_fs_read_only(healthy, ssh):
    opts = "findmnt -n -o OPTIONS /srv/lab-data || echo none"
    assert ssh.out("web1", opts).strip() == "none"
    healthy.fault("web1", "fs-read-only")
    assert ssh.out("web1", opts).split(",")[0] == "ro"
    assert "lab-data /srv/lab-data tmpfs" in ssh.out("web1", "cat /etc/fstab")
    healthy.heal("web1", "fs-read-only")
    assert ssh.out("web1", opts).strip() == "none"
    assert "lab-data" not in ssh.out("web1", "cat /etc/fstab")


def test_deleted_lib(healthy, ssh):
    deleted = "grep -c ' (deleted)$' /proc/$(cat /run/crond.pid)/maps || true"
    assert ssh.out("web1", deleted).strip() == "0"
    healthy.fault("web1", "deleted-lib")
    assert int(ssh.out("web1", deleted).strip()) >= 1, "cron maps a file no longer there"
    healthy.heal("web1", "deleted-lib")
    assert ssh.out("web1", deleted).strip() == "0"
