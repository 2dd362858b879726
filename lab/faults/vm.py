"""The vm area's lab faults (vm.*): a KVM hypervisor with real guests.

app1 is also the lab's hypervisor (group `hypervisors`): it runs libvirtd (libvirt
9.0 and QEMU 7.2 from Debian 12, started as Debian's init script would, without
systemd) and three tiny guests, each Debian's cloud kernel and its initramfs from
the lab's rootfs (no image is downloaded: the kernel boots into the initramfs' shell,
rdinit=/bin/sh, which waits on the serial console: an idle guest), 96 MiB, one vCPU, a VNC console on app1's loopback
and one virtio NIC on a tap device in app1's own network namespace that is attached
to nothing: the guests have no network at all. The guests run on QEMU's TCG, not KVM:
this machine has /dev/kvm (the launcher makes its node in app1's /dev) and KVM starts
them, but nested in this machine's own VM it fails now and then to emulate an
instruction (`KVM internal error. Suberror: 1 ... emulation failure` in the guest's
QEMU log, at a `lock cmpxchg16b`), and QEMU then leaves the guest paused for good
(`virsh resume`: "Resetting the Virtual Machine is required"): seen once in a CI run
of the lab, after an hour of clean local runs. TCG costs about the same here (an idle
guest: a third of a CPU either way, measured with ps) and never pauses a guest. libvirt's own
security and cgroup layers are off (qemu.conf: the lab host is a namespace without
cgroups; QEMU runs as root), which virsh's dominfo reports as a taint.

- guest1 is declared running with autostart (libvirtd starts it when it starts: an
  /etc/libvirt/qemu/autostart link, as `virsh autostart` makes);
- guest2 is declared shut off (kept defined, started by hand when needed);
- guest3 is defined and shut off, and not declared: the spare an admin keeps.

One guest runs: an idle guest costs about a third of a CPU here (its vCPU thread,
measured with ps), and the lab shares two cores with the tests.

The faults are an admin's virsh commands: guest1 powered off (`virsh destroy`: the
plug pulled, as an admin does when a guest hangs), guest1 paused (`virsh suspend`),
guest1's autostart unset (`virsh autostart --disable`), and the undeclared guest3
started. --remediate starts, resumes and sets autostart; an undeclared guest is
reported (vm.undeclared), never stopped by a fix."""

from __future__ import annotations

import os

from .. import render
from .base import Fault

GROUP = "hypervisors"
VIRSH = "virsh -q -c qemu:///system"
QEMU_DIR = "/etc/libvirt/qemu"
# name, MAC, uuid, started at boot (autostart)
GUESTS = (("guest1", "52:54:00:fc:00:01", "a9f1c2de-0001-4c6b-9a55-f1ee7c0de001", True),
          ("guest2", "52:54:00:fc:00:02", "a9f1c2de-0002-4c6b-9a55-f1ee7c0de002", False),
          ("guest3", "52:54:00:fc:00:03", "a9f1c2de-0003-4c6b-9a55-f1ee7c0de003", False))
KVM = "/dev/kvm"
# QEMU's accelerator for the lab's guests: "qemu" (TCG), see above; "kvm" works here
# too but nested KVM pauses a guest on an emulation failure now and then
DOMAIN_TYPE = "qemu"
QEMU_CONF = """# fleetcheck lab (lab/faults/vm.py): a hypervisor in a namespace without cgroups
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
"""
START = "/etc/fleetcheck-lab/libvirtd-start"
# libvirtd, then a wait (bounded) until its autostarted guests run: ready means running
START_SCRIPT = f"""#!/bin/sh
mkdir -p /run/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt
/usr/sbin/libvirtd -d || exit 1
i=0
while [ $i -lt 300 ]; do
  running=$({VIRSH} list --name --state-running 2>/dev/null | sort | tr '\\n' ' ')
  [ "$running" = "{' '.join(g for g, _, _, auto in GUESTS if auto)} " ] && exit 0
  i=$((i+1)); sleep 0.1
done
echo "lab: the autostarted guests did not start" >&2
"""

SERVICES = {
    "libvirtd": render.LabService(process="libvirtd", pidfile="/run/libvirtd.pid",
                                  start=f"sh {START} >/dev/null"),
}

FAULTS = {
    "guest-shut-off": Fault(GROUP, "the declared running guest guest1 is powered off "
                            "(virsh destroy guest1)", "vm.guests", True),
    "guest-paused": Fault(GROUP, "the declared running guest guest1 is paused (virsh "
                          "suspend guest1)", "vm.guests", True),
    "guest-autostart-unset": Fault(GROUP, "guest1 no longer starts with the hypervisor "
                                   "(virsh autostart --disable guest1)", "vm.autostart",
                                   True),
    "guest-undeclared-running": Fault(GROUP, "the undeclared guest guest3 is started "
                                      "(virsh start guest3)", "vm.undeclared", False),
}


def char_devices(h) -> list[tuple[str, str]]:
    """The hypervisor's /dev/kvm (name in the host's /dev, the controller's path)."""
    return [("kvm", KVM)] if h.has(GROUP) and os.path.exists(KVM) else []


def _kernel(lab) -> tuple[str, str]:
    """The rootfs' cloud kernel and initramfs (the guests boot them)."""
    boot = lab._rootfs() / "boot"
    kernels = sorted(boot.glob("vmlinuz-*"))
    if not kernels:
        raise RuntimeError("the lab's rootfs has no kernel for the guests (lab/packages.txt)")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    return f"/boot/vmlinuz-{version}", f"/boot/initrd.img-{version}"


def domain_xml(name: str, mac: str, uuid: str, index: int, kernel: str, initrd: str,
               kvm: bool) -> str:
    kind = "kvm" if kvm and DOMAIN_TYPE == "kvm" else "qemu"
    return f"""<domain type='{kind}'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>96</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 rdinit=/bin/sh quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <interface type='ethernet'>
      <mac address='{mac}'/>
      <target dev='fcg{index}' managed='yes'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'/>
    <graphics type='vnc' port='-1' listen='127.0.0.1'/>
  </devices>
</domain>
"""


def host_files(lab, h) -> dict[str, str]:
    if not h.has(GROUP):
        return {}
    kernel, initrd = _kernel(lab)
    kvm = bool(char_devices(h))
    files = {"/etc/libvirt/qemu.conf": QEMU_CONF, START: START_SCRIPT}
    links = []
    for i, (name, mac, uuid, auto) in enumerate(GUESTS, start=1):
        files[f"{QEMU_DIR}/{name}.xml"] = domain_xml(name, mac, uuid, i, kernel, initrd, kvm)
        if auto:
            links.append(f"ln -sf {QEMU_DIR}/{name}.xml {QEMU_DIR}/autostart/{name}.xml")
    files["/etc/fleetcheck-lab/boot.d/vm.sh"] = (
        "# lab/faults/vm.py: the account libvirt's QEMU driver resolves at start (Debian's\n"
        "# libvirt-daemon-system makes it; the lab installs the daemon without that package)\n"
        "getent passwd libvirt-qemu >/dev/null || useradd --system --user-group "
        "--no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin "
        "libvirt-qemu\n"
        "# the guests that start with libvirtd\n"
        f"mkdir -p {QEMU_DIR}/autostart\n" + "\n".join(links) + "\n")
    return files


def _virsh(lab, h, *commands: str):
    lab.sh(h.name, "; ".join(f"{VIRSH} {c} >/dev/null 2>&1" for c in commands) + "; true")


def _state(lab, h, guest: str) -> str:
    return lab.sh(h.name, f"{VIRSH} domstate {guest} 2>/dev/null; true").stdout.strip()


def _guest_shut_off(lab, h, heal):
    if heal:
        if _state(lab, h, "guest1") == "paused":
            _virsh(lab, h, "resume guest1")
        if _state(lab, h, "guest1") != "running":
            _virsh(lab, h, "start guest1")
    else:
        _virsh(lab, h, "destroy guest1")


def _guest_paused(lab, h, heal):
    if heal:
        _guest_shut_off(lab, h, True)
    elif _state(lab, h, "guest1") == "running":
        _virsh(lab, h, "suspend guest1")


def _guest_autostart_unset(lab, h, heal):
    _virsh(lab, h, "autostart guest1" if heal else "autostart --disable guest1")


def _guest_undeclared_running(lab, h, heal):
    if heal:
        _virsh(lab, h, "destroy guest3")
    elif _state(lab, h, "guest3") != "running":
        _virsh(lab, h, "start guest3")
