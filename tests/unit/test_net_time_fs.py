"""net.listening, time.synced and fs.read_only (issue 17) over facts given as data: the
captured fixtures of their facts (tests/fixtures/facts/{listening,timesync,mounts}/),
the rules of each check, the time fix's plan, and the vars' kinds and schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.outcomes import Failed, Skipped
from jsonschema import Draft202012Validator

from checks.test_fs import test_fs as check_fs
from checks.test_net import test_listening as check_listening
from checks.test_time import test_time_synced as check_time
from fleetcheck import values
from fleetcheck.facts import listening, mounts, timesync
from fleetcheck.facts.base import ParseError
from fleetcheck.facts.service import ServiceState
from fleetcheck.fixtures import Evidence
from fleetcheck.remediation import PlanContext, lookup

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "facts"


def fixture(fact: str, case: str) -> str:
    with open(FIXTURES / fact / f"{case}.txt", encoding="utf-8", newline="") as fh:
        return fh.read()


class Facts:
    """A host's facts as data: `facts.mounts` and `facts.get("timesync", daemons=True)`."""

    def __init__(self, **values):
        self.values = values

    def get(self, fact, /, **params):
        return self.values[fact]

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


class Host:
    def __init__(self, vars, facts):
        self.name, self.vars, self.facts = "web1", vars, facts


def run(check, vars, item=None, **facts):
    """(outcome, message, evidence) of a check called as pytest would."""
    evidence = Evidence()
    fact_cache = Facts(**facts)
    args = (Host(vars, fact_cache), fact_cache) + ((item,) if item is not None else ())
    try:
        check(*args, evidence=evidence)
    except Skipped as exc:
        return "skipped", str(exc.msg), evidence
    except (Failed, AssertionError) as exc:
        # an assert's message, without pytest's rewriting of the expression after it
        return "failed", str(getattr(exc, "msg", None) or exc).split("\n")[0], evidence
    return "passed", "", evidence


# -- the local.yml block of the report: valid, and what the checks read by default ---

DEFAULTS = {
    "net_listening": {"allow_loopback": True, "expected": []},
    "time_sync": {"max_offset_ms": 500},
    "fs_baseline": {
        "remounted_ro": {"ignore": []},
        "mount_options": {"severity": "low", "require_separate": False, "mounts": {
            "/tmp": ["nodev", "nosuid", "noexec"],
            "/var/tmp": ["nodev", "nosuid", "noexec"],
            "/dev/shm": ["nodev", "nosuid", "noexec"]}},
    },
}


@pytest.mark.parametrize("module, var", [(listening, "net_listening"), (timesync, "time_sync"),
                                         (mounts, "fs_baseline")])
def test_schemas_are_valid_and_take_the_defaults(module, var):
    schema = module.VARS[var]
    Draft202012Validator.check_schema(schema)
    assert not list(Draft202012Validator(schema).iter_errors(DEFAULTS[var]))
    assert not list(values.problems(var, DEFAULTS[var], module.VALUE_KINDS))

    def walk(node, where):
        assert "description" in node, f"{where}: no description"
        for key, sub in (node.get("properties") or {}).items():
            walk(sub, f"{where}.{key}")
        for key, sub in (node.get("patternProperties") or {}).items():
            walk(sub, f"{where}{{{key}}}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{where}[]")
    walk(schema, var)


@pytest.mark.parametrize("var, value, message", [
    ("net_listening", {"allowed": ["tcp/-1"]}, "net_listening.allowed[0]: the entry"),
    ("net_listening", {"allowed": ["ssh"]}, "expected PROTO/PORT"),
    ("net_listening", {"expected": [{"proto": "sctp", "port": 1}]}, "tcp or udp"),
    ("net_listening", {"expected": [{"port": 22, "host": "x"}]}, "unknown key host"),
    ("net_listening", {"allowed": [{"proto": "tcp"}]}, "give a port or a process"),
    ("net_listening", {"allowed": ["tcp/10.0.0.1;rm:22"]}, "must be an IP address"),
    ("net_listening", {"allowed": ["udp/2000-1000"]}, "low to high"),
    ("net_listening", {"allow_loopback": "no"}, "must be true or false"),
    ("time_sync", {"max_offset_ms": -5}, "positive number of milliseconds"),
    ("time_sync", {"max_offset_ms": True}, "positive number"),
    ("fs_baseline", {"mount_options": {"mounts": {"tmp": ["nodev"]}}}, "absolute path"),
    ("fs_baseline", {"mount_options": {"mounts": {"/tmp": ["nodev,exec"]}}}, "mount option word"),
    ("fs_baseline", {"mount_options": {"mounts": {"/tmp": ["-oexec"]}}}, "must not start with '-'"),
    ("fs_baseline", {"remounted_ro": {"ignore": ["/srv/../x"]}}, "'..' component"),
])
def test_bad_values_are_refused_at_load(var, value, message):
    module = {"net_listening": listening, "time_sync": timesync, "fs_baseline": mounts}[var]
    found = list(values.problems(var, value, module.VALUE_KINDS))
    assert found and message in found[0], found


# -- net.listening ---------------------------------------------------------------------

LOOPBACK_NETNS = listening.parse(fixture("listening", "debian12_netns_loopback"))
SERVER = listening.parse(
    # written for the suite in ss -H -tulpn's form (see listening's fixtures)
    'tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=510,fd=3))\n'
    'tcp LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=510,fd=4))\n'
    'tcp LISTEN 0 100 127.0.0.1:25 0.0.0.0:* users:(("exim4",pid=800,fd=4))\n'
    'udp UNCONN 0 0 127.0.0.1:323 0.0.0.0:* users:(("chronyd",pid=612,fd=5))\n'
    'tcp LISTEN 0 5 0.0.0.0:8000 0.0.0.0:* users:(("python3",pid=4242,fd=3))\n')


def net(**listening_conf):
    return {"net_listening": dict(DEFAULTS["net_listening"], **listening_conf)}


def test_listening_default_passes_and_lists_every_listener():
    outcome, _, ev = run(check_listening, net(), listening=LOOPBACK_NETNS)
    assert outcome == "passed"
    assert ev["sockets"] == 9 and ev["allowed"] is None
    assert 'tcp 127.0.0.1%lo:8084 python3,srv,x"y (z' in ev["listening"]
    assert "tcp [::]:8083 python3,srv,x\"y (z" in ev["listening"]


def test_listening_outside_allowed_fails_medium_loopback_is_allowed():
    outcome, message, ev = run(check_listening, net(allowed=["tcp/22"]), listening=SERVER)
    assert outcome == "failed" and ev.severity == "medium"
    assert ev["unexpected"] == ["tcp 0.0.0.0:8000 python3"]
    assert "1 listener(s) not allowed: tcp 0.0.0.0:8000 python3" in message


def test_listening_loopback_judged_when_not_allowed():
    outcome, _, ev = run(check_listening, net(allowed=["tcp/22", "tcp/8000"],
                                              allow_loopback=False), listening=SERVER)
    assert outcome == "failed"
    assert ev["unexpected"] == ["tcp 127.0.0.1:25 exim4", "udp 127.0.0.1:323 chronyd"]
    outcome, _, _ = run(check_listening, net(allowed=[
        "tcp/22", "tcp/8000", "tcp/127.0.0.1:25", {"proto": "udp", "process": "chronyd"}],
        allow_loopback=False), listening=SERVER)
    assert outcome == "passed"


def test_listening_expected_missing_fails_high():
    outcome, message, ev = run(check_listening, net(expected=["tcp/22", "udp/53"]),
                               listening=SERVER)
    assert outcome == "failed" and ev.severity is None     # the check's own: high
    assert ev["missing"] == ["udp/53"] and message == "not listening: udp/53"


def test_listening_null_is_skipped():
    assert run(check_listening, {"net_listening": None}, listening=SERVER)[0] == "skipped"
    assert run(check_listening, {}, listening=SERVER)[0] == "skipped"


@pytest.mark.parametrize("entry, matched", [
    ("tcp/22", ["0.0.0.0:22", "[::]:22"]),
    ("tcp/[::]:22", ["[::]:22"]),
    ("tcp/0.0.0.0:22", ["0.0.0.0:22"]),
    ("tcp/1-1024", ["0.0.0.0:22", "[::]:22", "127.0.0.1:25"]),
    ({"port": 323}, ["127.0.0.1:323"]),
    ({"process": "sshd", "address": "::"}, ["[::]:22"]),
    ({"proto": "udp", "port": "300-400"}, ["127.0.0.1:323"]),
])
def test_rule_forms(entry, matched):
    r = listening.rule(entry)
    got = [s for s in SERVER.sockets if r.matches(s)]
    assert [listening.shown_socket(s).split()[1] for s in got] == matched


def test_wildcard_star_and_zone_sockets():
    star = [s for s in LOOPBACK_NETNS.sockets if s.address == "*"]
    assert star and not any(listening.is_loopback(s) for s in star)
    assert listening.rule("tcp/8082").matches(star[-1])
    zoned = [s for s in LOOPBACK_NETNS.sockets if s.interface == "lo"]
    assert zoned and all(listening.is_loopback(s) for s in zoned)


# -- time.synced -----------------------------------------------------------------------

def daemons(case):
    return timesync.parse(fixture("timesync", case))


SYNCED = daemons("written_daemons_systemd_chrony_synced")


def test_time_null_is_skipped():
    assert run(check_time, {"time_sync": None}, timesync=SYNCED)[0] == "skipped"


def test_time_synced_chrony_passes_with_its_offset():
    outcome, _, ev = run(check_time, DEFAULTS, timesync=SYNCED)
    assert outcome == "passed"
    assert ev["synchronized"] is True and ev["offset_ms"] == -0.012
    assert ev["daemons"]["chrony"] == {"installed": True, "running": True,
                                       "service": "chrony"}


def test_time_offset_above_threshold_is_medium():
    outcome, message, ev = run(check_time, {"time_sync": {"max_offset_ms": 0.01}}, timesync=SYNCED)
    assert outcome == "failed" and ev.severity == "medium"
    assert "0.012 ms off NTP time (at most 0.01)" in message


def test_time_no_daemon_in_the_lab_rootfs_fails():
    outcome, message, _ = run(check_time, DEFAULTS,
                              timesync=daemons("debian12_daemons_lab_rootfs_none"))
    assert outcome == "failed" and message.startswith("no time daemon installed")
    assert "time_sync: null" in message


def test_time_timesyncd_without_systemd_does_not_count():
    outcome, message, _ = run(check_time, DEFAULTS,
                              timesync=daemons("debian12_daemons_sysv_timesyncd_unit_only"))
    assert outcome == "failed"
    assert "systemd-timesyncd runs only under systemd" in message


def test_time_stopped_and_unsynchronised_and_two_daemons():
    stopped = daemons("written_daemons_sysv_chrony_stopped")
    assert run(check_time, DEFAULTS, timesync=stopped)[1] == \
        "chrony installed but not running"
    unsynced = timesync.parse(fixture("timesync", "written_daemons_systemd_chrony_synced")
                              .replace(",Normal", ",Not synchronised"))
    outcome, message, _ = run(check_time, DEFAULTS, timesync=unsynced)
    assert outcome == "failed" and "clock is not synchronised" in message
    two = timesync.parse(fixture("timesync", "written_daemons_systemd_chrony_synced")
                         .replace("daemon=ntpd installed=no running=no service=",
                                  "daemon=ntpd installed=yes running=yes service=ntpsec"))
    outcome, message, ev = run(check_time, DEFAULTS, timesync=two)
    assert outcome == "failed" and ev.severity == "medium" and "fight over" in message


def test_time_sync_unknown_passes_with_a_note():
    ntpd = timesync.parse("fleetcheck: time daemons:\ninit=sysv\n"
                          "daemon=ntpd installed=yes running=yes service=ntpsec\n")
    outcome, _, ev = run(check_time, DEFAULTS, timesync=ntpd)
    assert outcome == "passed" and ev["synchronized"] is None and "note" in ev


def time_plan(state, service=None):
    facts = Facts(timesync=state, **({"service": service} if service else {}))
    return lookup("time.synced")(PlanContext("time.synced", "web1", DEFAULTS, facts))


def test_time_fix_starts_enables_and_waits_for_chrony():
    p = time_plan(daemons("written_daemons_sysv_chrony_stopped"),
                  ServiceState("sysv", running=False, enabled=False))
    assert [a.summary for a in p.actions] == [
        "start chrony", "enable chrony at boot", "wait up to 30 s for chronyd's first sync"]
    assert p.actions[-1].command.render() == "chronyc waitsync 30 0 0 1"
    assert [a.operation for a in p.on_rollback] == ["stop", "disable"]


@pytest.mark.parametrize("case, text, reason", [
    ("debian12_daemons_lab_rootfs_none", None, "no time daemon installed"),
    ("debian12_daemons_sysv_timesyncd_unit_only", None, "no time daemon installed"),
    (None, "init=sysv\ndaemon=chrony installed=yes running=no service=chrony\n"
           "daemon=ntpd installed=yes running=no service=ntpsec\n", "several time daemons"),
    (None, "init=sysv\ndaemon=chrony installed=yes running=no service=\n",
     "no init script or unit"),
])
def test_time_fix_refuses(case, text, reason):
    state = daemons(case) if case else timesync.parse(timesync.DAEMONS_MARK + "\n" + text)
    p = time_plan(state)
    assert p.refused and reason in p.reason


def test_time_fix_has_nothing_to_do_when_a_daemon_runs():
    assert time_plan(SYNCED).empty


def test_timesync_daemons_errors_name_the_line():
    with pytest.raises(ParseError, match="line 2: expected init="):
        timesync.parse(timesync.DAEMONS_MARK + "\ninit=openrc\n")
    with pytest.raises(ParseError, match="line 4: expected 'daemon=NAME"):
        timesync.parse(timesync.DAEMONS_MARK + "\ninit=sysv\n"
                       "daemon=ntpd installed=no running=no service=\n"
                       "daemon=ntpd installed=no running=no service=\n")
    with pytest.raises(ParseError, match="line 4: NTP= expected yes or no"):
        timesync.parse(timesync.DAEMONS_MARK + "\ninit=systemd\n" + timesync.TIMEDATECTL_MARK
                       + "\nNTP=maybe\nNTPSynchronized=yes\n")


def test_old_timesync_form_unchanged():
    assert timesync.command({}).args[0] == timesync.SCRIPT
    assert "exit 0" in timesync.command({}, daemons=True).args[0]


# -- fs.read_only ------------------------------------------------------------------------

def mounted(case):
    return mounts.parse(fixture("mounts", case))


@pytest.mark.parametrize("case, broken", [
    ("debian12_chroot_tmpfs_healthy", None),
    ("debian12_chroot_unconfigured_fstab", None),
    ("debian12_chroot_tmpfs_remounted_ro", "/srv/data"),
    ("kernel6_18_ext4_errors_emergency_ro", "/srv/data"),
    ("written_kernel6_1_ext4_errors_ro", "/srv/data"),
])
def test_remounted_ro(case, broken):
    outcome, message, ev = run(check_fs, DEFAULTS, "remounted_ro", mounts=mounted(case))
    if broken is None:
        assert outcome == "passed", message
    else:
        assert outcome == "failed" and ev.severity is None        # high
        assert message == ("mounted read-only, though fstab mounts read-write: " + broken)
    if case == "debian12_chroot_tmpfs_healthy":
        assert set(ev["fstab_read_write"]) == {"/", "/tmp", "/dev/shm", "/srv/data"}


def test_remounted_ro_ignored_and_declared_ro():
    m = mounted("debian12_chroot_tmpfs_remounted_ro")
    vars = {"fs_baseline": {"remounted_ro": {"ignore": ["/srv/*"]}}}
    assert run(check_fs, vars, "remounted_ro", mounts=m)[0] == "passed"
    m.fstab[3].options.append("ro")         # fstab says ro: read-only is intended
    assert run(check_fs, DEFAULTS, "remounted_ro", mounts=m)[0] == "passed"


def test_mount_options_cis_baseline_is_low_and_tmp_not_separate_passes():
    outcome, message, ev = run(check_fs, DEFAULTS, "mount_options",
                               mounts=mounted("debian12_chroot_tmpfs_healthy"))
    assert outcome == "failed" and ev.severity == "low"
    assert message == "/tmp is mounted without noexec"
    assert ev["mounts"]["/var/tmp"] == "not a separate filesystem"
    assert ev["mounts"]["/dev/shm"]["missing"] == []


def test_mount_options_require_separate_and_severity():
    vars = {"fs_baseline": {"mount_options": dict(DEFAULTS["fs_baseline"]["mount_options"],
                                         require_separate=True, severity="medium")}}
    outcome, message, ev = run(check_fs, vars, "mount_options",
                               mounts=mounted("debian12_chroot_unconfigured_fstab"))
    assert outcome == "failed" and ev.severity == "medium"
    assert message.split("; ") == [f"{p} is not a separate filesystem"
                                   for p in ("/tmp", "/var/tmp", "/dev/shm")]


def test_fs_rules_null_and_unknown():
    m = mounted("debian12_chroot_tmpfs_healthy")
    assert run(check_fs, {"fs_baseline": {"mount_options": None}}, "mount_options", mounts=m)[0] \
        == "skipped"
    outcome, message, _ = run(check_fs, {"fs_baseline": {"mount_option": {}}}, "mount_option", mounts=m)
    assert outcome == "failed" and "not a rule" in message


def test_mounted_is_the_last_mount_on_a_point():
    m = mounts.Mounts(live=[mounts.Mount("/srv/", "a", "ext4", ["rw"]),
                            mounts.Mount("/srv", "b", "tmpfs", ["ro"])])
    assert m.mounted("/srv/").source == "b" and m.mounted("/var") is None


@pytest.mark.parametrize("text, message", [
    ("", "line 1: no line 'fleetcheck: findmnt live mounts:'"),
    (mounts.LIVE_MARK + "\n" + mounts.FSTAB_MARK + "\n", "line 2: no findmnt output"),
    (mounts.LIVE_MARK + '\n{"filesystems": [' + "[" * 5000 + "\n" + mounts.FSTAB_MARK,
     "line 2: "),
    (mounts.LIVE_MARK + '\n{"filesystems": []}\n' + mounts.FSTAB_MARK + "\n{\n  x\n",
     "line 5: not findmnt's JSON"),
    (mounts.LIVE_MARK + '\n{"filesystems": [{"target": 1, "source": null, "fstype": "x",'
     ' "options": null}]}\n' + mounts.FSTAB_MARK + "\n", "line 2: target must be a string"),
    (mounts.LIVE_MARK + "\n{}\n" + mounts.FSTAB_MARK + "\n" + mounts.FSTAB_MARK + "\n",
     "line 4: the line 'fleetcheck: findmnt --fstab:' again"),
])
def test_mounts_errors_name_the_line(text, message):
    with pytest.raises(ParseError, match="^" + message.replace("(", r"\(")):
        mounts.parse(text)


def test_mounts_command_takes_nothing_from_the_inventory():
    rendered = mounts.command({"fs_baseline": {"mount_options": {"mounts": {"/tmp; id": []}}}}).render()
    assert "id" not in rendered.replace("findmnt", "").replace("fleetcheck", "")
    assert "findmnt -J -l --fstab -o TARGET,SOURCE,FSTYPE,OPTIONS" in rendered
