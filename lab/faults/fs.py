"""The filesystem area's lab faults (fs.mounted, fs.swap, fs.automount, fs.smart).

Each lab host has its own mount namespace: fstab and mount are real (fs.mounted). Swap
is the kernel's, shared by every lab host and this machine (which has none): the
hosts read a real captured /proc/swaps (the lab inventory's fs_swap.path) and no fault
or fix ever runs swapon/swapoff. The disks are this machine's virtio disks, which
smartctl does not scan: the hosts read real smartctl JSON of real disks
(fs_smart.path). autofs is installed and `automount -m` reads the real maps, but the
kernel has no autofs filesystem, so the daemon cannot run: the lab inventory does not
judge it running (fs_automount.running: false)."""

from __future__ import annotations

from .base import ANY, CAPTURES, Fault

FS_DIR = "/etc/fleetcheck-lab/fs"
SWAPS = f"{FS_DIR}/swaps"
SMART_DIR = f"{FS_DIR}/smart"
SWAPS_OFF = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"   # after swapoff -a

SCRATCH = "/srv/lab-scratch"
SCRATCH_FSTAB = f"lab-scratch {SCRATCH} tmpfs defaults,size=4m,nodev,nosuid 0 0"
MASTER_D = "/etc/auto.master.d/lab.autofs"
AUTO_MAP = "/etc/auto.lab"
AUTO_MAP_TEXT = ("# fleetcheck lab: on-demand mounts under /srv/lab-auto\n"
                 "data -fstype=tmpfs,size=1m,nodev,nosuid :tmpfs\n"
                 "share -fstype=nfs,ro files1.lab.test:/srv/share\n")
BROKEN_MAP_TEXT = AUTO_MAP_TEXT.replace(" files1.lab.test:/srv/share", "")

FAULTS = {
    "fstab-unmounted": Fault(ANY, f"an fstab entry is added for a tmpfs on {SCRATCH} and "
                             "never mounted", "fs.mounted", True),
    "swap-off": Fault(ANY, "swap switched off (swapoff -a): the captured /proc/swaps the "
                      "host reads lists no area", "fs.swap", False),
    "automount-map-broken": Fault(ANY, f"the declared key `share` of {AUTO_MAP} loses its "
                                  "location (options alone: autofs cannot mount it)",
                                  "fs.automount", False),
    "disk-failing": Fault(ANY, "a failing disk appears: a real smartctl JSON (health FAILED, "
                          "1975 reallocated, 8 pending sectors) among the captures the host "
                          "reads", "fs.smart", False),
}


def host_files(lab, h) -> dict[str, str]:
    """A /proc/swaps with an LVM swap and a swap file, one healthy disk's smartctl JSON,
    and an autofs master entry with its map."""
    return {SWAPS: (CAPTURES / "swaps/otel-pagefile-test.txt").read_text(),
            f"{SMART_DIR}/sdb.json": (CAPTURES / "smart/scrutiny-ata-healthy.txt").read_text(),
            MASTER_D: "/srv/lab-auto /etc/auto.lab --timeout=60\n",
            AUTO_MAP: AUTO_MAP_TEXT}


def _fstab_unmounted(lab, h, heal):
    if heal:   # also what --remediate mounted
        lab.sh(h.name, f"if mountpoint -q {SCRATCH}; then umount {SCRATCH}; fi; "
                       f"sed -i '\\#^lab-scratch {SCRATCH} #d' /etc/fstab; "
                       f"rmdir {SCRATCH} 2>/dev/null; true", check=True)
    else:
        lab.sh(h.name, f"mkdir -p {SCRATCH}; grep -q '^lab-scratch ' /etc/fstab || "
                       f"echo '{SCRATCH_FSTAB}' >> /etc/fstab; "
                       f"if mountpoint -q {SCRATCH}; then umount {SCRATCH}; fi", check=True)


def _swap_off(lab, h, heal):
    lab.put_file(h.name, SWAPS, host_files(lab, h)[SWAPS] if heal else SWAPS_OFF)


def _automount_map_broken(lab, h, heal):
    lab.put_file(h.name, AUTO_MAP, AUTO_MAP_TEXT if heal else BROKEN_MAP_TEXT)


def _disk_failing(lab, h, heal):
    failing = f"{SMART_DIR}/sdc.json"
    if heal:
        lab.exec(h.name, ["rm", "-f", failing], check=True)
    else:
        lab.put_file(h.name, failing,
                     (CAPTURES / "smart/scrutiny-ata-failing.txt").read_text())
