"""mdstat: the command, from_result, and the cases no published capture covers.

The texts written inline here are marked as constructed: each follows the kernel's
format strings (md_seq_show / the personalities' status()), and the real-output
evidence lives in tests/fixtures/facts/mdstat.
"""

from __future__ import annotations

import pytest

from fleetcheck.facts import mdstat
from fleetcheck.facts.base import FactError, ParseError, to_jsonable

HEAD = "Personalities : [raid0] [raid1] \n"
TAIL = "unused devices: <none>\n"


def one(body: str) -> mdstat.MdArray:
    parsed = mdstat.parse(HEAD + body + TAIL)
    assert len(parsed.arrays) == 1
    return parsed.arrays[0]


# --- command -------------------------------------------------------------------------

def test_command_default_path():
    assert mdstat.command({}).render() == "cat -- /proc/mdstat"


def test_command_path_from_inventory_is_quoted():
    cmd = mdstat.command({"raid": {"mdstat_path": "/srv/x y; rm -rf /"}})
    assert cmd.render() == "cat -- '/srv/x y; rm -rf /'"


# --- from_result -----------------------------------------------------------------------

def test_missing_file_means_no_md_driver():
    md = mdstat.from_result(1, "", "cat: /proc/mdstat: No such file or directory\n")
    assert md.present is False and md.arrays == []
    assert to_jsonable(md) == {"arrays": [], "present": False, "personalities": [],
                               "unused_devices": []}


def test_other_failures_are_fact_errors():
    with pytest.raises(FactError, match="Permission denied"):
        mdstat.from_result(1, "", "cat: /proc/mdstat: Permission denied\n")
    with pytest.raises(FactError, match="exit 124"):
        mdstat.from_result(124, "", "")


def test_success_is_parsed():
    md = mdstat.from_result(0, "Personalities : \nunused devices: <none>\n", "")
    assert md.present is True and md.arrays == []


def test_success_with_garbage_is_a_parse_error():
    with pytest.raises(ParseError):
        mdstat.from_result(0, "hello\n", "")


# --- constructed cases ------------------------------------------------------------------

def test_broken_raid0_is_active_and_degraded():
    # Linux >= 5.x prints "broken" for a raid0/linear array that lost a member.
    a = one("md0 : broken raid0 sdb1[1]\n      2093056 blocks super 1.2 512k chunks\n\n")
    assert (a.state, a.broken, a.degraded, a.level) == ("active", True, True, "raid0")


def test_flags_write_mostly_replacement_journal():
    a = one("md5 : active raid1 sdc1[2](R) sdb1[1](W) sda1[0]\n"
            "      1046528 blocks super 1.2 [2/2] [UU]\n"
            "      [>....................]  recovery =  4.0% (41856/1046528) finish=0.4min speed=41856K/sec\n\n")
    roles = {m.name: (m.role, m.write_mostly, m.flags) for m in a.members}
    assert roles == {"sdc1": ("replacement", False, ["R"]), "sdb1": ("active", True, ["W"]),
                     "sda1": ("active", False, [])}
    assert a.disks_rebuilding == 1 and not a.degraded and a.sync_action == "recovery"


def test_faulty_write_mostly_member_is_faulty():
    a = one("md1 : active raid1 sdb1[1](W)(F) sda1[0]\n      1046528 blocks [2/1] [U_]\n\n")
    assert a.members[0].role == "faulty" and a.members[0].flags == ["W", "F"]
    assert (a.disks_failed, a.disks_down, a.degraded) == (1, 1, True)


def test_read_only_and_external_metadata():
    a = one("md126 : active (read-only) raid1 sda[1] sdb[0]\n"
            "      976759808 blocks super external:/md127/0 [2/2] [UU]\n\n")
    assert a.read_only and not a.auto_read_only and a.metadata == "external:/md127/0"


# --- degraded as the kernel counts it; failed spares; containers -------------------------

def test_failed_spare_beside_a_complete_mirror_is_not_degraded():
    # `mdadm --fail` of the idle spare of a 2-disk mirror: md prints (F), no (S)
    a = one("md0 : active raid1 loop2[2](F) loop1[1] loop0[0]\n"
            "      101376 blocks super 1.2 [2/2] [UU]\n      \n")
    assert (a.degraded, a.disks_failed, a.failed_spares, a.disks_spare) == (False, 1, 1, 0)


def test_faulty_member_in_its_slot_is_degraded_not_a_failed_spare():
    a = one("md0 : active raid1 loop1[1](F) loop0[0]\n"
            "      101376 blocks super 1.2 [2/1] [U_]\n      \n")
    assert (a.degraded, a.disks_failed, a.failed_spares) == (True, 1, 0)


def test_more_faulty_members_than_missing_slots():
    # each `_` slot accounts for at most one faulty member: the other is outside
    a = one("md0 : active raid1 loop2[2](F) loop1[1](F) loop0[0]\n"
            "      101376 blocks super 1.2 [2/1] [U_]\n      \n")
    assert (a.degraded, a.disks_failed, a.disks_down, a.failed_spares) == (True, 2, 1, 1)


def test_ddf_container_and_a_member_blocked_by_mdmon():
    parsed = mdstat.parse(HEAD +
                          "md126 : active raid1 sdc[1] sdb[0]\n"
                          "      1048576 blocks super external:-md127/1 [2/2] [UU]\n      \n"
                          "md127 : inactive sdc[1](S) sdb[0](S)\n"
                          "      65536 blocks super external:ddf\n       \n" + TAIL)
    member, container = parsed.arrays
    assert (member.external, member.container, member.member_of, member.degraded) == (
        True, False, "md127", False)
    assert (container.external, container.container, container.member_of,
            container.degraded, container.state) == (True, True, None, False, "inactive")


def test_inactive_member_of_a_container_is_degraded():
    # the volume inside a container that was not started: not a container itself
    a = one("md126 : inactive sda[1] sdb[0]\n"
            "      1953519616 blocks super external:/md127/0\n       \n")
    assert (a.container, a.member_of, a.degraded) == (False, "md127", True)


def test_inactive_native_array_is_degraded_not_a_container():
    a = one("md0 : inactive sdb1[1](S) sda1[0](S)\n"
            "      2093056 blocks super 1.2\n       \n")
    assert (a.external, a.container, a.degraded) == (False, False, True)


def test_inactive_array_without_members_has_no_status_line():
    # md_seq_show prints no "blocks" line when an inactive array holds no device.
    a = one("md9 : inactive\n       \n")
    assert (a.state, a.blocks, a.disks_total, a.degraded) == ("inactive", None, 0, True)


def test_external_bitmap_file_and_byte_chunk():
    a = one("md0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks [2/2] [UU]\n"
            "      bitmap: 0/1 pages [0KB], 512B chunk, file: /var/md0-bitmap\n\n")
    assert to_jsonable(a.bitmap) == {"pages_used": 0, "pages_total": 1, "size_kb": 0,
                                     "chunk_bytes": 512, "file": "/var/md0-bitmap"}


def test_linear_derives_counts_from_members():
    a = one("md3 : active linear sdc1[1] sdb1[0]\n      2093056 blocks super 1.2 0k rounding\n\n")
    assert (a.level, a.disks_total, a.disks_active, a.disks_down, a.degraded) == ("linear", 2, 2, 0, False)


@pytest.mark.parametrize("body, reason", [
    ("md0 : active raid1 sdb1[1] sda1[0]\n      100 blocks [2/2] [UUU]\n\n", "3 slots but the array has 2"),
    ("md0 : active raid1 sdb1[1] sda1[0]\n      100 blocks [2/3] [UU]\n\n", "3 active disks of 2"),
    ("md0 : active raid1 sdb1[1] sda1[0]\n      100 blocks [2/2] [UX]\n\n", "unreadable [n/m]"),
    ("md0 : active raid1 sdb1[1] sda1[0]\n      100 blocks [2/2] [UU]\n      100 blocks [2/2] [UU]\n\n",
     "second status line"),
    ("md0 : active raid1 sdb1[1] sda1[0]\n      resync=DELAYED\n      100 blocks [2/2] [UU]\n\n",
     "sync line before the status line"),
    ("md0 : active raid1 sdb1[1] sda1[0]\n      100 blocks [2/2] [UU]\n      frobnicated\n\n",
     "line 4: unrecognised line"),
    ("md0 : active raid1 sdb1[1] sda1[0]\n      100 blocks [2/2] [UU]\n"
     "      [=>...]  resync = 10.0% (10/100) finish=1.0min speed=10M/sec\n\n", "unrecognised line"),
    ("md0 : active sdb1[1] sda1[0]\n      100 blocks [2/2] [UU]\n\n", "has no RAID level"),
    ("md0 : active raid1 sdb1[x]\n      100 blocks [2/2] [UU]\n\n", "unexpected word 'sdb1[x]'"),
    ("md0 : active raid1 sdb1[1] sda1[0]\n\n", "array md0 has no status line"),
])
def test_malformed_constructed(body, reason):
    with pytest.raises(ParseError, match=__import__("re").escape(reason)):
        mdstat.parse(HEAD + body + TAIL)


def test_text_after_unused_devices():
    with pytest.raises(ParseError, match="line 3: text after the 'unused devices' line"):
        mdstat.parse(HEAD + TAIL + "md0 : active raid1 sda1[0]\n")


def test_sync_line_outside_an_array():
    with pytest.raises(ParseError, match="line 2: sync line without a device line"):
        mdstat.parse(HEAD + "      resync=PENDING\n" + TAIL)


def test_not_text():
    with pytest.raises(ParseError):
        mdstat.parse(b"Personalities : \n")  # type: ignore[arg-type]
