"""The filesystem area (fs.mounted, fs.swap, fs.automount, fs.smart): parsers' edge
cases beyond the captured fixtures, the checks over given facts (the daemon running,
which the lab cannot show), the mount and swapon plans, the commands' quoting, the
vars' schemas and the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import checkrun
import pytest
import yaml

from fleetcheck import varschema
from fleetcheck.facts import FactError, ParseError
from fleetcheck.facts import automount, fstab_verify, mounts, smart, swaps
from fleetcheck.remediation import PlanContext, lookup

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "facts"
EMBEDDED = yaml.safe_load((ROOT / "fleetcheck" / "data" / "local.yml").read_text())["all"]["vars"]
DEFAULTS = {k: EMBEDDED[k] for k in ("fs_mounted", "fs_swap", "fs_automount", "fs_smart")}
MODULES = {"swaps": swaps, "automount": automount, "smart": smart,
           "fstab_verify": fstab_verify, "mounts": mounts}


def captured(fact, case):
    return MODULES[fact].parse((FIXTURES / fact / f"{case}.txt").read_text())


def run_check(name, hostvars, **facts):
    """(outcome, message, evidence) of a check over given facts."""
    return checkrun.run_check("fs", name, hostvars, **facts)


def fstab_mounts(fstab_lines, live_lines):
    """A Mounts fact from (target, source, fstype, options) tuples."""
    def mk(rows):
        return [mounts.Mount(t, s, f, o.split(",")) for t, s, f, o in rows]
    return mounts.Mounts(live=mk(live_lines), fstab=mk(fstab_lines))


ROOT_LIVE = ("/", "/dev/vda", "ext4", "rw,relatime")


# -- the defaults -----------------------------------------------------------------------

def test_defaults_validate_and_are_quiet_on_this_machine():
    for var, value in DEFAULTS.items():
        assert varschema.problems(var, value) == [], var
    hv = dict(DEFAULTS)
    assert run_check("test_fs_mounted", hv, mounts=captured(
        "mounts", "debian12_chroot_unconfigured_fstab"))[0] == "skipped"
    assert run_check("test_fs_swap", hv, swaps=captured(
        "swaps", "firecracker-vm-no-swap"))[0] == "skipped"
    assert run_check("test_fs_automount", hv, automount=captured(
        "automount", "debian12-stock"))[0] == "skipped"
    assert run_check("test_fs_smart", hv, smart=captured(
        "smart", "firecracker-vm-no-disk"))[0] == "skipped"


def test_mistakes_in_the_vars_are_named():
    assert varschema.problems("fs_swap", {"devices": {"dm-2": 1}})
    assert varschema.problems("fs_smart", {"temperature": {"warm": 50}})
    assert varschema.problems("fs_automount", {"maps": {"/home": "x"}})
    assert varschema.problems("fs_mounted", {"ignore": "/mnt"})


# -- fs.mounted ---------------------------------------------------------------------------

def test_mounted_unmounted_wrong_type_and_options():
    m = fstab_mounts(
        [("/", "UUID=1", "ext4", "errors=remount-ro"),
         ("/srv/a", "/dev/sdb1", "xfs", "defaults"),
         ("/srv/b", "tmpfs", "tmpfs", "nodev,nosuid,noexec"),
         ("/srv/c", "/dev/sdc1", "ext4", "noauto"),
         ("none", "/dev/sda2", "swap", "sw"),
         ("/srv/d", "srv:/d", "nfs", "ro"),
         ("/srv/e", "/dev/sdd1", "ext4", "defaults")],
        [ROOT_LIVE, ("/srv/b", "tmpfs", "tmpfs", "rw,nosuid,relatime"),
         ("/srv/d", "srv:/d", "nfs4", "rw,relatime"),
         ("/srv/e", "tmpfs", "tmpfs", "rw")])
    outcome, message, evidence = run_check("test_fs_mounted", DEFAULTS, mounts=m)
    assert outcome == "failed" and evidence.severity == "high"
    assert message == ("/srv/a is not mounted (fstab: /dev/sdb1 xfs); "
                       "/srv/b is mounted without nodev,noexec (in fstab); "
                       "/srv/d is mounted without ro (in fstab); "
                       "/srv/e is mounted as tmpfs, fstab says ext4")
    assert "/srv/c" not in evidence["fstab"]


def test_mounted_leaves_read_only_to_fs_read_only_and_ignores():
    # the lab's fs-read-only fault: rw in fstab, ro now: mounted, fs.read_only's finding
    m = captured("mounts", "debian12_chroot_tmpfs_remounted_ro")
    assert run_check("test_fs_mounted", DEFAULTS, mounts=m)[0] == "passed"
    m = fstab_mounts([("/mnt/usb", "/dev/sdx1", "vfat", "defaults"),
                      ("/data", "/dev/sdb1", "ext4", "x-systemd.automount")],
                     [ROOT_LIVE, ("/data", "systemd-1", "autofs", "rw")])
    hv = dict(DEFAULTS, fs_mounted={"ignore": ["/mnt/*"]})
    outcome, _, evidence = run_check("test_fs_mounted", hv, mounts=m)
    assert outcome == "passed" and evidence["fstab"] == {"/data": "systemd automount point"}
    assert run_check("test_fs_mounted", {"fs_mounted": None}, mounts=m)[0] == "skipped"


def plan(check, hostvars, **facts):
    return lookup(check)(PlanContext(check, "web1", hostvars, checkrun.Facts(**facts)))


CLEAN = fstab_verify.parse("Success, no errors or warnings detected\n")
LAB_FSTAB = fstab_mounts([("/srv/lab-scratch", "lab-scratch", "tmpfs",
                           "defaults,size=4m,nodev,nosuid")], [ROOT_LIVE])


def test_mount_plan_verifies_then_mounts_and_rollback_unmounts():
    p = plan("fs.mounted", DEFAULTS, mounts=LAB_FSTAB, fstab_verify=CLEAN)
    assert [a.command.render() for a in p.actions] == ["findmnt --verify",
                                                       "mount -- /srv/lab-scratch"]
    assert [a.command.render() for a in p.on_rollback] == ["umount -- /srv/lab-scratch"]


def test_mount_plan_refuses_a_dirty_fstab_and_hostile_targets():
    dirty = captured("fstab_verify", "errors-and-parse-error")
    p = plan("fs.mounted", DEFAULTS, mounts=LAB_FSTAB, fstab_verify=dirty)
    assert p.refused and "parse error at line 4" in p.reason and p.empty
    for bad in ("/srv/../etc", "/srv/a\nb"):
        m = fstab_mounts([(bad, "x", "tmpfs", "defaults")], [ROOT_LIVE])
        assert plan("fs.mounted", DEFAULTS, mounts=m, fstab_verify=CLEAN).refused
    done = plan("fs.mounted", DEFAULTS, mounts=fstab_mounts([], [ROOT_LIVE]), fstab_verify=CLEAN)
    assert done.empty and not done.refused


def test_fstab_verify_counts_and_continuations():
    v = captured("fstab_verify", "errors-and-parse-error")
    assert not v.clean and v.problems()[0] == "/etc/fstab: parse error at line 4 -- ignored"
    assert v.entries[2].warnings[-1].endswith("use 'systemctl daemon-reload' to reload")
    with pytest.raises(ParseError, match="line 1"):
        fstab_verify.parse("   [E] orphan\n0 parse errors, 1 error, 0 warnings\n")


# -- fs.swap --------------------------------------------------------------------------------

LAB_SWAP = {"required": True, "devices": {"/dev/dm-2": -2, "/swapfile": None},
            "min_total_mb": 1024, "fstab": True, "path": "/etc/fleetcheck-lab/fs/swaps"}


def test_swap_lab_capture_passes_and_swap_off_fails():
    hv = {"fs_swap": LAB_SWAP}
    assert run_check("test_fs_swap", hv, swaps=captured("swaps", "otel-pagefile-test"))[0] \
        == "passed"
    outcome, message, evidence = run_check("test_fs_swap", hv, swaps=swaps.parse(
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"))
    assert outcome == "failed" and evidence.severity == "medium"
    assert message == ("no swap is active; declared swap /dev/dm-2 is not active; declared "
                       "swap /swapfile is not active; 0 MiB of swap active, at least 1024 "
                       "MiB declared")


def test_swap_fstab_entries_priorities_and_the_plan():
    sw = captured("swaps", "fstab-entries")   # UUID= not found, /dev/vda pri=-2, noauto
    outcome, message, evidence = run_check("test_fs_swap", {"fs_swap": {"fstab": True}},
                                           swaps=sw)
    assert message == ("fstab swap UUID=0a1b2c3d-made-up is not active; fstab swap /dev/vda "
                       "is not active")
    hv = {"fs_swap": {"fstab": True, "path": "/proc/swaps"}}
    p = plan("fs.swap", hv, swaps=sw)
    assert [a.command.render() for a in p.actions] == ["swapon -p -2 -- /dev/vda"]
    assert [a.command.render() for a in p.on_rollback] == ["swapoff -- /dev/vda"]
    captured_path = plan("fs.swap", {"fs_swap": LAB_SWAP}, swaps=sw)
    assert captured_path.refused and "shares its kernel" in captured_path.reason
    wrong = swaps.Swaps([swaps.SwapArea("/dev/vda", "partition", 100, 0, 7)],
                        [swaps.FstabSwap("/dev/vda", "/dev/vda", ["sw", "pri=5"])])
    outcome, message, evidence = run_check("test_fs_swap", {"fs_swap": {"fstab": True}},
                                           swaps=wrong)
    assert message == "fstab swap /dev/vda has priority 7, declared 5" and \
        evidence.severity == "low"
    hostile = swaps.Swaps([], [swaps.FstabSwap("/dev/x", "-rf", [])])
    assert plan("fs.swap", hv, swaps=hostile).refused


def test_swaps_octal_escapes_and_commands():
    sw = swaps.parse("Filename Type Size Used Priority\n/swap\\040file file 10 0 -2\n")
    assert sw.active[0].path == "/swap file"
    assert "/tmp/a b;id" in swaps.command({"fs_swap": {"path": "/tmp/a b;id"}}).render()
    for bad in ("relative", "/a/../b"):
        with pytest.raises(FactError):
            swaps.command({"fs_swap": {"path": bad}})
    with pytest.raises(ParseError, match="line 2"):
        swaps.parse("Filename Type Size Used Priority\n/x disk 1 0 -2\n")


# -- fs.automount -----------------------------------------------------------------------------

LAB_AUTO = {"fs_automount": {"running": False, "maps": {"/srv/lab-auto": ["data", "share"]}}}


def test_automount_lab_map_passes_and_broken_fails():
    assert run_check("test_fs_automount", LAB_AUTO, automount=captured(
        "automount", "lab-map"))[0] == "passed"
    hv = {"fs_automount": {"running": False, "maps": {"/srv/lab-auto": ["data", "share", "x"],
                                                      "/home": ["*"]}}}
    outcome, message, _ = run_check("test_fs_automount", hv, automount=captured(
        "automount", "broken-maps"))
    assert message == ("/srv/gone: failed to read map; /srv/prog: failed to read map; "
                       "/srv/lab-auto: key share has no location to mount "
                       "('-fstype=nfs,ro'); /srv/lab-auto: key x is not in its map; "
                       "/home is not a mount point of the master map")


def test_automount_daemon_running_is_judged_where_declared():
    am = captured("automount", "lab-map")
    hv = {"fs_automount": {"running": True, "maps": {}}}
    outcome, message, evidence = run_check("test_fs_automount", hv, automount=am)
    assert outcome == "failed" and evidence.severity == "high"
    assert message.startswith("the automount daemon is not running")
    am.pids = [412]
    assert run_check("test_fs_automount", hv, automount=am)[0] == "passed"
    gone = automount.parse("fleetcheck-automount: not installed\n")
    assert run_check("test_fs_automount", hv, automount=gone)[0] == "skipped"
    assert run_check("test_fs_automount", LAB_AUTO, automount=gone)[0] == "failed"


def test_automount_pids_and_bare_dumps():
    am = automount.parse("fleetcheck-automount: pid 412\nfleetcheck-automount: dump\n"
                         "autofs dump map information\n===\n\nglobal options: none configured\n"
                         "no master map entries found\nfleetcheck-automount: end\n")
    assert am.pids == [412] and am.mounts == []
    bare = automount.parse("Mount point: /misc\n\nsource(s):\n\n  instance type(s): file\n"
                           "  map: /etc/auto.misc\n\n  cd | -fstype=iso9660,ro :/dev/cdrom\n")
    assert bare.pids is None and bare.mount("/misc").entry("cd").endswith(":/dev/cdrom")
    assert automount.location_of("-fstype=nfs,ro") is None
    with pytest.raises(ParseError, match="line 1"):
        automount.parse("  cd | x\n")


# -- fs.smart -------------------------------------------------------------------------------

def test_smart_healthy_and_failing_disks():
    hv = {"fs_smart": DEFAULTS["fs_smart"]}
    assert run_check("test_fs_smart", hv, smart=captured("smart", "captured-directory"))[0] \
        == "passed"
    outcome, message, evidence = run_check("test_fs_smart", hv,
                                           smart=captured("smart", "scrutiny-ata-failing"))
    assert outcome == "failed" and evidence.severity == "critical"
    assert message == ("/dev/sdc (Hitachi HDS721050DLE630): SMART overall-health FAILED; "
                       "/dev/sdc (Hitachi HDS721050DLE630): 8 pending sectors; "
                       "/dev/sdc (Hitachi HDS721050DLE630): 1975 reallocated sectors")
    ignored = dict(DEFAULTS["fs_smart"], ignore=["/dev/sdc"])
    assert run_check("test_fs_smart", {"fs_smart": ignored},
                     smart=captured("smart", "scrutiny-ata-failing"))[0] == "skipped"


def test_smart_nvme_temperature_and_open_failures():
    hv = {"fs_smart": dict(DEFAULTS["fs_smart"], temperature={"warn": 30, "crit": 40})}
    outcome, message, evidence = run_check("test_fs_smart", hv,
                                           smart=captured("smart", "scrutiny-nvme-media-errors"))
    assert message == ("/dev/nvme0 (Samsung SSD 970 EVO 500GB): 7 media errors; "
                       "/dev/nvme0 (Samsung SSD 970 EVO 500GB): 35 C (warn 30)")
    outcome, message, evidence = run_check("test_fs_smart", hv,
                                           smart=captured("smart", "scrutiny-open-failed"))
    assert evidence.severity == "low" and "could not open" in message
    assert run_check("test_fs_smart", hv, smart=smart.parse(
        "fleetcheck-smart: not installed\n"))[0] == "skipped"


def test_smart_command_and_hostile_json():
    assert smart.command({"fs_smart": {"path": None}}).render().endswith("fleetcheck ''")
    assert "/srv/caps" in smart.command({"fs_smart": {"path": "/srv/caps"}}).render()
    with pytest.raises(FactError):
        smart.command({"fs_smart": {"path": "-x"}})
    for body in ('{"smartctl": {}, "smart_status": {"passed": "yes"}}',
                 '{"smartctl": {"exit_status": -1}}', '[1]',
                 '{"smartctl": {}, "ata_smart_attributes": {"table": [{"id": 5, '
                 '"raw": {"value": 1.5}}]}}'):
        with pytest.raises(ParseError, match="line 2"):
            smart.parse(f"fleetcheck-smart: device /dev/sda\n{body}\nfleetcheck-smart: end\n")
