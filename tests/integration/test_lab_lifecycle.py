"""up is idempotent, down leaves nothing behind (also after a crash), and the API
starts many plain hosts for benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration


def _nothing_left(lab):
    left = lab.leftovers()
    assert left == {"netns": [], "links": [], "mounts": [], "processes": [], "loops": []}, left
    assert not lab.disks.exists() or not list(lab.disks.iterdir())
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    assert str(lab.layers) not in mounts
    # nothing else of this lab either (another checkout's lab has its own state dir)
    ours = [m for m in mounts.splitlines() if "fclab" in m
            and not (" fclab-layers " in m and str(lab.state_dir) not in m)]
    assert not ours, ours


def _all_pids(lab) -> list[int]:
    pids = []
    for rec in lab._state["hosts"].values():
        pids += [rec["pid1"], rec["launcher"]]
    return pids


def test_up_is_idempotent(lab):
    lab.up()
    pids = _all_pids(lab)
    t0 = time.monotonic()
    res = lab.up()
    assert res["started"] == []
    assert _all_pids(lab) == pids
    assert time.monotonic() - t0 < 10


def test_down_leaves_nothing_behind(lab):
    lab.up()
    pids = _all_pids(lab)
    res = lab.down()
    _nothing_left(lab)
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z"
    assert res["seconds"] < 10
    lab.down()  # twice is fine
    _nothing_left(lab)
    lab.up()
    assert lab.status()["running"] == len(lab.hosts)


def test_down_cleans_up_after_a_crash(lab):
    """The controller lost its state (crash mid-run): down still finds and removes
    the namespaces, links, mounts and processes the lab made."""
    lab.up()
    assert lab.leftovers()["processes"]
    pids = _all_pids(lab)
    # the worst case: state lost, and one host's namespace name already removed
    subprocess.run(["ip", "netns", "del", "fclab-web1"], check=True)
    lab.state_file.write_text(json.dumps({"hosts": {}, "faults": [], "plain": 0}))
    from lab import Lab

    fresh = Lab(state_dir=lab.state_dir)
    fresh.down()
    _nothing_left(fresh)
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z"
    lab._state = lab._load_state()
    lab.up()
    assert lab.status()["running"] == len(lab.hosts)


def test_fifty_plain_hosts(lab, ssh):
    t0 = time.monotonic()
    lab.up(plain_hosts=50)
    took = time.monotonic() - t0
    st = lab.status()
    assert st["running"] == 55, st
    assert took < 120, took
    assert ssh.out("plain50", "hostname").strip() == "plain50"
    assert ssh.out("plain01", "cat /etc/fleetcheck-lab/host")
    import lab_probes as p

    assert p.ptr(lab.address("ns2"), lab.address("plain37")) == ["plain37.lab.test."]
    lab.up(plain_hosts=0)
    assert lab.status()["running"] == 5
    assert not any(n.startswith("fclab-plain") for n in lab.leftovers()["netns"])


def test_reset_gives_a_pristine_host(lab, ssh):
    import lab_probes as p

    lab.up()
    ssh.out("web1", "echo changed > /etc/motd-lab-test")
    lab.fault("web1", "missing-ptr")
    lab.fault("app1", "ip-forward")
    lab.reset("web1")
    assert ssh.run("web1", "test -e /etc/motd-lab-test").returncode != 0
    assert p.ptr(lab.address("ns2"), lab.address("web1")) == ["web1.lab.test."]
    assert lab.faults == {("app1", "ip-forward")}
    lab.heal("app1", "ip-forward")


def test_two_controllers_share_one_state(lab, ssh):
    """A fault made by another process (make lab-fault) is seen and healed here."""
    lab.up()
    res = subprocess.run([sys.executable, "-m", "lab", "fault", "web1", "ip-forward"],
                         cwd=str(lab.state_dir.parents[1]), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert ("web1", "ip-forward") in {tuple(f) for f in lab.status()["faults"]}
    lab.heal_all()
    assert ssh.out("web1", "sysctl -n net.ipv4.ip_forward").strip() == "0"
    assert lab.status()["faults"] == []
