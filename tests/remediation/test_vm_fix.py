"""vm.guests and vm.autostart through the engine, on this machine (local://), with a
stand-in `virsh` first on PATH: a small script that keeps three guests' state in a
JSON file, answers the commands the fact sends (a command line of `;`-separated
commands, `echo` included, as virsh 9.0 takes it) with dominfo, domstate and XML
in virsh's formats, logs every call, and changes its state on start, resume,
suspend, shutdown and autostart. It proves the path, not libvirt: the real
outputs are the parsers' fixtures (tests/fixtures/facts/vm_guests), the real
commands were tried on virsh 9.0's test driver (remediate/vm.py).

Dry run: the plan is said, nothing is changed (no lifecycle call, no lock). A real
run: the guest is started by its UUID, the re-check passes, and `fleetcheck
rollback` shuts it down again."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STUB = r'''#!PYTHON
import json, os, sys
state_file = os.environ["VIRSH_STUB_STATE"]
with open(os.environ["VIRSH_STUB_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
guests = json.load(open(state_file))
args = sys.argv[1:]
if args[:1] == ["-c"]:
    args = args[2:]
line = " ".join(args) if len(args) != 1 else args[0]
changed = False
for cmd in [c.strip() for c in line.split(";") if c.strip()]:
    words = cmd.split()
    verb, rest = words[0], [w for w in words[1:] if w != "--"]
    g = guests.get(rest[-1]) if rest else None
    if verb == "echo":
        print(" ".join(words[1:]))
    elif verb == "version":
        print("Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\n"
              "Using API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.0\n")
    elif verb == "list":
        active = "--all" not in rest
        print("".join(u + "\n" for u, x in guests.items()
                      if not active or x["state"] != "shut off"))
    elif verb == "uri":
        print("qemu:///system")
    elif g is None:
        print(f"error: failed to get domain '{rest[-1] if rest else ''}'", file=sys.stderr)
        sys.exit(1)
    elif verb == "dominfo":
        on = g["state"] != "shut off"
        rows = [("Id:", "1" if on else "-"), ("Name:", g["name"]), ("UUID:", rest[-1]),
                ("OS Type:", "hvm"), ("State:", g["state"]), ("CPU(s):", "1"),
                ("Max memory:", "98304 KiB"), ("Used memory:", "98304 KiB"),
                ("Persistent:", "yes"),
                ("Autostart:", "enable" if g["autostart"] else "disable")]
        print("".join(f"{k:<15} {v}\n" for k, v in rows))
    elif verb == "domstate":
        reason = " (booted)" if g["state"] == "running" else " (unknown)"
        print(g["state"] + (reason if "--reason" in rest else "") + "\n")
    elif verb == "domifaddr":
        print(" Name       MAC address          Protocol     Address\n" + "-" * 60 + "\n")
    elif verb == "dumpxml":
        print(f"<domain type='kvm'><name>{g['name']}</name><uuid>{rest[-1]}</uuid>"
              "<vcpu>1</vcpu></domain>\n")
    else:
        new = {"start": "running", "resume": "running", "suspend": "paused",
               "shutdown": "shut off"}.get(verb)
        if verb == "autostart":
            g["autostart"] = "--disable" not in rest
        elif new:
            g["state"] = new
        else:
            sys.exit(2)
        changed = True
        print(f"Domain '{rest[-1]}' {verb}\n")
if changed:
    json.dump(guests, open(state_file, "w"))
'''

U1, U2 = "b255304c-e118-41df-8aa5-55f9779265f3", "25d1d409-b14c-4f6b-9108-5039f9500205"


def setup(pytester, monkeypatch):
    stub_dir = pytester.path / "bin"
    stub_dir.mkdir()
    stub = stub_dir / "virsh"
    stub.write_text(STUB.replace("PYTHON", sys.executable, 1))
    stub.chmod(0o755)
    state = pytester.path / "guests.json"
    state.write_text(json.dumps({U1: {"name": "guest1", "state": "shut off",
                                      "autostart": False},
                                 U2: {"name": "guest2", "state": "paused",
                                      "autostart": False}}))
    log = pytester.path / "virsh.log"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{stub_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("VIRSH_STUB_STATE", str(state))
    monkeypatch.setenv("VIRSH_STUB_LOG", str(log))
    base = pytester.path / "h"
    base.mkdir()
    hv = {"ansible_connection": "local", "fleetcheck_lock_dir": str(base / "lock"),
          "fleetcheck_backup_dir": str(base / "backups"),
          "vm": {"guests": [{"name": "guest1", "state": "running"},
                            {"name": "guest2", "state": "paused"}]}}
    pytester.makefile(".yml", inv=f"all:\n  hosts:\n    kvm1: {json.dumps(hv)}\n")
    return state, log, base


def run(pytester, *args):
    res = pytester.runpytest_subprocess(
        "--inventory", "inv.yml", "-p", "no:randomly",
        f"{ROOT / 'checks' / 'test_vm.py'}::test_guests", "--rootdir", str(pytester.path),
        *args)
    data = json.loads((pytester.path / "reports" / "last" / "results.json").read_text())
    (record,) = data["records"]
    return res, record, data


def lifecycle_calls(log: Path) -> list[list[str]]:
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    verbs = ("start", "resume", "suspend", "shutdown", "autostart", "destroy")
    return [c for c in calls if any(w in verbs for w in c)]


def test_dry_run_says_the_plan_and_changes_nothing(pytester, monkeypatch):
    state, log, base = setup(pytester, monkeypatch)
    before = state.read_text()
    res, rec, _ = run(pytester, "--remediate", "--dry-run")
    assert rec["outcome"] == "would-fix" and "guest1: shut off" in rec["message"], rec
    assert "guest1: start (virsh start)" in res.stdout.str()
    assert state.read_text() == before and lifecycle_calls(log) == []
    assert list(base.iterdir()) == []             # no lock, no backup


def test_remediate_starts_by_uuid_rechecks_and_rolls_back(pytester, monkeypatch):
    state, log, _ = setup(pytester, monkeypatch)
    res, rec, data = run(pytester, "--remediate")
    assert rec["outcome"] == "fixed", (rec, res.stdout.str()[-2000:])
    assert lifecycle_calls(log) == [["-c", "qemu:///system", "start", "--", U1]]
    assert json.loads(state.read_text())[U1]["state"] == "running"
    out = subprocess.run([sys.executable, "-m", "fleetcheck", "rollback",
                          data["run"]["run_id"], "--reports-dir",
                          str(pytester.path / "reports")], cwd=pytester.path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert ["-c", "qemu:///system", "shutdown", "--", U1] in lifecycle_calls(log)
    assert json.loads(state.read_text())[U1]["state"] == "shut off"
