"""Hostile declared values against every fix (issue 13): each is refused at load
(check_var: one line naming the var path), and, built directly into ctx.vars past
the load, refused by the plan with a reason: never an exception, never a write.
The re-parse guard catches a writer that writes more than the declaration says.

The facts are the real captured fixtures (tests/fixtures/facts, tests/fixtures/dns)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import fleetcheck.remediate.dns as dns_fix
import fleetcheck.remediate.nfs as nfs_fix
import fleetcheck.remediate.samba as samba_fix
import fleetcheck.remediate.sshd as sshd_fix
import fleetcheck.remediate.sysctl as sysctl_fix
from fleetcheck import values, zoneedit
from fleetcheck.facts import apt, exports, ganesha, smbconf
from fleetcheck.facts.exportfs import ExportTable
from fleetcheck.facts.file import FileState
from fleetcheck.facts.named_conf import parse as parse_named_conf
from fleetcheck.facts.paths import Paths
from fleetcheck.facts.pkgstate import PkgState
from fleetcheck.facts.service import ServiceState
from fleetcheck.facts.sysctl import Sysctl
from fleetcheck.inventory.hostvars import check_var
from fleetcheck.remediation import PlanContext, WriteFile, lookup
from fleetcheck.remediation.edit import verify

FIX = Path(__file__).resolve().parent.parent / "fixtures"
FACTS = FIX / "facts"
EXPORTS_BAD = (FACTS / "exports" / "lab_insecure_export.txt").read_text()
GANESHA_BAD = (FACTS / "ganesha" / "lab_insecure_export.txt").read_text()
EXPORTS_OK = (FACTS / "exports" / "lab_healthy.txt").read_text()
GANESHA_OK = (FACTS / "ganesha" / "lab_healthy.txt").read_text()
SMB_RAW = (FACTS / "smbconf" / "lab_smb_conf_raw.txt").read_text()
SSHD = "# sshd config\nInclude /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nUsePAM yes\n"
DNS = FIX / "dns"
RZONE = "47.213.10.in-addr.arpa"
FWD = (DNS / "db.lab.test").read_text()
REV = (DNS / "db.47.213.10.in-addr.arpa").read_text()
OPTIONS_OPEN = (DNS / "named.conf.options.axfr-open").read_text()
NAMED_CONF = parse_named_conf(
    (FACTS / "named_conf" / "debian12_bind918_primary_axfr_open.txt").read_text())
DNSVARS = {"zone": "lab.test", "reverse_zone": RZONE, "master": "ns1", "slaves": ["ns2"],
           "nameservers": ["10.213.47.10", "10.213.47.11"], "transfer_key": "lab-xfer"}

EXPORT = {"path": "/srv/nfs/shared", "clients": ["10.213.47.0/24"],
          "options": ["rw", "sync", "root_squash"]}
ARCHIVE = {"path": "/srv/nfs/archive", "clients": ["10.213.47.0/24"],
           "options": ["ro", "sync", "root_squash"]}
SHARE = {"name": "projects", "path": "/srv/samba/projects", "read_only": True,
         "guest_ok": True}
PUBLIC = {"name": "public", "path": "/srv/samba/public", "read_only": False,
          "guest_ok": True, "allow_guest_write": True}

SMUGGLE = '/srv/a" *(rw,no_root_squash,insecure) "/srv/b'
BIG = "/srv/" + "a" * 100_000


class Facts:
    """Facts as data: `files` by path, other facts by name (params ignored)."""

    def __init__(self, files=None, **facts):
        self.files = files or {}
        self.facts = facts

    def get(self, fact, /, **params):
        if fact == "file":
            content = self.files.get(params["path"])
            if content is None:
                return FileState(exists=False)
            raw = content if isinstance(content, bytes) else content.encode()
            return FileState(True, 0o644, "root", "root", base64.b64encode(raw).decode())
        return self.facts[fact]


def nfs_facts(etc=EXPORTS_BAD, gan=GANESHA_BAD):
    return Facts({"/etc/exports": etc, "/etc/ganesha/ganesha.conf": gan},
                 exports=exports.parse(etc), ganesha=ganesha.parse(gan),
                 exportfs=ExportTable(active=False))


def samba_facts(conf=SMB_RAW):
    return Facts({"/etc/samba/smb.conf": conf}, smbconf=smbconf.Testparm(conf=smbconf.parse(conf)),
                 paths=Paths({"/srv/samba/public": "dir", "/srv/samba/projects": "dir"}),
                 service=ServiceState("sysv", running=True, enabled=True))


class DnsFacts:
    def __init__(self, **files):
        self.files = files

    def get(self, fact, /, **params):
        if fact == "named_conf":
            return NAMED_CONF
        text = self.files.get(params["path"])
        if text is None:
            return FileState(exists=False)
        return FileState(True, 0o644, "root", "bind", base64.b64encode(text.encode()).decode())


def dns_master(fwd=FWD, rev=REV):
    return DnsFacts(**{"/etc/bind/db.lab.test": fwd, f"/etc/bind/db.{RZONE}": rev})


def run(check_id, vars, facts, item=None, host="web1", other=None):
    """The plan, which must not raise."""
    return lookup(check_id)(PlanContext(check_id, host, vars, facts, item, other=other))


def assert_refused(plan, *words):
    assert plan.refused, plan.summary
    assert plan.reason and "\n" not in plan.reason
    assert not [a for a in plan.actions if isinstance(a, WriteFile)]
    assert not plan.actions
    for word in words:
        assert word in plan.reason, plan.reason


def assert_refused_at_load(name, value, where):
    reason = check_var(name, value)
    assert reason is not None, f"{name}={value!r} passed the load"
    assert "\n" not in reason and reason.startswith(where), reason
    assert len(reason) < 400, reason


# ------------------------------------------------------------------ nfs

NFS_HOSTILE = [
    # (what is declared, the var path the load names)
    (dict(EXPORT, path=SMUGGLE), "nfs.exports[0].path"),
    (dict(EXPORT, path="/srv/a\n/srv/b *(rw,no_root_squash)"), "nfs.exports[0].path"),
    (dict(EXPORT, path="/srv/a *(rw,no_root_squash)"), "nfs.exports[0].path"),
    (dict(EXPORT, path="/srv/a;}\nEXPORT {"), "nfs.exports[0].path"),
    (dict(EXPORT, path="/srv/a}"), "nfs.exports[0].path"),
    (dict(EXPORT, path="/srv/a # comment"), "nfs.exports[0].path"),
    (dict(EXPORT, path="/srv/a\\"), "nfs.exports[0].path"),
    (dict(EXPORT, path="/srv/../etc"), "nfs.exports[0].path"),
    (dict(EXPORT, path="srv/a"), "nfs.exports[0].path"),
    (dict(EXPORT, path="/srv/a\x00b"), "nfs.exports[0].path"),
    (dict(EXPORT, path=BIG), "nfs.exports[0].path"),
    (dict(EXPORT, clients=["*(rw,no_root_squash)"]), "nfs.exports[0].clients[0]"),
    (dict(EXPORT, clients=["10.0.0.1 *"]), "nfs.exports[0].clients[0]"),
    (dict(EXPORT, clients=["-rw,no_root_squash"]), "nfs.exports[0].clients[0]"),
    (dict(EXPORT, clients=["a,b"]), "nfs.exports[0].clients[0]"),
    (dict(EXPORT, clients=["host;}"]), "nfs.exports[0].clients[0]"),
    (dict(EXPORT, clients=['"x"']), "nfs.exports[0].clients[0]"),
    (dict(EXPORT, clients=["a\nb"]), "nfs.exports[0].clients[0]"),
    (dict(EXPORT, clients="10.0.0.1 *(rw,no_root_squash)"), "nfs.exports[0].clients"),
    (dict(EXPORT, clients=[]), "nfs.exports[0].clients"),
    (dict(EXPORT, options=["rw),*(rw"]), "nfs.exports[0].options[0]"),
    (dict(EXPORT, options=["rw,no_root_squash"]), "nfs.exports[0].options[0]"),
    (dict(EXPORT, options=["-rw"]), "nfs.exports[0].options[0]"),
    (dict(EXPORT, options=["sec=sys krb5"]), "nfs.exports[0].options[0]"),
    (dict(EXPORT, options=["x" * 100_000]), "nfs.exports[0].options[0]"),
    (dict(EXPORT, options="rw,no_root_squash"), "nfs.exports[0].options"),
    (dict(EXPORT, allow_insecure="false"), "nfs.exports[0].allow_insecure"),
]


@pytest.mark.parametrize("declared, where", NFS_HOSTILE)
def test_nfs_hostile_values_are_refused_at_load_and_by_the_plan(declared, where):
    assert_refused_at_load("nfs", {"exports": [declared]}, where)
    assert_refused(run("nfs.exports", {"nfs": {"exports": [declared]}},
                       nfs_facts(EXPORTS_OK, GANESHA_OK)), where)


def test_nfs_the_security_review_case():
    """The export path of the review: refused, where it used to write a second export
    to * with rw,no_root_squash that fleetcheck's own parser read back that way."""
    p = run("nfs.exports", {"nfs": {"exports": [dict(EXPORT, path=SMUGGLE), ARCHIVE]}},
            nfs_facts())
    assert_refused(p, "nfs.exports[0].path", '"')


def test_nfs_the_writers_refuse_unchecked_values():
    with pytest.raises(values.UnsafeValue):
        exports.render_line(SMUGGLE, [("*", ["rw"])])
    with pytest.raises(values.UnsafeValue):
        exports.render_line("/srv/a", [])        # a line without clients: the world
    with pytest.raises(values.UnsafeValue):
        ganesha.render_export(1, "/srv/a", "x; } EXPORT { Path = /", "rw", "root_squash")
    with pytest.raises(values.UnsafeValue):
        ganesha.render_export(1, "/srv/a", ["x"], "rw; Squash = None", "root_squash")


def test_nfs_a_path_with_a_blank_is_quoted_in_both_files_and_reads_back():
    want = dict(EXPORT, path="/srv/nfs/my share")
    p = run("nfs.exports", {"nfs": {"exports": [EXPORT, ARCHIVE, want]}},
            nfs_facts(EXPORTS_OK, GANESHA_OK))
    assert not p.refused, p.reason
    etc = exports.parse(p.actions[0].content.decode())
    assert [c.host for c in etc.clients("/srv/nfs/my share")] == ["10.213.47.0/24"]
    gan = ganesha.parse(p.actions[1].content.decode())
    assert gan.export("/srv/nfs/my share").clients[0].clients == ["10.213.47.0/24"]
    assert 'Path = "/srv/nfs/my share";' in p.actions[1].content.decode()


def test_nfs_guard_catches_a_writer_that_adds_an_export(monkeypatch):
    real = nfs_fix.exports_line
    monkeypatch.setattr(nfs_fix, "exports_line",
                        lambda want: real(want) + "\n/srv\t*(rw,no_root_squash)")
    p = run("nfs.exports", {"nfs": {"exports": [EXPORT, ARCHIVE]}}, nfs_facts())
    assert_refused(p, "/etc/exports", "not intended", "no_root_squash")


def test_nfs_guard_catches_a_writer_that_drops_another_line(monkeypatch):
    real = nfs_fix.rewrite_exports
    monkeypatch.setattr(nfs_fix, "rewrite_exports",
                        lambda text, wanted: real(text, wanted).split("\n", 1)[1])
    p = run("nfs.exports", {"nfs": {"exports": [EXPORT, ARCHIVE]}}, nfs_facts())
    assert_refused(p, "/etc/exports", "other lines")


def test_nfs_guard_catches_a_ganesha_writer_that_opens_the_export(monkeypatch):
    real = nfs_fix.ganesha_block
    monkeypatch.setattr(nfs_fix, "ganesha_block", lambda want, export_id: real(
        want, export_id).replace("Access_Type = None;", "Access_Type = RW;"))
    p = run("nfs.exports", {"nfs": {"exports": [EXPORT, ARCHIVE]}}, nfs_facts())
    assert_refused(p, "ganesha.conf", "declared exports")


def test_nfs_guard_catches_a_duplicate_export_id(monkeypatch):
    monkeypatch.setattr(nfs_fix, "ganesha_block", lambda want, export_id, real=nfs_fix.
                        ganesha_block: real(want, 2))
    p = run("nfs.exports", {"nfs": {"exports": [EXPORT, ARCHIVE]}}, nfs_facts())
    assert_refused(p, "Export_Ids used twice")


def test_nfs_declared_twice_and_not_a_mapping():
    assert_refused(run("nfs.exports", {"nfs": {"exports": [EXPORT, EXPORT]}}, nfs_facts()),
                   "declared twice")
    assert_refused(run("nfs.exports", {"nfs": "exports"}, nfs_facts()), "mapping")
    assert_refused(run("nfs.exports", {"nfs": {"exports": "/srv"}}, nfs_facts()),
                   "nfs.exports")


def test_nfs_an_insecure_declaration_needs_allow_insecure():
    world = dict(EXPORT, clients="*", options=["rw", "no_root_squash"])
    assert_refused(run("nfs.exports", {"nfs": {"exports": [world, ARCHIVE]}}, nfs_facts()),
                   "declares", "allow_insecure")
    p = run("nfs.exports", {"nfs": {"exports": [dict(world, allow_insecure=True), ARCHIVE]}},
            nfs_facts())
    assert not p.refused, p.reason


def test_nfs_a_comment_ending_in_a_backslash_does_not_take_the_next_line():
    text = ("/srv/nfs/shared\t*(rw,no_root_squash) # see \\\n/srv/other\th(ro)\n"
            "/srv/nfs/archive \\\n  10.213.47.0/24(rw) \\\n  g(ro)\n")
    p = run("nfs.exports", {"nfs": {"exports": [EXPORT, ARCHIVE]}}, nfs_facts(text, GANESHA_OK))
    assert p.actions[0].content.decode() == (
        "/srv/nfs/shared\t10.213.47.0/24(rw,sync,root_squash,no_subtree_check)\n"
        "/srv/other\th(ro)\n"
        "/srv/nfs/archive\t10.213.47.0/24(ro,sync,root_squash,no_subtree_check)\n")


def test_nfs_unreadable_current_file_is_refused_not_raised():
    facts = nfs_facts()
    facts.files["/etc/exports"] = '/srv/a "unbalanced\n'
    assert_refused(run("nfs.exports", {"nfs": {"exports": [EXPORT, ARCHIVE]}}, facts))
    facts = nfs_facts()
    facts.files["/etc/exports"] = EXPORTS_BAD.encode() + b"# caf\xe9\n"
    assert_refused(run("nfs.exports", {"nfs": {"exports": [EXPORT, ARCHIVE]}}, facts),
                   "UTF-8")


# ------------------------------------------------------------------ samba

SAMBA_HOSTILE = [
    (dict(SHARE, name="x]\n[global"), "samba.shares[0].name"),
    (dict(SHARE, name="[global]"), "samba.shares[0].name"),
    (dict(SHARE, name="global"), "samba.shares[0].name"),
    (dict(SHARE, name="Homes"), "samba.shares[0].name"),
    (dict(SHARE, name="a=b"), "samba.shares[0].name"),
    (dict(SHARE, name="-x"), "samba.shares[0].name"),
    (dict(SHARE, name="a\x00b"), "samba.shares[0].name"),
    (dict(SHARE, name="x" * 81), "samba.shares[0].name"),
    (dict(SHARE, name="x" * 100_000), "samba.shares[0].name"),
    (dict(SHARE, name=" padded "), "samba.shares[0].name"),
    (dict(SHARE, path="/srv/a\n[evil]\npath = /"), "samba.shares[0].path"),
    (dict(SHARE, path="/srv/a\\"), "samba.shares[0].path"),
    (dict(SHARE, path="/srv/%U"), "samba.shares[0].path"),
    (dict(SHARE, path="/srv/../etc"), "samba.shares[0].path"),
    (dict(SHARE, path="/srv/a "), "samba.shares[0].path"),
    (dict(SHARE, path=BIG), "samba.shares[0].path"),
    (dict(SHARE, guest_ok="no"), "samba.shares[0].guest_ok"),
    (dict(SHARE, read_only="false"), "samba.shares[0].read_only"),
]


@pytest.mark.parametrize("declared, where", SAMBA_HOSTILE)
def test_samba_hostile_values_are_refused_at_load_and_by_the_plan(declared, where):
    assert_refused_at_load("samba", {"shares": [declared]}, where)
    assert_refused(run("samba.shares", {"samba": {"shares": [declared, PUBLIC]}},
                       samba_facts()), where)


def test_samba_hostile_config_and_service():
    assert_refused_at_load("samba", {"config": "etc/smb.conf"}, "samba.config")
    assert_refused_at_load("samba", {"service": "-smbd"}, "samba.service")
    assert_refused(run("samba.shares", {"samba": {"shares": [SHARE], "service": "../x"}},
                       samba_facts()), "samba.service")
    assert_refused(run("samba.shares", {"samba": ["x"]}, samba_facts()), "mapping")


def test_samba_guard_catches_a_writer_that_adds_a_parameter(monkeypatch):
    real = samba_fix.set_share
    monkeypatch.setattr(samba_fix, "set_share", lambda text, want: real(text, want).replace(
        "[global]\n", "[global]\n\tusershare allow guests = yes\n"))
    broken = SMB_RAW.replace("read only = yes", "read only = no")
    p = run("samba.shares", {"samba": {"shares": [PUBLIC, SHARE]}}, samba_facts(broken))
    assert_refused(p, "smb.conf", "[global]")


def test_samba_guard_catches_a_later_duplicate_section():
    """A second [projects] further down would override the restored one."""
    broken = SMB_RAW.replace("read only = yes", "read only = no") + \
        "\n[projects]\n\tpath = /tmp\n"
    p = run("samba.shares", {"samba": {"shares": [PUBLIC, SHARE]}}, samba_facts(broken))
    assert_refused(p, "[projects]")


# ------------------------------------------------------------------ sshd

SSHD_HOSTILE = [
    ({"PermitRootLogin": "no\nPermitEmptyPasswords yes"}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": "no # yes"}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": "#no"}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": '"no"'}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": "no\\"}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": "=yes"}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": "a\x00b"}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": "x" * 100_000}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": {"a": "no"}}, "sshd.PermitRootLogin"),
    ({"PermitRootLogin": ["no", "#x"]}, "sshd.PermitRootLogin"),
    ({"Match": "all"}, "sshd key"),
    ({"Include": "/tmp/evil.conf"}, "sshd key"),
    ({"PermitRootLogin no\nX": "yes"}, "sshd key"),
    ({"-oProxyCommand": "x"}, "sshd key"),
]


@pytest.mark.parametrize("settings, where", SSHD_HOSTILE)
def test_sshd_hostile_values_are_refused_at_load_and_by_the_plan(settings, where):
    assert_refused_at_load("sshd", settings, where)
    (key,) = settings
    assert_refused(run("sshd.config", {"sshd": settings}, Facts({"/etc/ssh/sshd_config": SSHD}),
                       item=key), where)


def test_sshd_first_global_occurrence_not_one_in_a_match_block():
    text = SSHD.replace("PermitRootLogin yes\n", "") + \
        "Match User backup\n\tPasswordAuthentication yes\n"
    p = run("sshd.config", {"sshd": {"PasswordAuthentication": "no"}},
            Facts({"/etc/ssh/sshd_config": text}), item="PasswordAuthentication")
    after = p.actions[0].content.decode()
    assert after.splitlines()[1] == "PasswordAuthentication no"
    assert after.endswith("Match User backup\n\tPasswordAuthentication yes\n")


def test_sshd_guard_catches_a_writer_that_adds_a_directive(monkeypatch):
    real = sshd_fix.set_keyword
    monkeypatch.setattr(sshd_fix, "set_keyword", lambda *a, **k: real(*a, **k) +
                        "PermitEmptyPasswords yes\n")
    p = run("sshd.config", {"sshd": {"PermitRootLogin": "no"}},
            Facts({"/etc/ssh/sshd_config": SSHD}), item="PermitRootLogin")
    assert_refused(p, "sshd_config", "permitemptypasswords")


def test_sshd_reader_reads_as_sshd():
    read = sshd_fix.read_sshd_config
    assert read("# c\nPort=22\n  Ciphers  a,b # c\nAllowUsers \"a b\" c\\ d\n"
                "Match User x\n X yes\n") == [
        ("port", ("22",), None), ("ciphers", ("a,b",), None),
        ("allowusers", ("a b", "c d"), None), ("match", ("User", "x"), ("User", "x")),
        ("x", ("yes",), ("User", "x"))]
    with pytest.raises(ValueError):
        read('Banner "unterminated\n')


# ------------------------------------------------------------------ sysctl

SYSCTL_HOSTILE = [
    ({"net.ipv4.ip_forward\n": 0}, "sysctl key"),
    ({"net.ipv4.ip_forward\nkernel.modprobe": 0}, "sysctl key"),
    ({"-net.ipv4.ip_forward": 0}, "sysctl key"),
    ({"net.ipv4.ip_forward = 1 #": 0}, "sysctl key"),
    ({"net.ipv4.ip_forward": "0\nkernel.core_pattern = |/tmp/x"}, "sysctl.net.ipv4.ip_forward"),
    ({"net.ipv4.ip_forward": "0\x00"}, "sysctl.net.ipv4.ip_forward"),
    ({"net.ipv4.ip_forward": "   "}, "sysctl.net.ipv4.ip_forward"),
    ({"net.ipv4.ip_forward": [{"a": 1}]}, "sysctl.net.ipv4.ip_forward"),
    ({"net.ipv4.ip_forward": {"a": 1}}, "sysctl.net.ipv4.ip_forward"),
    ({"net.ipv4.ip_forward": "1" * 100_000}, "sysctl.net.ipv4.ip_forward"),
]


@pytest.mark.parametrize("settings, where", SYSCTL_HOSTILE)
def test_sysctl_hostile_values_are_refused_at_load_and_by_the_plan(settings, where):
    assert_refused_at_load("sysctl", settings, where)
    (key,) = settings
    assert_refused(run("sysctl.value", {"sysctl": settings},
                       Facts(sysctl=Sysctl({"net.ipv4.ip_forward": "1"})), item=key), where)


def test_sysctl_value_with_equals_and_hash_is_data_and_reads_back():
    p = run("sysctl.value", {"sysctl": {"kernel.core_pattern": "core=%e #%p"}},
            Facts(sysctl=Sysctl({"kernel.core_pattern": "core"})), item="kernel.core_pattern")
    written = p.actions[0].content.decode()
    assert sysctl_fix.read_sysctl_d(written) == {"kernel.core_pattern": "core=%e #%p"}


def test_sysctl_guard_catches_a_later_line_that_overrides():
    persisted = b"net.ipv4.ip_forward = 1\nnet.ipv4.ip_forward = 1\n"
    p = run("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": 0}},
            Facts({sysctl_fix.PERSIST: persisted}, sysctl=Sysctl({"net.ipv4.ip_forward": "1"})),
            item="net.ipv4.ip_forward")
    assert_refused(p, "net.ipv4.ip_forward")


def test_sysctl_guard_catches_a_writer_that_adds_a_key(monkeypatch):
    real = sysctl_fix.set_keyword
    monkeypatch.setattr(sysctl_fix, "set_keyword", lambda *a, **k: real(*a, **k) +
                        "kernel.modules_disabled = 0\n")
    p = run("sysctl.value", {"sysctl": {"net.ipv4.ip_forward": 0}},
            Facts(sysctl=Sysctl({"net.ipv4.ip_forward": "1"})), item="net.ipv4.ip_forward")
    assert_refused(p, "kernel.modules_disabled")


# ------------------------------------------------------------------ service, updates

@pytest.mark.parametrize("name", ["-x", "../x", "a/b", "a\nb", "a\x00", "x" * 100_000])
def test_service_hostile_names_are_refused_at_load_and_by_the_plan(name):
    assert_refused_at_load("services", [name], "services[0]")
    assert_refused(run("service.running", {"services": [name]},
                       Facts(service=ServiceState("sysv", running=False, enabled=False)),
                       item=name), "the service")


@pytest.mark.parametrize("updates", ["auto", ["auto_apply"],
                                     {"auto_apply": "yes"},
                                     {"auto_apply": True, "max_list_age_days": "x\n"},
                                     {"auto_apply": True, "max_list_age_days": float("nan")},
                                     {"auto_apply": True, "security_suites": 3}])
def test_updates_hostile_vars_are_refused_by_the_plan(updates):
    state = PkgState(now=1_000_000, manager="apt", lists_mtime=1_000_000 - 3600)
    sim = apt.parse((FACTS / "apt" / "lab_security_update.txt").read_text())
    assert_refused(run("updates.applied", {"updates": updates}, Facts(pkgstate=state, apt=sim)))


def test_updates_unknown_manager_is_refused():
    state = PkgState(now=1_000_000, manager="zypper", lists_mtime=1_000_000 - 3600)
    assert_refused(run("updates.applied", {"updates": {"auto_apply": True}},
                       Facts(pkgstate=state)), "zypper")


# ------------------------------------------------------------------ dns

def plan_records(host="web1", address="10.213.47.30", dnsvars=DNSVARS, extra=None,
                 master=None):
    master = master or dns_master(rev=REV.replace("30\tIN\tPTR\tweb1.lab.test.\n", ""))
    vars = {"dns": dnsvars, "ansible_host": address, **(extra or {})}
    return run("dns.forward_reverse", vars, DnsFacts(), host=host,
               other={"ns1": master}.__getitem__)


@pytest.mark.parametrize("var, value, where", [
    ("dns_addresses", ["10.213.47.30; evil"], "dns_addresses[0]"),
    ("dns_addresses", ["fe80::1%eth0\n@ IN NS evil."], "dns_addresses[0]"),
    ("dns_addresses", ["fe80::1%x;y"], "dns_addresses[0]"),
    ("dns_addresses", "10.213.47.30", "dns_addresses"),
    ("dns", dict(DNSVARS, zone='lab.test"; };'), "dns.zone"),
    ("dns", dict(DNSVARS, zone="lab.test\n"), "dns.zone"),
    ("dns", dict(DNSVARS, reverse_zone="-x"), "dns.reverse_zone"),
    ("dns", dict(DNSVARS, master="ns1;x"), "dns.master"),
])
def test_dns_hostile_values_are_refused_at_load_and_by_the_plan(var, value, where):
    assert_refused_at_load(var, value, where)
    extra = {var: value} if var != "dns" else {}
    dnsvars = value if var == "dns" else DNSVARS
    assert_refused(plan_records(dnsvars=dnsvars, extra=extra), where)


@pytest.mark.parametrize("host", ["web1;x", "web1 IN A 1.2.3.4", "web1\nevil", "-web1",
                                  "evil.example.com", "*"])
def test_dns_hostile_host_names_are_refused_by_the_plan(host):
    assert_refused(plan_records(host=host))


@pytest.mark.parametrize("key", ['x"; }; allow-transfer { any', "lab-xfer\n", "*",
                                 "lab xfer", "a{b}", "x" * 100_000])
def test_dns_hostile_transfer_key_is_refused_at_load_and_by_the_plan(key):
    assert_refused_at_load("dns", dict(DNSVARS, transfer_key=key), "dns.transfer_key")
    files = {"/etc/bind/named.conf": 'include "/etc/bind/named.conf.options";\n',
             "/etc/bind/named.conf.options": OPTIONS_OPEN}
    assert_refused(run("dns.axfr_restricted", {"dns": dict(DNSVARS, transfer_key=key)},
                       DnsFacts(**files), host="ns1"), "dns.transfer_key")


def test_dns_hostile_include_path_from_the_host_is_refused():
    files = {"/etc/bind/named.conf": 'include "/etc/../etc/shadow";\n'}
    assert_refused(run("dns.axfr_restricted", {"dns": DNSVARS}, DnsFacts(**files), host="ns1"),
                   "included file")


def test_dns_zone_guard_catches_a_writer_that_adds_a_record(monkeypatch):
    real = zoneedit.set_records
    monkeypatch.setattr(zoneedit, "set_records", lambda *a: real(*a) + "evil\tIN\tA\t10.6.6.6\n")
    assert_refused(plan_records(), "not intended", "evil.47.213.10.in-addr.arpa. A")


def test_dns_named_conf_guard_catches_an_edit_outside_the_clauses():
    before = OPTIONS_OPEN
    after = zoneedit.restrict_transfers(before, "lab-xfer", options_needed=True)
    expected = zoneedit.transfers_intended("lab-xfer", True)
    assert verify(zoneedit.named_model, before, after, expected, what="x") is None
    bad = after.replace("};", '}; zone "evil" { type primary; file "/tmp/x"; };', 1)
    why = verify(zoneedit.named_model, before, bad, expected, what="named.conf")
    assert why and "statements" in why
    opened = after.replace('key "lab-xfer";', "any;")
    assert "allow-transfer clauses" in verify(zoneedit.named_model, before, opened, expected,
                                              what="named.conf")


def test_dns_addresses_are_canonical_and_without_zone_index():
    class Ctx:
        host = "web1"
        vars = {"dns_addresses": ["10.213.47.30", "FD00:0:0::1"]}
    assert dns_fix._addresses(Ctx) == (["10.213.47.30", "fd00::1"], None)
    Ctx.vars = {"ansible_host": "fe80::1%eth0"}
    addresses, why = dns_fix._addresses(Ctx)
    assert addresses == [] and "zone index" in why


# ------------------------------------------------------------------ values: the `.*` step

def test_every_value_of_a_mapping_step():
    kinds = {"sshd.*": values.word}
    assert list(values.problems("sshd", {"A": "ok", "B": "-x"}, kinds)) == [
        "sshd.B: the value must not start with '-' (a command would read it as an option): "
        "'-x'"]
    (line,) = values.problems("sshd", {"a\nb": "-x"}, kinds)
    assert line.startswith("sshd['a\\nb']: ") and "\n" not in line
    assert list(values.problems("sshd", ["-x"], kinds)) == []      # not a mapping: nothing
    assert list(values.problems("x", {"y": {"z": "-v"}}, {"x.*.z": values.word})) == [
        "x.y.z: the value must not start with '-' (a command would read it as an option): "
        "'-v'"]
    assert values._split("sshd.*") == ["sshd", "*"]
