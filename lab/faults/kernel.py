"""The kernel area's lab faults (kernel.*). The lab's hosts share this machine's kernel
(no /proc/modules here, taint 0, one command line for all): kernel.modules,
kernel.tainted and kernel.cmdline read real captures placed on each host instead (the
lab inventory's kernel.*path vars), as an admin's kernel would show them; the lab's own
modprobe.d blacklist and `modprobe --showconfig` are real."""

from __future__ import annotations

from .base import ANY, CAPTURES, Fault

KERNEL_DIR = "/etc/fleetcheck-lab/kernel"
LAB_BLACKLIST = "/etc/modprobe.d/lab-blacklist.conf"
LAB_BLACKLIST_TEXT = "blacklist cramfs\ninstall cramfs /bin/false\n"

FAULTS = {
    "kernel-not-rebooted": Fault(ANY, "a newer kernel's modules tree is installed "
                                 "(/lib/modules/99.0.0-1-lab/modules.dep) and the host was not "
                                 "rebooted into it", "kernel.running", False),
    "module-blacklist-removed": Fault(ANY, f"the modprobe.d file that blacklists cramfs "
                                      f"({LAB_BLACKLIST}) is deleted", "kernel.modules",
                                      True),
    "module-loaded": Fault(ANY, "usb_storage (declared not_loaded) is loaded: its line in the "
                           "captured /proc/modules the host reads", "kernel.modules", False),
    "module-missing": Fault(ANY, "dm_mod (declared loaded) is not loaded: the host booted "
                            "without it (its line gone from the captured /proc/modules the "
                            "host reads)", "kernel.modules", False),
    "kernel-oops": Fault(ANY, "the kernel died once (an OOPS: taint D, 128) in the captured "
                         "taint value the host reads", "kernel.tainted", False),
    "cmdline-mitigations-off": Fault(ANY, "the host booted with mitigations=off (the captured "
                                     "command line the host reads)", "kernel.cmdline", False),
}


def host_files(lab, h) -> dict[str, str]:
    """/proc/modules of an OpenShift node (dm_mod loaded, none the baseline forbids),
    its /proc/cmdline, an untainted kernel, and the blacklist of cramfs."""
    return {f"{KERNEL_DIR}/modules": (CAPTURES / "kernel_modules/rhcos-hyperv.txt").read_text(),
            f"{KERNEL_DIR}/cmdline": (CAPTURES / "kernel_cmdline/rhcos.txt").read_text(),
            f"{KERNEL_DIR}/tainted": "0\n",
            LAB_BLACKLIST: LAB_BLACKLIST_TEXT}


NEWER_KERNEL = "/lib/modules/99.0.0-1-lab"
FIX_BLACKLIST = "/etc/modprobe.d/fleetcheck-blacklist.conf"
USB_STORAGE = "usb_storage 86016 3 uas, Live 0x0000000000000000"


def _kernel_not_rebooted(lab, h, heal):
    # /lib/modules only: /boot is what updates.applied's reboot rule reads, so this
    # fault fails kernel.running alone
    lab.sh(h.name, f"rm -rf {NEWER_KERNEL}" if heal
           else f"mkdir -p {NEWER_KERNEL} && : > {NEWER_KERNEL}/modules.dep")


def _module_blacklist_removed(lab, h, heal):
    if heal:   # the lab's file back, and the fix's own file gone
        lab.put_file(h.name, LAB_BLACKLIST, LAB_BLACKLIST_TEXT)
    lab.exec(h.name, ["rm", "-f", FIX_BLACKLIST] + ([] if heal else [LAB_BLACKLIST]),
             check=True)


def _module_loaded(lab, h, heal):
    modules = f"{KERNEL_DIR}/modules"
    lab.sh(h.name, f"sed -i '/^usb_storage /d' {modules}" if heal
           else f"grep -q '^usb_storage ' {modules} || echo '{USB_STORAGE}' >> {modules}")


def _module_missing(lab, h, heal):
    modules = f"{KERNEL_DIR}/modules"
    if heal:
        lab.put_file(h.name, modules, host_files(lab, h)[modules])
    else:
        lab.sh(h.name, f"sed -i '/^dm_mod /d' {modules}")


def _kernel_oops(lab, h, heal):
    lab.put_file(h.name, f"{KERNEL_DIR}/tainted", "0\n" if heal else "128\n")


def _cmdline_mitigations_off(lab, h, heal):
    cmdline = f"{KERNEL_DIR}/cmdline"
    lab.sh(h.name, f"sed -i 's/ mitigations=off$//' {cmdline}" if heal
           else f"grep -qw 'mitigations=off' {cmdline} || sed -i 's/$/ mitigations=off/' {cmdline}")
