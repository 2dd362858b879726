"""DNS fixes planned on data: the lab's real zone files and named.conf.options
(tests/fixtures/dns, captured on the lab's ns1), facts given as values, no host."""

import base64
from pathlib import Path

import pytest

from fleetcheck.facts.file import FileState
from fleetcheck.facts.named_conf import parse as parse_conf
from fleetcheck.remediation import PlanContext, lookup
from fleetcheck.zoneedit import EditRefused, fix_records, load_zone, records, serial

FIX = Path(__file__).resolve().parents[1] / "fixtures"
DNS = FIX / "dns"
FWD = (DNS / "db.lab.test").read_text()
REV = (DNS / "db.47.213.10.in-addr.arpa").read_text()
REV_FAULTY = (DNS / "db.47.213.10.in-addr.arpa.faulty").read_text()  # web1 missing, app1 -old
CONF = parse_conf((FIX / "facts/named_conf/debian12_bind918_primary_axfr_open.txt").read_text())
OPTIONS_OPEN = (DNS / "named.conf.options.axfr-open").read_text()
RZONE = "47.213.10.in-addr.arpa"
DNSVARS = {"zone": "lab.test", "reverse_zone": RZONE, "master": "ns1", "slaves": ["ns2"],
           "nameservers": ["10.213.47.10", "10.213.47.11"], "transfer_key": "lab-xfer"}


def state(text: str | None) -> FileState:
    if text is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "bind", base64.b64encode(text.encode()).decode())


class Facts:
    def __init__(self, conf=CONF, **files):
        self.conf, self.files = conf, files

    def get(self, fact, /, **params):
        if fact == "named_conf":
            return self.conf
        return state(self.files.get(params["path"]))


def plan_records(host, address, fwd=FWD, rev=REV):
    master = Facts(**{"/etc/bind/db.lab.test": fwd, f"/etc/bind/db.{RZONE}": rev})
    ctx = PlanContext("dns.forward_reverse", host, {"dns": DNSVARS, "ansible_host": address},
                      Facts(), other={"ns1": master}.__getitem__)
    return lookup("dns.forward_reverse")(ctx)


def test_missing_ptr_is_added_serial_bumped_validated_before_reload():
    p = plan_records("web1", "10.213.47.30", rev=REV_FAULTY)
    assert p.target == "ns1"
    kinds = [(type(a).__name__, a.summary) for a in p.actions]
    assert [k for k, _ in kinds] == ["WriteFile", "RunCommand", "RunCommand"]
    assert p.actions[1].command.render() == \
        f"named-checkzone {RZONE} /etc/bind/db.{RZONE}"
    assert p.actions[2].command.render() == f"rndc reload {RZONE}"
    diff = p.diffs()[f"/etc/bind/db.{RZONE}"]
    assert "+30\tIN\tPTR\tweb1.lab.test." in diff
    assert "-@\tIN\tSOA\tns1.lab.test. hostmaster.lab.test. ( 2024010103 " in diff
    assert "+@\tIN\tSOA\tns1.lab.test. hostmaster.lab.test. ( 2024010104 " in diff
    new = load_zone(p.actions[0].content.decode(), RZONE)
    assert records(new, f"30.{RZONE}.", "PTR") == ["web1.lab.test."]
    assert records(new, f"31.{RZONE}.", "PTR") == ["app1-old.lab.test."]  # not ours


def test_ptr_mismatch_is_corrected_in_place():
    p = plan_records("app1", "10.213.47.31", rev=REV_FAULTY)
    diff = p.diffs()[f"/etc/bind/db.{RZONE}"]
    assert "-31\tIN\tPTR\tapp1-old.lab.test.\n+31\tIN\tPTR\tapp1.lab.test." in diff
    added = [line for line in diff.splitlines() if line.startswith("+")
             and not line.startswith("+++")]
    assert len(added) == 2   # the record and the serial, nothing else


def test_wrong_a_record_is_corrected_in_the_forward_zone():
    p = plan_records("web1", "10.213.47.30", fwd=FWD.replace("10.213.47.30", "10.213.47.99"))
    assert list(p.diffs()) == ["/etc/bind/db.lab.test"]
    assert "+web1\tIN\tA\t10.213.47.30" in p.diffs()["/etc/bind/db.lab.test"]
    assert p.actions[1].command.render() == "named-checkzone lab.test /etc/bind/db.lab.test"


def test_missing_host_gets_both_records():
    p = plan_records("db9", "10.213.47.40")
    assert set(p.diffs()) == {"/etc/bind/db.lab.test", f"/etc/bind/db.{RZONE}"}
    assert [a.command.render() for a in p.actions[2:]] == [
        "named-checkzone lab.test /etc/bind/db.lab.test",
        f"named-checkzone {RZONE} /etc/bind/db.{RZONE}",
        "rndc reload lab.test", f"rndc reload {RZONE}"]


def test_records_already_right_plan_nothing():
    p = plan_records("web1", "10.213.47.30")
    assert p.empty and not p.refused and "already" in p.reason


def test_address_outside_the_reverse_zones_is_refused():
    p = plan_records("web1", "192.0.2.7")
    assert p.refused and "reverse zone" in p.reason


def test_include_in_zone_file_is_refused():
    p = plan_records("web1", "10.213.47.30", rev="$INCLUDE /etc/bind/more\n" + REV_FAULTY)
    assert p.refused and "$INCLUDE" in p.reason


def test_serial_bump_and_edit_touch_nothing_else():
    before = load_zone(REV_FAULTY, RZONE)
    text = fix_records(REV_FAULTY, RZONE, f"30.{RZONE}.", {"PTR": ["web1.lab.test."]})
    after = load_zone(text, RZONE)
    assert serial(after) == serial(before) + 1
    assert fix_records(text, RZONE, f"30.{RZONE}.", {"PTR": ["web1.lab.test."]}) is None


def test_deleting_an_owner_line_keeps_the_owner_of_its_continuation():
    zone = FWD + "multi\tIN\tA\t10.213.47.50\n\tIN\tTXT\t\"second record of multi\"\n"
    text = fix_records(zone, "lab.test", "multi.lab.test.", {"A": []})
    new = load_zone(text, "lab.test")
    assert records(new, "multi.lab.test.", "A") == []
    assert records(new, "multi.lab.test.", "TXT") == ['"second record of multi"']


def test_unparsable_zone_is_refused():
    with pytest.raises(EditRefused):
        fix_records(FWD + "bad\tIN\tA\tnot-an-address\n", "lab.test", "web1.lab.test.",
                    {"A": ["10.213.47.30"]})


def plan_axfr(files, dnsvars=DNSVARS):
    ctx = PlanContext("dns.axfr_restricted", "ns1", {"dns": dnsvars}, Facts(**files))
    return lookup("dns.axfr_restricted")(ctx)


NAMED_CONF = ('include "/etc/bind/named.conf.options";\ninclude "/etc/bind/rndc.key";\n'
              'include "/etc/bind/named.conf.local";\n')


def test_open_axfr_gets_the_key_clause_back_validated_before_reconfig():
    p = plan_axfr({"/etc/bind/named.conf": NAMED_CONF,
                   "/etc/bind/named.conf.options": OPTIONS_OPEN})
    assert [type(a).__name__ for a in p.actions] == ["WriteFile", "RunCommand", "RunCommand"]
    assert p.actions[0].path == "/etc/bind/named.conf.options"
    diff = p.diffs()["/etc/bind/named.conf.options"]
    assert '-\tallow-transfer { any; };\n+\tallow-transfer { key "lab-xfer"; };' in diff
    assert p.actions[1].command.render() == "named-checkconf /etc/bind/named.conf"
    assert p.actions[2].command.render() == "rndc reconfig"
    fixed = p.actions[0].content.decode()
    again = plan_axfr({"/etc/bind/named.conf": NAMED_CONF,
                       "/etc/bind/named.conf.options": fixed})
    assert again.empty and not again.refused


def test_options_without_a_clause_get_one():
    options = 'options {\n\tdirectory "/var/cache/bind";\n};\n'
    p = plan_axfr({"/etc/bind/named.conf": NAMED_CONF, "/etc/bind/named.conf.options": options})
    assert '+\tallow-transfer { key "lab-xfer"; };' in p.diffs()["/etc/bind/named.conf.options"]


def test_zone_level_open_clause_and_comments():
    local = ('// allow-transfer { any; }; in a comment stays\n'
             'zone "lab.test" { type primary; file "/etc/bind/db.lab.test";\n'
             '  allow-transfer { 10.0.0.0/8; key "lab-xfer"; }; };\n')
    p = plan_axfr({"/etc/bind/named.conf": NAMED_CONF,
                   "/etc/bind/named.conf.options": OPTIONS_OPEN,
                   "/etc/bind/named.conf.local": local})
    new_local = next(a for a in p.actions if getattr(a, "path", "") ==
                     "/etc/bind/named.conf.local").content.decode()
    assert new_local.startswith("// allow-transfer { any; }; in a comment stays\n")
    assert 'allow-transfer { key "lab-xfer"; }; };' in new_local


def test_without_transfer_key_the_fix_is_refused():
    p = plan_axfr({"/etc/bind/named.conf.options": OPTIONS_OPEN},
                  {k: v for k, v in DNSVARS.items() if k != "transfer_key"})
    assert p.refused and "transfer_key" in p.reason
    p = plan_axfr({"/etc/bind/named.conf.options": OPTIONS_OPEN},
                  dict(DNSVARS, transfer_key='x"; }; allow-transfer { any'))
    assert p.refused


def test_an_owner_written_in_capitals_is_corrected_in_place():
    zone = FWD.replace("web1\t", "WEB1\t")
    text = fix_records(zone, "lab.test", "web1.lab.test.", {"A": ["10.213.47.99"]})
    assert "WEB1\tIN\tA\t10.213.47.99\n" in text and "10.213.47.30" not in text
    assert records(load_zone(text, "lab.test"), "web1.lab.test.", "A") == ["10.213.47.99"]


def test_an_edit_that_reads_back_otherwise_is_refused(monkeypatch):
    """The re-parse guard (zoneedit.zone_model through edit.verify): a writer that
    also changes another record is refused with what differs."""
    import fleetcheck.zoneedit as zoneedit
    real = zoneedit.bump_serial
    monkeypatch.setattr(zoneedit, "bump_serial", lambda text, origin: real(
        text.replace("10.213.47.31", "10.213.47.66"), origin))
    with pytest.raises(EditRefused, match="app1.lab.test. A"):
        fix_records(FWD, "lab.test", "web1.lab.test.", {"A": ["10.213.47.99"]})
