"""pytest must never collect the lab's cached rootfs or runtime state: the rootfs
holds thousands of Debian Python files (Samba's own tests among them)."""

collect_ignore = ["cache", "state"]
