"""Linux software RAID: ``/proc/mdstat``.

The format is written by ``md_seq_show()`` in the kernel's ``drivers/md/md.c`` plus
each personality's ``status()`` callback. One array looks like::

    md0 : active (auto-read-only) raid1 sdb1[2](S) sdc1[1] sda1[0](F)
          1953350656 blocks super 1.2 [2/1] [U_]
          [>....................]  recovery =  0.8% (16522496/1953350656) finish=1121.6min speed=28778K/sec
          bitmap: 15/15 pages [60KB], 65536KB chunk

How the ambiguous parts are read (each decision follows what md itself does):

- ``name[n]`` in the device line: ``n`` is the member's *descriptor number*
  (``rdev->desc_nr``, the superblock's device number), **not** its slot in the
  ``[UU_]`` string. After a disk replacement a fully synced member of a 2-disk
  mirror is routinely ``sdd[2]`` (index >= raid_disks). So an index >= raid_disks
  does not make a member a spare.
- Spares: the kernel prints ``(S)`` exactly for members without a slot
  (``raid_disk < 0``): idle hot spares. ``disks_spare`` counts those only.
- Rebuilding members: a member being rebuilt *has* a slot, so the kernel prints no
  flag for it; it shows only as a ``_`` in the status and as one more unflagged
  member than ``[n/m]`` says are in sync. ``disks_rebuilding`` is that difference
  (members holding a slot - disks_active). mdstat does not say *which* member it is,
  so every slotted member has role ``active``. mdadm --detail calls these
  "spare rebuilding" and counts them in "Spare Devices"; that count is
  ``disks_spare + disks_rebuilding``.
- ``(F)`` members are faulty (``disks_failed``); ``(W)`` write-mostly, ``(J)`` a
  raid4/5/6 journal, ``(R)`` a replacement being built next to the member it
  replaces (it holds a slot, so it counts as rebuilding).
- ``resync=DELAYED`` / ``resync=PENDING``: ``sync_action`` is ``"resync"`` (the word
  the kernel prints, even when the waiting work is a recovery) and ``sync_state`` is
  ``"delayed"``/``"pending"``; the progress numbers are null. A running operation
  has ``sync_state`` ``"running"``. mdstat never prints ``repair``: a requested
  repair shows as ``resync``; only /sys/block/mdX/md/sync_action tells them apart.
- ``state`` is ``active`` or ``inactive``. Kernels since 5.x print ``broken`` for a
  raid0/linear array that lost a member; that is reported as ``state="active"``
  with ``broken=True`` (and degraded), because the array is still running.
- Arrays without ``[n/m]`` (raid0, linear, inactive): ``disks_total`` and
  ``disks_active`` come from the member list: for running arrays total = members
  holding a slot or faulty, active = those not faulty; for inactive arrays total =
  every listed member, active = those without a flag.
- ``degraded`` means the array lacks redundancy, as the kernel counts it
  (``/sys/block/mdX/md/degraded``, which ``[n/m]`` prints as m = n - degraded): a
  ``_`` slot in the status or disks_active < disks_total on a running array; for an
  array without ``[n/m]`` (raid0, linear) a faulty member or ``broken``; and an
  ``inactive`` array that is not a container (the kernel is not running it: it offers
  no redundancy whatever the member list says). A faulty member does NOT by itself
  make an array degraded: once md has rebuilt its slot on a spare (``[5/5] [UUUUU]``
  beside ``sdh1[5](F)``), the array is complete and the faulty device is only left to
  be removed. ``failed_spares`` counts those faulty members outside the active set:
  ``disks_failed - disks_down`` when that is positive (mdstat does not say which
  faulty member, if any, still holds a ``_`` slot: each ``_`` slot accounts for at
  most one), so on a complete array every ``(F)`` member.
- External metadata (``super external:...``; Intel IMSM/VROC, SNIA DDF): the
  metadata is kept by mdadm/mdmon in a *container*, an md device without a
  personality that the kernel always prints ``inactive`` with every member ``(S)``
  (``md127 : inactive sdb[1](S) sda[0](S)`` / ``5288 blocks super external:imsm``).
  A container (``container``) is neither degraded nor broken: inactive is its normal
  state. The arrays inside it print ``super external:/md127/0`` (``-md127/0`` while
  mdmon blocks updates): ``member_of`` is the container's name. ``external`` is true
  for both.
- ``metadata`` is the word after ``super``; the kernel prints nothing for v0.90
  superblocks, so null means 0.90 for a persistent array.

Anything the parser does not recognise raises :class:`ParseError` with the line
number: a monitoring tool that silently skips what it does not understand reports
a broken array as healthy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import (Command, FactError, ParseError, brief, shown, to_float,
                                   to_int)

NAME = "mdstat"

DEFAULT_PATH = "/proc/mdstat"
VALUE_KINDS = {"raid.mdstat_path": values.path}
# The schema of the var (fleetcheck.varschema).
VARS = {
    "raid": {
        "type": "object", "description": "software RAID (raid.md_healthy)",
        "x-expected": "a mapping (like {arrays: [{name: md0, level: raid1, devices: 2}]})",
        "properties": {
            "mdstat_path": {"type": "string", "description": "the file to read",
                            "default": DEFAULT_PATH},
            "arrays": {
                "type": "array", "description": "arrays that must be present as declared",
                "x-expected": "a list of arrays ({name, level, devices})",
                "items": {
                    "type": "object", "description": "one array",
                    "x-expected": "an array {name, level, devices}",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "description": "md0 (or /dev/md0)"},
                        "level": {"type": "string", "description": "raid0, raid1, raid5, "
                                  "raid6, raid10, linear, ... as /proc/mdstat says it"},
                        "devices": {"type": "integer", "minimum": 1,
                                    "description": "the number of members"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
}


def command(hostvars: Mapping[str, Any]) -> Command:
    raid = hostvars.get("raid") or {}
    path = raid.get("mdstat_path", DEFAULT_PATH) if isinstance(raid, Mapping) else DEFAULT_PATH
    return Command("cat -- %s", path)


@dataclass
class MdMember:
    name: str
    index: int  # the kernel's descriptor number: not the slot in [UU_]
    role: str  # active | faulty | spare | journal | replacement
    write_mostly: bool = False
    flags: list[str] = field(default_factory=list)  # raw flag letters, e.g. ["W", "F"]


@dataclass
class MdBitmap:
    pages_used: int
    pages_total: int
    size_kb: int
    chunk_bytes: int
    file: str | None = None


@dataclass
class MdArray:
    # The DESIGN.md contract, in this order.
    name: str
    level: str | None
    state: str  # active | inactive
    disks_total: int
    disks_active: int
    disks_failed: int
    disks_down: int
    disks_spare: int
    degraded: bool
    sync_action: str | None  # resync | recovery | check | reshape (| repair)
    sync_percent: float | None
    sync_finish_min: float | None
    sync_speed_kps: int | None
    blocks: int | None  # 1 KiB blocks; null only for an inactive array with no member
    # Extras.
    sync_state: str | None = None  # running | pending | delayed | remote
    sync_done_blocks: int | None = None
    sync_total_blocks: int | None = None
    disks_rebuilding: int = 0
    read_only: bool = False
    auto_read_only: bool = False
    broken: bool = False
    failed_spares: int = 0  # faulty members outside the active set (to be removed)
    external: bool = False  # metadata kept by userspace (super external:...)
    container: bool = False  # an IMSM/DDF container: inactive by nature
    member_of: str | None = None  # the container of a member array ("md127")
    metadata: str | None = None  # "1.2", "external:imsm", ...; null: 0.90
    chunk_kb: int | None = None
    algorithm: int | None = None
    layout: str | None = None  # raid10: "2 near-copies", "2 far-copies", ...
    status: str | None = None  # the raw "UU_" string
    members: list[MdMember] = field(default_factory=list)
    bitmap: MdBitmap | None = None


@dataclass
class MdStat:
    arrays: list[MdArray] = field(default_factory=list)
    present: bool = True  # False: no /proc/mdstat (no md driver loaded)
    personalities: list[str] = field(default_factory=list)
    unused_devices: list[str] = field(default_factory=list)


# --- the line grammar -------------------------------------------------------------

_PERSONALITIES = re.compile(r"^Personalities\s*:(?P<rest>.*)$")
_DEVICE = re.compile(r"^(?P<name>[^\s:]+)\s+:\s+(?P<state>active|inactive|broken)(?=\s|$)"
                     r"(?P<rest>.*)$")
_MEMBER = re.compile(r"^(?P<name>[^\s\[\]()]+)\[(?P<index>\d+)\](?P<flags>(?:\([A-Za-z]\))*)$")
_LEVEL = re.compile(r"^[a-z][a-z0-9]*$")
_STATUS = re.compile(r"^(?P<blocks>\d+) blocks(?P<rest>.*)$")
_SUPER = re.compile(r"\bsuper (?P<super>\S+)")
_COUNTS = re.compile(r"\[(?P<total>\d+)/(?P<active>\d+)\]\s*\[(?P<status>[U_]+)\]\s*$")
_CHUNK = re.compile(r"\b(?P<kb>\d+)[kK] (?:chunks?|rounding)\b")
_ALGORITHM = re.compile(r"\balgorithm (?P<alg>\d+)")
_LAYOUT = re.compile(r"\b(?P<layout>\d+ (?:near|far|offset)-copies)")
_SYNC = re.compile(
    r"^(?:\[[=>.]*\]\s*)?"
    r"(?P<action>resync|recovery|check|reshape|repair)\s*=\s*(?P<pct>\d+(?:\.\d+)?)%"
    r"(?:\s*\((?P<done>\d+)/(?P<total>\d+)\))?"
    r"(?:\s+finish=(?P<finish>\d+(?:\.\d+)?)min)?"
    r"(?:\s+speed=(?P<speed>\d+)K/sec)?\s*$"
)
_SYNC_WAITING = re.compile(r"^(?P<action>resync|recovery|reshape|check)=(?P<what>DELAYED|PENDING|REMOTE)\s*$")
_BITMAP = re.compile(
    r"^bitmap:\s*(?P<used>\d+)/(?P<total>\d+) pages \[(?P<kb>\d+)KB\],\s*"
    r"(?P<chunk>\d+)(?P<unit>KB|B) chunk(?:,\s*file:\s*(?P<file>.+))?$"
)  # matched on a stripped line: a lazy `.+?` before `\s*$` was quadratic in its blanks
_UNUSED = re.compile(r"^unused devices:(?P<rest>.*)$")
# md.c prints "super external:%s" with the metadata_type mdadm set: a container's type
# ("imsm", "ddf") or, for an array inside one, "/<container>/<subarray>" ('-' instead
# of the first '/' while mdmon blocks updates)
_MEMBER_OF = re.compile(r"^external:[/-](?P<container>[^/\s]+)/(?P<sub>\S+)$")

_ROLE_BY_FLAG = (("F", "faulty"), ("J", "journal"), ("S", "spare"), ("R", "replacement"))


def _fail(lineno: int, reason: str, line: str | None = None) -> ParseError:
    quoted = ""
    if line is not None:
        text = line.strip()
        quoted = f": {shown(text)}" if text else ""
    return ParseError(f"line {lineno}: {reason}{quoted}")


class _Block:
    """One array while its lines are being read."""

    def __init__(self, lineno: int, name: str, state: str):
        self.lineno = lineno
        self.name = name
        self.state = state
        self.level: str | None = None
        self.read_only = False
        self.auto_read_only = False
        self.members: list[MdMember] = []
        self.status_seen = False
        self.blocks: int | None = None
        self.metadata: str | None = None
        self.counts: tuple[int, int, str] | None = None
        self.chunk_kb: int | None = None
        self.algorithm: int | None = None
        self.layout: str | None = None
        self.sync: dict[str, Any] | None = None
        self.bitmap: MdBitmap | None = None


def _parse_device_line(lineno: int, line: str) -> _Block:
    m = _DEVICE.match(line)
    assert m is not None
    block = _Block(lineno, m["name"], m["state"])
    for token in m["rest"].split():
        member = _MEMBER.match(token)
        if member:
            flags = re.findall(r"\(([A-Za-z])\)", member["flags"])
            role = "active"
            for flag, name in _ROLE_BY_FLAG:
                if flag in flags:
                    role = name
                    break
            index = to_int(member["index"], f"line {lineno}")
            block.members.append(MdMember(member["name"], index, role,
                                          write_mostly="W" in flags, flags=flags))
        elif token == "(read-only)":
            block.read_only = True
        elif token == "(auto-read-only)":
            block.auto_read_only = True
        elif _LEVEL.match(token) and block.level is None and not block.members:
            block.level = token
        else:
            raise _fail(lineno, f"unexpected word {shown(token)} in the device line of "
                                f"{brief(block.name)}")
    if block.state != "inactive" and block.level is None:
        raise _fail(lineno, f"active array {brief(block.name)} has no RAID level", line)
    return block


def _parse_status_line(block: _Block, lineno: int, line: str) -> None:
    m = _STATUS.match(line)
    assert m is not None
    if block.status_seen:
        raise _fail(lineno, f"second status line for {brief(block.name)}", line)
    block.status_seen = True
    where = f"line {lineno}"
    block.blocks = to_int(m["blocks"], where)
    rest = m["rest"]
    sup = _SUPER.search(rest)
    if sup:
        block.metadata = sup["super"]
    counts = _COUNTS.search(rest)
    if counts:
        total, active = to_int(counts["total"], where), to_int(counts["active"], where)
        status = counts["status"]
        if len(status) != total:
            raise _fail(lineno, f"{brief(block.name)}: status [{brief(status)}] has "
                                f"{len(status)} slots but the array has {total} disks", line)
        if active > total:
            raise _fail(lineno, f"{brief(block.name)}: {active} active disks of {total}", line)
        block.counts = (total, active, status)
    elif "[" in rest:
        raise _fail(lineno, f"{brief(block.name)}: unreadable [n/m] [U_] status", line)
    chunk = _CHUNK.search(rest)
    if chunk:
        block.chunk_kb = to_int(chunk["kb"], where)
    alg = _ALGORITHM.search(rest)
    if alg:
        block.algorithm = to_int(alg["alg"], where)
    layout = _LAYOUT.search(rest)
    if layout:
        block.layout = layout["layout"]


def _parse_sync_line(block: _Block, lineno: int, line: str) -> bool:
    m = _SYNC.match(line)
    if m:
        where = f"line {lineno}"
        sync = {
            "action": m["action"], "state": "running", "percent": to_float(m["pct"], where),
            "done": to_int(m["done"], where) if m["done"] else None,
            "total": to_int(m["total"], where) if m["total"] else None,
            "finish": to_float(m["finish"], where) if m["finish"] else None,
            "speed": to_int(m["speed"], where) if m["speed"] else None,
        }
    else:
        m = _SYNC_WAITING.match(line)
        if not m:
            return False
        sync = {"action": m["action"], "state": m["what"].lower(), "percent": None,
                "done": None, "total": None, "finish": None, "speed": None}
    if block.sync is not None:
        raise _fail(lineno, f"second sync line for {brief(block.name)}", line)
    if not block.status_seen:
        raise _fail(lineno, f"sync line before the status line of {brief(block.name)}", line)
    block.sync = sync
    return True


def _finish(block: _Block) -> MdArray:
    if not block.status_seen and (block.state != "inactive" or block.members):
        raise _fail(block.lineno, f"array {brief(block.name)} has no status line "
                                  "('<n> blocks ...'): truncated output?")
    members = block.members
    failed = sum(1 for m in members if m.role == "faulty")
    spare = sum(1 for m in members if m.role == "spare")
    slotted = sum(1 for m in members if m.role in ("active", "replacement"))
    inactive = block.state == "inactive"
    broken = block.state == "broken"
    status = None
    if block.counts:
        total, active, status = block.counts
        down = status.count("_")
    elif inactive:
        total, active, down = len(members), sum(1 for m in members if m.role == "active"), 0
    else:
        total, active, down = slotted + failed, slotted, 0
    rebuilding = max(0, slotted - active) if (block.counts and not inactive) else 0
    metadata = block.metadata or ""
    external = metadata.startswith("external:")
    member = _MEMBER_OF.match(metadata)
    container = external and member is None and inactive
    if inactive:
        degraded = not container
    elif block.counts:
        degraded = active < total or down > 0
    else:  # raid0/linear: every member holds data; a faulty one is data lost
        degraded = active < total or broken
    failed_spares = max(0, failed - down) if (block.counts and not inactive) else 0
    sync = block.sync or {}
    return MdArray(
        name=block.name,
        level=block.level,
        state="inactive" if inactive else "active",
        disks_total=total,
        disks_active=active,
        disks_failed=failed,
        disks_down=down,
        disks_spare=spare,
        degraded=degraded,
        sync_action=sync.get("action"),
        sync_percent=sync.get("percent"),
        sync_finish_min=sync.get("finish"),
        sync_speed_kps=sync.get("speed"),
        blocks=block.blocks,
        sync_state=sync.get("state"),
        sync_done_blocks=sync.get("done"),
        sync_total_blocks=sync.get("total"),
        disks_rebuilding=rebuilding,
        read_only=block.read_only,
        auto_read_only=block.auto_read_only,
        broken=broken,
        failed_spares=failed_spares,
        external=external,
        container=container,
        member_of=member["container"] if member else None,
        metadata=block.metadata,
        chunk_kb=block.chunk_kb,
        algorithm=block.algorithm,
        layout=block.layout,
        status=status,
        members=list(members),
        bitmap=block.bitmap,
    )


def parse(text: str) -> MdStat:
    """Parse the text of /proc/mdstat; ParseError on anything else."""
    if not isinstance(text, str):
        raise ParseError("mdstat: expected text")
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ParseError("line 1: empty input: no 'Personalities :' line")
    result = MdStat()
    seen_personalities = False
    seen_unused = False
    block: _Block | None = None

    def close() -> None:
        nonlocal block
        if block is not None:
            result.arrays.append(_finish(block))
            block = None

    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue  # blank, or the kernel's whitespace-only filler lines
        if seen_unused:
            raise _fail(lineno, "text after the 'unused devices' line", raw)
        if not seen_personalities:
            m = _PERSONALITIES.match(line)
            if not m:
                raise _fail(lineno, "not /proc/mdstat output: expected 'Personalities :'", raw)
            seen_personalities = True
            words = m["rest"].split()
            result.personalities = [w[1:-1] for w in words if w.startswith("[") and w.endswith("]")]
            continue
        if line.startswith("read_ahead"):  # 2.4-era kernels
            continue
        if _DEVICE.match(line):
            close()
            block = _parse_device_line(lineno, line)
            continue
        unused = _UNUSED.match(line)
        if unused:
            close()
            seen_unused = True
            words = unused["rest"].split()
            result.unused_devices = [w for w in words if w != "<none>"]
            continue
        if _STATUS.match(line):
            if block is None:
                raise _fail(lineno, "status line without a device line above it", raw)
            _parse_status_line(block, lineno, line)
            continue
        if block is not None and _parse_sync_line(block, lineno, line):
            continue
        bitmap = _BITMAP.match(line)
        if bitmap:
            if block is None:
                raise _fail(lineno, "bitmap line without a device line above it", raw)
            if block.bitmap is not None:
                raise _fail(lineno, f"second bitmap line for {brief(block.name)}", raw)
            where = f"line {lineno}"
            chunk = to_int(bitmap["chunk"], where) * (1024 if bitmap["unit"] == "KB" else 1)
            block.bitmap = MdBitmap(to_int(bitmap["used"], where),
                                    to_int(bitmap["total"], where),
                                    to_int(bitmap["kb"], where), chunk, bitmap["file"])
            continue
        if _SYNC.match(line) or _SYNC_WAITING.match(line):
            raise _fail(lineno, "sync line without a device line above it", raw)
        raise _fail(lineno, "unrecognised line", raw)

    close()
    if not seen_unused:
        raise ParseError(f"line {len(lines)}: truncated: no 'unused devices:' line at the end")
    return result


def from_result(rc: int, stdout: str, stderr: str) -> MdStat:
    """A missing /proc/mdstat means the md driver is not loaded: no arrays."""
    if rc != 0:
        message = (stderr or stdout or "").strip()
        if "No such file" in message:
            return MdStat(arrays=[], present=False)
        detail = message.splitlines()[-1] if message else "no output"
        raise FactError(f"reading mdstat failed (exit {rc}): {detail}")
    return parse(stdout)
