"""Build and cache the Debian rootfs every lab host runs on (the overlay's lower dir).

The rootfs is made once with debootstrap and kept under lab/cache/rootfs-<key>/,
where <key> hashes the package list (lab/packages.txt) and the recipe version
below. A changed list gives a new key, so the next build makes a new rootfs and
removes the stale ones.

The mirror is never written in this repository: it is read at run time from this
machine's apt configuration (deb822 .sources files or sources.list), else left to
debootstrap's own default.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
CACHE_DIR = LAB_DIR / "cache"
PACKAGES_FILE = LAB_DIR / "packages.txt"
SUITE = "bookworm"
# Bump when the post-debootstrap recipe (customize()) changes meaningfully.
RECIPE_VERSION = "3"
BUILD_TMPFS = Path("/run/fleetcheck-lab-build")

LAB_PKG = "fleetcheck-labpkg"
LAB_PKG_BASE_VERSION = "1.0-1"


def packages() -> list[str]:
    out = []
    for line in PACKAGES_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def cache_key() -> str:
    h = hashlib.sha256()
    h.update(("\n".join(sorted(packages())) + "\n").encode())
    h.update(f"recipe={RECIPE_VERSION} suite={SUITE}".encode())
    return h.hexdigest()[:16]


def rootfs_path() -> Path:
    return CACHE_DIR / f"rootfs-{cache_key()}"


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".ok")


def is_cached() -> bool:
    p = rootfs_path()
    return p.is_dir() and _stamp(p).exists()


def _suite_matches(suites: list[str]) -> bool:
    return SUITE in suites


def debian_mirror() -> str | None:
    """The Debian mirror this machine's apt already uses for the main suite."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        for stanza in text.split("\n\n"):
            fields: dict[str, str] = {}
            key = None
            for raw in stanza.splitlines():
                if raw.startswith("#") or not raw.strip():
                    continue
                if raw[0] in " \t" and key:
                    fields[key] += " " + raw.strip()
                    continue
                if ":" in raw:
                    key, val = raw.split(":", 1)
                    key = key.strip().lower()
                    fields[key] = val.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            if "deb" not in fields.get("types", "").split():
                continue
            if not _suite_matches(fields.get("suites", "").split()):
                continue
            if "main" not in fields.get("components", "").split():
                continue
            uris = fields.get("uris", "").split()
            if uris:
                return uris[0]
    lists = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in lists:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split("#", 1)[0].split()
            if not parts or parts[0] != "deb":
                continue
            parts = parts[1:]
            if parts and parts[0].startswith("["):
                while parts and not parts[0].endswith("]"):
                    parts = parts[1:]
                parts = parts[1:]
            if len(parts) >= 3 and _suite_matches([parts[1]]) and "main" in parts[2:]:
                return parts[0]
    return None


def _run(argv, **kw):
    kw.setdefault("check", True)
    return subprocess.run(argv, **kw)


def _pids_rooted_in(target: Path) -> list[int]:
    out = []
    t = str(target.resolve())
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            root = os.readlink(f"/proc/{d}/root")
        except OSError:
            continue
        if root == t or root.startswith(t + "/"):
            out.append(int(d))
    return out


def _mounts_under(path: Path) -> list[str]:
    p = str(path)
    res = []
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == p or mp.startswith(p + "/"):
                res.append(mp)
    return res


def _umount_under(path: Path):
    """Unmount everything below path (deepest first): never delete through a mount."""
    for mp in sorted(_mounts_under(path), key=len, reverse=True):
        if mp != str(path):
            subprocess.run(["umount", "-l", mp], check=False)


def build_lab_deb(workdir: Path, version: str, out_dir: Path) -> Path:
    """Build the tiny package the lab uses to publish real updates."""
    pkgroot = workdir / f"pkg-{version}"
    if pkgroot.exists():
        shutil.rmtree(pkgroot)
    (pkgroot / "DEBIAN").mkdir(parents=True)
    (pkgroot / "usr/share/doc" / LAB_PKG).mkdir(parents=True)
    (pkgroot / "usr/share/doc" / LAB_PKG / "VERSION").write_text(version + "\n")
    (pkgroot / "DEBIAN/control").write_text(
        f"Package: {LAB_PKG}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: fleetcheck lab <lab@lab.test>\nSection: admin\nPriority: optional\n"
        "Description: fleetcheck lab package\n a package the lab can publish updates of\n"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{LAB_PKG}_{version}_all.deb"
    _run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", str(pkgroot), str(deb)],
         stdout=subprocess.DEVNULL)
    shutil.rmtree(pkgroot)
    return deb


CUSTOMIZE = r"""
set -e
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# per-host host keys are generated by the lab; none may be shared
rm -f /etc/ssh/ssh_host_*
# the local repository every host uses (see lab/hosts.py: publish_update)
mkdir -p /srv/labrepo
dpkg -i /srv/labrepo/*.deb >/dev/null
rm -f /etc/apt/sources.list
rm -f /etc/apt/sources.list.d/*
echo 'deb [trusted=yes] file:/srv/labrepo ./' > /etc/apt/sources.list.d/labrepo.list
/usr/local/sbin/lab-repo-index
apt-get -qq -o Debug::NoLocking=1 update || true
apt-get clean
# /etc/mtab as ganesha needs it
ln -sf /proc/self/mounts /etc/mtab
"""

REPO_INDEX = r"""#!/bin/sh
# Regenerate the index of the lab's local apt repository (flat, suite bookworm-security).
set -e
cd /srv/labrepo
apt-ftparchive packages . > Packages
gzip -9c Packages > Packages.gz
apt-ftparchive \
  -o APT::FTPArchive::Release::Origin=fleetcheck-lab \
  -o APT::FTPArchive::Release::Label=fleetcheck-lab-Security \
  -o APT::FTPArchive::Release::Suite=bookworm-security \
  -o APT::FTPArchive::Release::Codename=bookworm-security \
  -o APT::FTPArchive::Release::Version=12 \
  -o APT::FTPArchive::Release::Components=main \
  -o APT::FTPArchive::Release::Architectures="all amd64" \
  release . > Release.new
mv Release.new Release
"""


BUILD_LOCK = Path("/run/fleetcheck-lab-build.lock")   # one build per machine at a time


def build(force: bool = False, log=sys.stderr, keep=()) -> Path:
    """Build (or reuse) the cached rootfs and return its path. Builds on the machine
    take turns (BUILD_LOCK: the build tmpfs is one per machine); the stale versions
    are deleted after, except those in `keep` (what a running lab stands on)."""
    target = rootfs_path()
    if is_cached() and not force:
        return target
    with open(BUILD_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_cached() and not force:   # built by the one we waited for
            return target
        return _build(target, log, {Path(k).resolve() for k in keep})


def _build(target: Path, log, keep: set[Path]) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    BUILD_TMPFS.mkdir(parents=True, exist_ok=True)
    if not _mounts_under(BUILD_TMPFS):
        _run(["mount", "-t", "tmpfs", "-o", "size=6g,mode=755", "fleetcheck-lab-build", str(BUILD_TMPFS)])
    work = BUILD_TMPFS / "rootfs"
    try:
        _umount_under(BUILD_TMPFS)
        if work.exists():
            shutil.rmtree(work)
        mirror = debian_mirror()
        argv = ["debootstrap", "--variant=minbase", "--include=" + ",".join(packages()), SUITE, str(work)]
        if mirror:
            argv.append(mirror)
        print(f"lab: debootstrap {SUITE} ({len(packages())} packages) ...", file=log, flush=True)
        res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if res.returncode != 0:
            sys.stderr.write(res.stdout[-4000:])
            raise RuntimeError("debootstrap failed")
        repo = work / "srv/labrepo"
        build_lab_deb(BUILD_TMPFS, LAB_PKG_BASE_VERSION, repo)
        idx = work / "usr/local/sbin/lab-repo-index"
        idx.write_text(REPO_INDEX)
        idx.chmod(0o755)
        _run(["chroot", str(work), "/bin/sh", "-c", CUSTOMIZE])
        # nothing the package scripts started may survive
        for pid in _pids_rooted_in(work):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        _umount_under(work)
        tmp = target.with_name(target.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        print("lab: copying rootfs into the cache ...", file=log, flush=True)
        _run(["cp", "-a", str(work), str(tmp)])
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
        _stamp(target).write_text(cache_key() + "\n")
    finally:
        _umount_under(BUILD_TMPFS)
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["umount", str(BUILD_TMPFS)], check=False, stderr=subprocess.DEVNULL)
        try:
            BUILD_TMPFS.rmdir()
        except OSError:
            pass
    # drop stale rootfs versions
    for old in CACHE_DIR.glob("rootfs-*"):
        if old.name.startswith(target.name) or old.resolve() in keep \
                or Path(str(old).removesuffix(".ok")).resolve() in keep:
            continue
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    print(f"lab: rootfs built in {time.monotonic() - t0:.0f}s at {target}", file=log, flush=True)
    return target
