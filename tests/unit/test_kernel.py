"""The kernel area: release ordering, the parsers' edge cases (beyond the captured
fixtures), the checks over given facts, the blacklist plan, and the var's schema."""

from __future__ import annotations

import base64

import checkrun
import pytest

from fleetcheck import varschema
from fleetcheck.facts import FactError, ParseError
from fleetcheck.facts import kernel, kernel_cmdline, kernel_modprobe, kernel_modules
from fleetcheck.facts import kernel_tainted
from fleetcheck.facts.file import FileState
from fleetcheck.remediation import PlanContext, lookup

# The block proposed for fleetcheck/data/local.yml (the report quotes it).
DEFAULTS = {
    "running": {"newest_installed": True},
    "modules": {"cramfs": "not_loaded", "freevxfs": "not_loaded", "hfs": "not_loaded",
                "hfsplus": "not_loaded", "jffs2": "not_loaded", "dccp": "not_loaded",
                "rds": "not_loaded", "tipc": "not_loaded"},
    "modules_path": "/proc/modules",
    "tainted": {"allowed": [], "path": "/proc/sys/kernel/tainted"},
    "cmdline": {"present": [], "absent": ["mitigations=off", "nokaslr", "init=/bin/sh",
                                          "init=/bin/bash"], "path": "/proc/cmdline"},
}


# -- releases ------------------------------------------------------------------------

@pytest.mark.parametrize("newer, older", [
    ("6.1.0-26-amd64", "6.1.0-9-amd64"),                       # Debian ABI numbers
    ("6.10.6+bpo-amd64", "6.1.0-26-amd64"),                    # a backport
    ("4.19.0-0.bpo.6-amd64", "4.19.0-0.bpo.4-amd64"),          # old backport scheme
    ("5.15.0-105-generic", "5.15.0-97-generic"),               # Ubuntu
    ("4.18.0-553.1.1.el8_10.x86_64", "4.18.0-553.el8_10.x86_64"),   # RHEL z-stream
    ("5.14.0-503.11.1.el9_5.x86_64", "5.14.0-427.13.1.el9_4.x86_64"),
    ("6.9.3-arch1-2", "6.9.3-arch1-1"),                        # Arch
    ("6.10.0", "6.10.0-rc7"),                                  # a release after its rc
])
def test_compare_orders_releases(newer, older):
    assert kernel.compare(newer, older) == 1 and kernel.compare(older, newer) == -1


def test_flavours_of_one_version_are_not_ordered():
    assert kernel.compare("6.1.0-26-cloud-amd64", "6.1.0-26-amd64") == 0
    assert kernel.compare("6.1.0-26-amd64", "6.1.0-26") == 0     # a declared minimum
    assert kernel.newest(["6.1.0-9-amd64", "6.1.0-26-amd64", "6.1.0-10-amd64"]) == \
        "6.1.0-26-amd64"


def test_kernel_fact_newer_and_rebuilt():
    text = ("running=6.1.0-10-amd64\nboot=6.1.0-10-amd64\nmodules=6.1.0-11-amd64\n"
            "proc_version=Linux version 6.1.0-10-amd64 (debian-kernel@lists.debian.org) "
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.38-2 (2023-07-27)\n"
            "package_version=6.1.38-4\nfleetcheck-kernel: end\n")
    k = kernel.parse(text)
    assert k.newer == ["6.1.0-11-amd64"] and k.build_version == "6.1.38-2" and k.rebuilt


@pytest.mark.parametrize("text, where", [
    ("running=a\nrunning=b\nfleetcheck-kernel: end\n", "line 2"),
    ("boot=6.1\nfleetcheck-kernel: end\n", "line 2"),
    ("running=6.1\x00\nfleetcheck-kernel: end\n", "line 1"),
    ("", "line 1"),
])
def test_kernel_fact_refuses(text, where):
    with pytest.raises(ParseError, match=where):
        kernel.parse(text)


# -- parsers --------------------------------------------------------------------------

def test_modules_builtin_and_names():
    mods = kernel_modules.parse("fleetcheck-kernel: modules\n"
                                "usb_storage 86016 3 uas, Live 0x0000000000000000 (OE)\n"
                                "fleetcheck-kernel: modules.builtin\nkernel/fs/ext4/ext4.ko\n")
    assert mods.modules[0].taints == "OE" and mods.modules[0].used_by == ["uas"]
    assert mods.state_of("usb-storage") == "loaded"
    assert mods.state_of("ext4") == "builtin" and mods.state_of("cramfs") == "absent"


def test_modules_without_unload_support():
    mods = kernel_modules.parse("loop 32768 - - Live 0xffffffffc0000000\n")
    assert mods.modules[0].refcount is None


@pytest.mark.parametrize("line", ["x 1 0 - Gone 0x0", "x 1 0 - Live zz", "x -1 0 - Live 0x0",
                                  "x 1 0 a,b;c, Live 0x0", "x 1 0 - Live 0x0 OE"])
def test_modules_refuse_garbage(line):
    with pytest.raises(ParseError, match="line 1"):
        kernel_modules.parse(line + "\n")


def test_modprobe_refusals_continuations_and_ignored_lines():
    conf = kernel_modprobe.parse_conf("# CIS\nblacklist usb-storage\ninstall cramfs \\\n"
                                      "  /bin/false\n"
                                      "install hfs /sbin/modprobe --ignore-install hfs\n"
                                      "bogus line\n", "/etc/modprobe.d/x.conf")
    assert conf.blacklisted("usb_storage") == "/etc/modprobe.d/x.conf line 2"
    assert conf.refused("cramfs") == "/etc/modprobe.d/x.conf line 3"
    assert conf.refused("hfs") is None and conf.blacklisted("hfs") is None
    assert conf.ignored == ["/etc/modprobe.d/x.conf line 6: bogus line"]


def test_modprobe_files_mode_and_showconfig_strictness():
    files = kernel_modprobe.parse("fleetcheck-kernel: modprobe.d files\n"
                                  "fleetcheck-kernel: file /etc/modprobe.d/a.conf\n"
                                  "blacklist cramfs\n\n")
    assert files.files == ["/etc/modprobe.d/a.conf"] and files.blacklisted("cramfs")
    with pytest.raises(ParseError, match="line 2"):
        kernel_modprobe.parse("fleetcheck-kernel: modprobe --showconfig\nbogus x\n"
                              + kernel_modprobe.END + "\n")


def test_tainted_unknown_bit():
    taint = kernel_tainted.parse(str((1 << 31) | 128) + "\n")
    assert [(f.letter, f.severity) for f in taint.flags] == [("D", "high"), ("?", "medium")]


def test_cmdline_quotes_and_dashes():
    line = kernel_cmdline.parse('a "b=c d" e="f g" h=i" j -- k "l m"\n')
    assert [(p.name, p.value) for p in line.params] == [
        ("a", None), ("b", "c d"), ("e", "f g"), ("h", 'i" j -- k "l'), ('m"', None)]
    assert kernel_cmdline.parse("x -- y z\n").init_args == ["y", "z"]
    assert kernel_cmdline.parse("\n").params == []


def test_commands_quote_the_path_and_refuse_bad_ones():
    hv = {"kernel": {"tainted": {"path": "/tmp/a b;id"}}}
    assert kernel_tainted.command(hv).render() == "cat -- '/tmp/a b;id'"
    for bad in ("relative", "/a/../b", "-x"):
        with pytest.raises(FactError):
            kernel_cmdline.command({"kernel": {"cmdline": {"path": bad}}})


# -- checks ----------------------------------------------------------------------------

def run_check(name, hostvars, **facts):
    """(outcome, message, evidence) of a check over given facts."""
    return checkrun.run_check("kernel", name, hostvars, **facts)


def captured(fact, case):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "fixtures" / "facts"
    module = {"kernel": kernel, "kernel_modules": kernel_modules,
              "kernel_tainted": kernel_tainted, "kernel_cmdline": kernel_cmdline,
              "kernel_modprobe": kernel_modprobe}[fact]
    return module.parse((root / fact / f"{case}.txt").read_text())


def test_defaults_are_quiet_on_this_machine():
    hv = {"kernel": DEFAULTS}
    assert run_check("test_kernel_running", hv, kernel=captured("kernel", "firecracker-vm"))[0] \
        == "skipped"
    assert run_check("test_kernel_modules", hv, kernel_modules=captured(
        "kernel_modules", "firecracker-vm"))[0] == "skipped"
    assert run_check("test_kernel_tainted", hv, kernel_tainted=captured(
        "kernel_tainted", "firecracker-vm"))[0] == "passed"
    assert run_check("test_kernel_cmdline", hv, kernel_cmdline=captured(
        "kernel_cmdline", "firecracker-vm"))[0] == "passed"


def test_defaults_are_quiet_on_a_debian_box():
    hv = {"kernel": DEFAULTS}
    outcome, _, evidence = run_check("test_kernel_modules", hv, kernel_modules=captured(
        "kernel_modules", "debian-laptop"))
    assert outcome == "passed" and evidence["states"]["cramfs"] == "absent"


def test_running_older_than_installed_and_minimum():
    hv = {"kernel": {"running": {"newest_installed": True, "minimum": "6.1.0-20"}}}
    outcome, message, evidence = run_check("test_kernel_running", hv, kernel=captured(
        "kernel", "debian12-two-kernels"))
    assert outcome == "failed" and evidence.severity == "high"
    assert "older than the installed 6.1.0-11-amd64" in message and "minimum" in message


def test_running_without_installed_kernel_judges_the_declared_version():
    hv = {"kernel": {"running": {"version": "6.1.0-26-amd64"}}}
    outcome, message, evidence = run_check("test_kernel_running", hv,
                                           kernel=captured("kernel", "firecracker-vm"))
    assert outcome == "failed" and "declared 6.1.0-26-amd64" in message
    assert evidence["newest_installed"].startswith("not applicable")


def test_modules_declared_states():
    hv = {"kernel": {"modules": {"usb-storage": "blacklisted", "dm_mod": "loaded",
                                 "cramfs": "not_loaded", "ext4": "loaded"}}}
    outcome, message, evidence = run_check(
        "test_kernel_modules", hv, kernel_modules=captured("kernel_modules", "rhcos-hyperv"),
        kernel_modprobe=captured("kernel_modprobe", "prismos-blacklist"))
    assert outcome == "failed" and evidence.severity == "low"
    assert message == "not blacklisted in modprobe.d: usb-storage"
    outcome, message, evidence = run_check(
        "test_kernel_modules", hv, kernel_modules=captured("kernel_modules", "debian-laptop"),
        kernel_modprobe=captured("kernel_modprobe", "prismos-blacklist"))
    assert "dm_mod is not loaded" in message and evidence.severity == "medium"


def test_tainted_allowed_and_severity():
    taint = captured("kernel_tainted", "docs-pwo")
    outcome, message, evidence = run_check("test_kernel_tainted",
                                           {"kernel": {"tainted": {"allowed": ["O"]}}},
                                           kernel_tainted=taint)
    assert outcome == "failed" and evidence.severity == "medium" and "O:" not in message
    assert run_check("test_kernel_tainted", {"kernel": {"tainted": {"allowed": ["P", "W", "O"]}}},
                     kernel_tainted=taint)[0] == "passed"


def test_cmdline_present_and_absent():
    line = captured("kernel_cmdline", "quoted-and-init")
    hv = {"kernel": {"cmdline": {"present": ["quiet", "acpi_osi=Windows 2020", "single"],
                                 "absent": ["acpi-sleep", "nokaslr"]}}}
    outcome, message, _ = run_check("test_kernel_cmdline", hv, kernel_cmdline=line)
    assert message == ("single is not on the kernel command line; "
                       "acpi-sleep is on the kernel command line")


# -- the plan -------------------------------------------------------------------------


def file_state(content):
    if content is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "root", base64.b64encode(content).decode())


def plan(hostvars, **facts):
    return lookup("kernel.modules")(PlanContext("kernel.modules", "web1", hostvars,
                                                checkrun.Facts(**facts)))


def test_plan_writes_the_missing_blacklists():
    hv = {"kernel": {"modules": {"usb-storage": "blacklisted", "cramfs": "blacklisted"}}}
    p = plan(hv, kernel_modprobe=captured("kernel_modprobe", "prismos-blacklist"),
             kernel_modules=captured("kernel_modules", "rhcos-hyperv"), file=file_state(None))
    (action,) = p.actions
    assert action.path == "/etc/modprobe.d/fleetcheck-blacklist.conf"
    assert action.content.decode().endswith("blacklist usb-storage\n"
                                            "install usb-storage /bin/false\n")
    assert "cramfs" not in action.content.decode()   # refused already (prismos' file)


def test_plan_keeps_the_file_and_says_a_loaded_module_stays():
    old = b"# mine\nblacklist hfs\n"
    hv = {"kernel": {"modules": {"usb_storage": "blacklisted"}}}
    p = plan(hv, kernel_modprobe=kernel_modprobe.parse_conf("blacklist hfs\n"),
             kernel_modules=kernel_modules.parse(
                 "usb_storage 86016 3 uas, Live 0x0000000000000000\n"),
             file=file_state(old))
    assert p.actions[0].content.startswith(old) and "stay loaded" in p.summary


def test_plan_refuses_when_nothing_to_write_and_hostile_names():
    done = kernel_modprobe.parse_conf("blacklist usb_storage\n")
    hv = {"kernel": {"modules": {"usb-storage": "blacklisted"}}}
    assert plan(hv, kernel_modprobe=done, kernel_modules=kernel_modules.parse(""),
                file=file_state(None)).refused
    for bad in ("-x", "a\nb", "a b", "x" * 80):
        p = plan({"kernel": {"modules": {bad: "blacklisted"}}},
                 kernel_modprobe=kernel_modprobe.parse_conf(""),
                 kernel_modules=kernel_modules.parse(""), file=file_state(None))
        assert p.refused and p.empty


# -- the var ----------------------------------------------------------------------------

def test_defaults_validate_and_mistakes_are_named():
    assert varschema.problems("kernel", DEFAULTS) == []
    assert varschema.problems("kernel", {"running": {"minimum": 6.1}}) == [
        'kernel.running.minimum: expected a release as a string (quote it: "6.1.0-26"), '
        "got a number 6.1"]
    assert varschema.problems("kernel", {"modules": {"cramfs": "gone"}})
    assert varschema.problems("kernel", {"tainted": {"allowed": ["Q"]}})
