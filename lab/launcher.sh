#!/bin/sh
# Runs as PID 1 of a new PID namespace, already inside the host's network, mount,
# UTS and IPC namespaces (see lab/core.py: _spawn). Builds the host's root from an
# overlay over the cached rootfs, pivots into it and hands PID 1 to tini.
#   launcher.sh NAME LOWER UPPER WORK MERGED
set -eu
name=$1 lower=$2 upper=$3 work=$4 merged=$5

hostname "$name"
mount --make-rprivate /
mount -t overlay "lab-$name" -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged"
cd "$merged"

mount -t proc -o nosuid,nodev,noexec proc proc
# /proc/sys read-only, except /proc/sys/net (per network namespace)
mount --bind proc/sys proc/sys
mount --bind proc/sys/net proc/sys/net
mount -o remount,bind,ro proc/sys
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs sys

mount -t tmpfs -o mode=755,size=16m,nosuid lab-dev dev
mknod -m 666 dev/null c 1 3
mknod -m 666 dev/zero c 1 5
mknod -m 666 dev/full c 1 7
mknod -m 666 dev/random c 1 8
mknod -m 666 dev/urandom c 1 9
mknod -m 666 dev/tty c 5 0
# the tun device (OpenVPN on files1: lab/faults/vpn.py); its interfaces are the host's
mkdir -p dev/net
mknod -m 600 dev/net/tun c 10 200
# the host's devices: loop devices the lab attached for it, the machine's /dev/kvm for
# a hypervisor (lab/core.py _attach_devices)
if [ -f etc/fleetcheck-lab/devices ]; then
  while read -r kind dev major minor; do
    mknod -m 660 "dev/$dev" "$kind" "$major" "$minor"
  done < etc/fleetcheck-lab/devices
fi
mkdir -p dev/pts dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts dev/pts
ln -s pts/ptmx dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev,noexec lab-shm dev/shm
ln -s /proc/self/fd dev/fd
ln -s /proc/self/fd/0 dev/stdin
ln -s /proc/self/fd/1 dev/stdout
ln -s /proc/self/fd/2 dev/stderr

mount -t tmpfs -o mode=755,nosuid,nodev,size=64m lab-run run
mount -t tmpfs -o mode=1777,nosuid,nodev,noexec,size=256m lab-tmp tmp

mkdir -p .lab-oldroot
pivot_root . .lab-oldroot
cd /
umount -l /.lab-oldroot
rmdir /.lab-oldroot
exec /usr/bin/tini -s -- /bin/sh /etc/fleetcheck-lab/init.sh
