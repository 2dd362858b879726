"""Every lab fault: injected, seen by a direct probe from the controller, healed."""

from __future__ import annotations

import time

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
    from lab import FAULTS

    tested = {n[len("test_"):].replace("_", "-") for n in globals() if n.startswith("test_")}
    assert set(FAULTS) <= tested, set(FAULTS) - tested


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
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read().strip() == root_ns, "the controller's own setting is untouched"


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
