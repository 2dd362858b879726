"""The kernel (LPIC-2 201): the one running is the one intended (kernel.running), the
modules the host needs are loaded and those it must not have are not (kernel.modules),
nothing tainted it that points at broken hardware or a kernel bug (kernel.tainted), and
it was booted with the parameters declared (kernel.cmdline). All of it from the var
`kernel` (fleetcheck.facts.kernel.VARS); a key null turns its check off."""

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts.kernel import compare, settings
from fleetcheck.facts.kernel_cmdline import param_key, split_declared


@pytest.mark.check("kernel.running", severity="medium",
                   facts=[when_set("kernel", "kernel", key="running")],
                   title="the running kernel is the newest installed, or the declared one",
                   compare={"kernel": ("newest", "running"),
                            "installed": (None, "installed"),
                            "build": ("package", "build")})
def test_kernel_running(host, facts, evidence):
    """A kernel update is installed but protects nothing until the host boots it: the
    running release (`uname -r`) must be the newest installed (a vmlinuz in /boot or a
    modules tree in /lib/modules; releases compared number by number, 6.1.0-26 after
    6.1.0-9, RHEL's 553.1.1 after 553; a purged kernel's leftover modules directory is
    none), and on Debian the running build the installed package's (an update that
    keeps the ABI: /proc/version against dpkg): else a reboot is due (medium). Var
    `kernel.running`: `minimum` (older is high: below the shop's patched release) and
    `version` (exactly this one, medium); `newest_installed: false` turns the first rule
    off. A host that shows no installed kernel (a container, a VM booted from a kernel
    outside its disk) cannot say whether a newer one waits: that rule is not applicable
    there. No fix: the reboot is the admin's to schedule."""
    conf = settings(host.vars, "running")
    if conf is None:
        pytest.skip("the running kernel is not judged (kernel.running is null)")
    k = facts.kernel
    evidence.add(running=k.running, installed=k.installed, newest=k.newest,
                 leftover=k.leftover, build=k.build_version, package=k.package_version)
    problems = []
    if conf.get("minimum") and compare(k.running, str(conf["minimum"])) < 0:
        problems.append(("high", f"running kernel {k.running} is older than the declared "
                         f"minimum {conf['minimum']}"))
    if conf.get("version") and k.running != str(conf["version"]):
        problems.append(("medium", f"running kernel {k.running}, declared "
                         f"{conf['version']}"))
    if conf.get("newest_installed", True):
        if not k.installed:
            evidence["newest_installed"] = ("not applicable: no kernel installed on this "
                                            "host (no /boot/vmlinuz-*, no /lib/modules): "
                                            "booted from outside (a container or a VM)")
            if not conf.get("minimum") and not conf.get("version"):
                pytest.skip("no installed kernel visible (no /boot/vmlinuz-*, no "
                            "/lib/modules): booted from outside; nothing else declared")
        elif k.newer:
            problems.append(("medium", f"running kernel {k.running} is older than the "
                             f"installed {k.newest}: reboot"))
        elif k.rebuilt:
            problems.append(("medium", f"running kernel {k.running} is build "
                             f"{k.build_version}, the installed package is "
                             f"{k.package_version}: reboot"))
    if problems:
        evidence.advice = "schedule a reboot into the newest kernel (uname -r after it)"
    evidence.judge(problems)


def _module_facts(host, item):
    rules = settings(host.vars, "modules")
    if isinstance(rules, dict) and any(v is not None for v in rules.values()):
        yield "kernel_modules"
        if "blacklisted" in rules.values():
            yield "kernel_modprobe"


@pytest.mark.check("kernel.modules", severity="medium", facts=[_module_facts],
                   title="declared modules loaded, unwanted ones not loaded or blacklisted",
                   compare={"modules": ("declared", "states"),
                            "refused by": (None, "refused_by")})
def test_kernel_modules(host, facts, evidence):
    """Var `kernel.modules` (module: state): `loaded` must be loaded or built in (a NIC
    driver, br_netfilter: medium when missing); `not_loaded` must not be loaded, and
    `blacklisted` neither and also refused in modprobe.d (`blacklist NAME` or `install
    NAME /bin/false`, as `modprobe --showconfig` reads them) so no mount or hotplug
    loads it again (the CIS filesystems and protocols nobody uses: cramfs, hfs, dccp,
    ...: attack surface, low). Loaded modules from /proc/modules (var
    `kernel.modules_path`: a captured copy elsewhere; the lab's hosts share a kernel). A
    kernel without loadable modules (no /proc/modules) loads none: not applicable unless
    a module is declared loaded or blacklisted. --remediate writes the missing
    blacklists; it never unloads a module (rmmod): a loaded one waits for a reboot."""
    rules = {name: state for name, state in (settings(host.vars, "modules") or {}).items()
             if state is not None}
    if not rules:
        pytest.skip("no module declared (var kernel.modules)")
    mods = facts.kernel_modules
    declared = set(rules.values())
    evidence.add(modules_file=mods.present, loaded=len(mods.modules), declared=rules)
    if not mods.present and declared <= {"not_loaded"}:
        pytest.skip("no loadable module support (no modules file): nothing is loaded, "
                    "nothing declared loaded")
    states = {name: mods.state_of(name) for name in rules}
    evidence["states"] = states
    problems = []
    for name, state in rules.items():
        now = states[name]
        if state == "loaded" and now == "absent":
            problems.append(("medium", f"{name} is not loaded"))
        elif state != "loaded" and now == "loaded":
            problems.append(("low", f"{name} is loaded (declared {state})"))
    if "blacklisted" in declared:
        config = facts.kernel_modprobe
        refused = {name: config.refused(name) or config.blacklisted(name)
                   for name, state in rules.items() if state == "blacklisted"}
        evidence.add(modprobe=config.source, refused_by=refused)
        missing = [name for name, where in refused.items() if where is None]
        if missing:
            problems.append(("low", f"not blacklisted in modprobe.d: {', '.join(missing)}"))
    if any(states[n] == "loaded" and rules[n] != "loaded" for n in rules):
        evidence.advice = "modprobe -r MODULE once nothing uses it (or reboot)"
    evidence.judge(problems)


@pytest.mark.check("kernel.tainted", severity="medium",
                   facts=[when_set("kernel", "kernel_tainted", key="tainted")],
                   title="the kernel is not tainted by a fault (machine check, oops, lockup)",
                   compare={"taint flags": ("allowed", "flags"), "value": (None, "value")})
def test_kernel_tainted(host, facts, evidence):
    """/proc/sys/kernel/tainted decoded flag by flag (Documentation/admin-guide/
    tainted-kernels.rst): a machine check (M), a bad page (B), a death (D: an OOPS or
    BUG) or a soft lockup (L) is high (failing hardware or a kernel bug: the kernel's
    state is suspect until a reboot); a forced module load or unload, an out-of-spec
    system, a warning (W), an ACPI override, a userspace request medium; a staging
    driver, a firmware workaround, an in-kernel test low; a proprietary, out-of-tree or
    unsigned module, a live patch info (what runs, not a fault). Flags in
    `kernel.tainted.allowed` (like [O, E] for a host with ZFS) are no finding; var
    `kernel.tainted.path` reads a captured value instead (the lab)."""
    conf = settings(host.vars, "tainted")
    if conf is None:
        pytest.skip("the taint is not judged (kernel.tainted is null)")
    taint = facts.kernel_tainted
    allowed = set(conf.get("allowed") or ())
    evidence.add(value=taint.value, flags=taint.letters, allowed=sorted(allowed))
    evidence.judge([(f.severity, f"{f.letter}: {f.description} (bit {f.bit})")
                     for f in taint.flags if f.letter not in allowed])


@pytest.mark.check("kernel.cmdline", severity="medium",
                   facts=[when_set("kernel", "kernel_cmdline", key="cmdline")],
                   title="the kernel was booted with the declared parameters",
                   compare={"command line": (None, "cmdline"),
                            "init arguments": (None, "init_args")})
def test_kernel_cmdline(host, facts, evidence):
    """/proc/cmdline split as the kernel splits it (quoted values, `--` ending the
    kernel's parameters: what follows is init's): each entry of `kernel.cmdline.present`
    given (`quiet`: with any value; `console=ttyS0`: that value among the parameter's),
    each of `kernel.cmdline.absent` not (`mitigations=off`, `init=/bin/bash`; a `name`
    alone: not at all). A parameter set in the boot loader's configuration but not here
    waits for a reboot (or was never written to grub.cfg: update-grub). Var
    `kernel.cmdline.path` reads a captured command line instead (the lab)."""
    conf = settings(host.vars, "cmdline") or {}
    present, absent = list(conf.get("present") or ()), list(conf.get("absent") or ())
    if not present and not absent:
        pytest.skip("no boot parameter declared (kernel.cmdline.present / absent)")
    line = facts.kernel_cmdline
    evidence.add(cmdline=line.raw, init_args=line.init_args)
    problems = []
    for entry in present:
        if not _given(line, str(entry)):
            problems.append(("medium", f"{entry} is not on the kernel command line"))
    for entry in absent:
        if _given(line, str(entry)):
            problems.append(("medium", f"{entry} is on the kernel command line"))
    if problems:
        evidence.advice = ("set it in GRUB_CMDLINE_LINUX (/etc/default/grub), update-grub, "
                           "reboot")
    evidence.judge(problems)


def _given(line, entry: str) -> bool:
    want = split_declared(entry)
    given = line.values_of(param_key(want.name))
    return bool(given) if want.value is None else want.value in given

