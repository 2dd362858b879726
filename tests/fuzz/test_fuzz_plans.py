"""Every fix against arbitrary text in each value it declares, over the real captured
facts (tests/fixtures): the plan never raises, and either is refused (with a
one-line reason and no action) or each file it writes reads back, with the
project's own parser, as exactly the declared model and the rest as it was.

The oracles here are written apart from the fixes' own re-parse guard: a guard that
let something through would fail them. Profile "fleetcheck" (tests/fuzz/conftest.py):
150 examples each, derandomized."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

from hypothesis import event, given
from hypothesis import strategies as st

from fleetcheck import values, zoneedit
from fleetcheck.probes.dns import fqdn, reverse_name
from fleetcheck.facts import apt, exports, ganesha, smbconf
from fleetcheck.facts.exportfs import ExportTable
from fleetcheck.facts.file import FileState
from fleetcheck.facts.named_conf import parse as parse_named_conf
from fleetcheck.facts.paths import Paths
from fleetcheck.facts.pkgstate import PkgState
from fleetcheck.facts.service import ServiceState
from fleetcheck.facts.sysctl import Sysctl, canonical_key, normalize
from fleetcheck.remediation import PlanContext, RunCommand, Service, WriteFile, lookup
from fleetcheck.remediate.sshd import read_sshd_config
from fleetcheck.remediate.sysctl import HEADER, PERSIST, read_sysctl_d, sysctl_name
from fleetcheck.remediate.updates import UPGRADE

FIX = Path(__file__).resolve().parent.parent / "fixtures"
FACTS = FIX / "facts"
EXPORTS_BAD = (FACTS / "exports" / "lab_insecure_export.txt").read_text()
GANESHA_BAD = (FACTS / "ganesha" / "lab_insecure_export.txt").read_text()
SMB_RAW = (FACTS / "smbconf" / "lab_smb_conf_raw.txt").read_text()
SSHD = "# sshd config\nInclude /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nUsePAM yes\n"
RZONE = "47.213.10.in-addr.arpa"
FWD = (FIX / "dns" / "db.lab.test").read_text()
REV = (FIX / "dns" / "db.47.213.10.in-addr.arpa").read_text()
OPTIONS_OPEN = (FIX / "dns" / "named.conf.options.axfr-open").read_text()
NAMED_CONF = parse_named_conf(
    (FACTS / "named_conf" / "debian12_bind918_primary_axfr_open.txt").read_text())
DNSVARS = {"zone": "lab.test", "reverse_zone": RZONE, "master": "ns1", "slaves": ["ns2"],
           "nameservers": ["10.213.47.10", "10.213.47.11"], "transfer_key": "lab-xfer"}
EXPORT = {"path": "/srv/nfs/shared", "clients": ["10.213.47.0/24"],
          "options": ["rw", "sync", "root_squash"]}
ARCHIVE = {"path": "/srv/nfs/archive", "clients": ["10.213.47.0/24"],
           "options": ["ro", "sync", "root_squash"]}
PUBLIC = {"name": "public", "path": "/srv/samba/public", "read_only": False,
          "guest_ok": True, "allow_guest_write": True}

# ------------------------------------------------------------------ strategies

SYNTAX = " \t\n\r\"'\\#;{}[]()=,*-/.@%:$!&|<>?~`^+\x00\x0b\x85\u2028\ud800ab01Z_"
HOSTILE = ['/srv/a" *(rw,no_root_squash,insecure) "/srv/b', "*(rw,no_root_squash)",
           "x]\n[global", "[global]", "no # yes", "}\nEXPORT {", "..", "-rw", "\x00",
           "a" * 100_000, "fe80::1%eth0", "\\", "", " ", "=", "@", "*"]


def text(prefix: str = "", plausible: str = "") -> st.SearchStrategy[str]:
    """Arbitrary text (lone surrogates too), text of syntax characters, known
    payloads; sometimes after a prefix that makes the rest of the value plausible (a
    path's /srv/); with `plausible`, also text of those characters (so that some
    values pass and their files are written and read back)."""
    core = st.one_of(st.text(max_size=40),
                     st.text(alphabet=st.characters(exclude_categories=[]), max_size=20),
                     st.text(alphabet=SYNTAX, max_size=30),
                     st.sampled_from(HOSTILE))
    if prefix:
        core = core | core.map(lambda t: prefix + t)
    if plausible:
        core = core | st.text(alphabet=plausible, min_size=1, max_size=12).map(
            lambda t: prefix + t)
    return core


def mostly(valid: list, fuzz: st.SearchStrategy) -> st.SearchStrategy:
    """A valid value about half the time, else the fuzz (so that several fuzzed
    values of one plan pass together often enough for files to be written)."""
    return st.floats(0, 1).flatmap(lambda x: fuzz if x > 0.5 else st.sampled_from(valid))


class Facts:
    def __init__(self, files=None, **facts):
        self.files, self.facts = files or {}, facts

    def get(self, fact, /, **params):
        if fact == "file":
            content = self.files.get(params["path"])
            if content is None:
                return FileState(exists=False)
            return FileState(True, 0o644, "root", "root",
                             base64.b64encode(content.encode()).decode())
        return self.facts[fact]


def run(check_id, vars, facts, item=None, host="web1", other=None):
    return lookup(check_id)(PlanContext(check_id, host, vars, facts, item, other=other))


def refused(plan) -> bool:
    """True for a refused plan (after checking its reason); counts the outcomes
    (--hypothesis-show-statistics)."""
    if plan.refused:
        assert plan.reason and "\n" not in plan.reason and not plan.actions
    event("refused" if plan.refused else "planned")
    return plan.refused


def written(plan) -> dict[str, str]:
    return {a.path: a.content.decode() for a in plan.actions if isinstance(a, WriteFile)}


# ------------------------------------------------------------------ nfs

def exports_entries(text, skip=()):
    return sorted((e.path, c.host, tuple(c.options)) for e in exports.parse(text).exports
                  if e.path not in skip for c in e.clients)


def ganesha_entries(text, skip=()):
    return sorted((e.export_id, e.path, e.pseudo, e.access_type, e.squash,
                   tuple((tuple(c.clients), c.access_type, c.squash) for c in e.clients))
                  for e in ganesha.parse(text).exports if e.path not in skip)


def effective(options):
    return sorted(set(exports.effective_options(list(options))))


@given(path=mostly(["/srv/new", "/srv/nfs/shared", "/srv/my share", "/srv/a=b,c"],
                   text("/srv/", "ab _.-/,=:@+%*#;{}()\\\"")),
       clients=st.lists(mostly(["10.0.0.1", "*", "@ng", "10.0.0.0/8", "*.lab.test", "h-1",
                                "2001:db8::/32"], text(plausible="ab01*?.@/:-_,() ")),
                        min_size=1, max_size=3),
       options=st.lists(mostly(["rw", "ro", "sync", "no_root_squash", "sec=sys:krb5",
                                "anonuid=65534"], text(plausible="rwoy_=sec:krb5,.-() ")),
                        max_size=3))
def test_nfs(path, clients, options):
    want = {"path": path, "clients": clients, "options": options}
    declared = [ARCHIVE, want] + ([EXPORT] if path != EXPORT["path"] else [])
    facts = Facts({"/etc/exports": EXPORTS_BAD, "/etc/ganesha/ganesha.conf": GANESHA_BAD},
                  exports=exports.parse(EXPORTS_BAD), ganesha=ganesha.parse(GANESHA_BAD),
                  exportfs=ExportTable(active=False))
    plan = run("nfs.exports", {"nfs": {"exports": declared}}, facts)
    if refused(plan):
        return
    files = written(plan)
    ours = {d["path"] for d in declared}
    etc = files["/etc/exports"]
    parsed = exports.parse(etc)
    for d in declared:
        got = sorted((c.host, effective(c.options)) for e in parsed.exports
                     if e.path == d["path"] for c in e.clients)
        assert got == sorted((c, effective(d["options"])) for c in d["clients"])
    assert exports_entries(etc, ours) == exports_entries(EXPORTS_BAD, ours)
    gan = files["/etc/ganesha/ganesha.conf"]
    conf = ganesha.parse(gan)
    for d in declared:
        (export,) = [e for e in conf.exports if e.path == d["path"]]
        assert export.pseudo == d["path"] and export.access_type == "none"
        assert [c.clients for c in export.clients] == [d["clients"]]
        assert export.clients[0].access_type == ("rw" if "rw" in d["options"] else "ro")
    assert ganesha_entries(gan, ours) == ganesha_entries(GANESHA_BAD, ours)
    ids = [e.export_id for e in conf.exports]
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------------ samba

@given(name=mostly(["projects", "new", "Data$", "my share", "x.y-z"],
                   text(plausible="Ab1_.$- []=;#%")),
       path=mostly(["/srv/samba/projects", "/srv/x y", "/srv/a=b;c#d"],
                   text("/srv/", "ab _.-/%\\#;=[]")),
       read_only=st.booleans(), guest_ok=st.booleans())
def test_samba(name, path, read_only, guest_ok):
    want = {"name": name, "path": path, "read_only": read_only, "guest_ok": guest_ok}
    facts = Facts({"/etc/samba/smb.conf": SMB_RAW},
                  smbconf=smbconf.Testparm(conf=smbconf.parse(SMB_RAW)),
                  paths=Paths({"/srv/samba/public": "dir", path: "dir"}),
                  service=ServiceState("sysv", running=True, enabled=True))
    plan = run("samba.shares", {"samba": {"shares": [PUBLIC, want]}}, facts)
    if refused(plan) or not written(plan):
        return
    after = smbconf.parse(written(plan)["/etc/samba/smb.conf"])
    before = smbconf.parse(SMB_RAW)
    share = after.share(name)
    assert (share.path, share.read_only, share.guest_ok) == (path, read_only, guest_ok)
    assert after.globals == before.globals
    others = lambda conf: {s.name.lower(): s.params for s in conf.shares  # noqa: E731
                           if s.name.lower() != name.lower()}
    assert others(after) == others(before)


# ------------------------------------------------------------------ sshd

@given(key=mostly(["PermitRootLogin", "PasswordAuthentication", "Match", "UsePAM", "Include",
                   "Ciphers"], text(plausible="AbZ1=- ")),
       value=mostly(["no", "prohibit-password", "-aes128-cbc", "a b", "x=y", "a#b"],
                    text(plausible="ab1,-=#\"' \\")))
def test_sshd(key, value):
    plan = run("sshd.config", {"sshd": {key: value}}, Facts({"/etc/ssh/sshd_config": SSHD}),
               item=key)
    if refused(plan):
        return
    after = written(plan)["/etc/ssh/sshd_config"].splitlines()
    ours = f"{key} {value}"
    assert after.count(ours) == 1
    rest = [line for line in after if line != ours]
    before = SSHD.splitlines()
    assert rest == before or rest == [b for b in before if not b.lower().startswith(
        key.lower() + " ")]
    first = next(d for d in read_sshd_config("\n".join(after)) if d[0] == key.lower())
    assert first == (key.lower(), tuple(value.split()), None)


# ------------------------------------------------------------------ sysctl

@given(key=mostly(["net.ipv4.ip_forward", "kernel.core_pattern",
                   "net/ipv4/conf/eth0.1/rp_filter"], text(plausible="ab1._/-=* ")),
       value=mostly([0, 1, -1, "1 2  3", "|/bin/x %p", "a=b"], text(plausible="01 ab=#;-|%")))
def test_sysctl(key, value):
    # the kernel has the key, with another value (a key it lacks is refused: no fix)
    plan = run("sysctl.value", {"sysctl": {key: value}},
               Facts(sysctl=Sysctl({canonical_key(key): "\x00"})), item=key)
    if refused(plan):
        return
    want = normalize(value)
    after = written(plan)[PERSIST]
    assert after == HEADER + f"{key} = {want}\n"
    assert read_sysctl_d(after) == {sysctl_name(key): want}
    (command,) = [a for a in plan.actions if isinstance(a, RunCommand)]
    assert command.command.render().startswith("sysctl -w ")


# ------------------------------------------------------------------ dns

def records_of(text, origin):
    zone = zoneedit.load_zone(text, origin)
    return {(str(n), rds.rdtype): sorted(rd.to_text() for rd in rds)
            for n, rds in zone.iterate_rdatasets()}


ADDRESS = mostly([f"10.213.47.{n}" for n in (30, 31, 40, 99, 254)],
                 text("10.213.47.", "0123456789%;: "))


@given(host=mostly(["web1", "db9", "app1", "new_host"], text(plausible="ab1-_.;* ")),
       address=ADDRESS)
def test_dns_records(host, address):
    master = Facts({"/etc/bind/db.lab.test": FWD, f"/etc/bind/db.{RZONE}": REV},
                   named_conf=NAMED_CONF)
    plan = run("dns.forward_reverse", {"dns": DNSVARS, "dns_addresses": [address]},
               Facts(), host=host, other={"ns1": master}.__getitem__)
    if refused(plan) or plan.empty:
        return
    name = fqdn(host, "lab.test")
    addr = str(ipaddress.ip_address(address))
    files = written(plan)
    owners = {"/etc/bind/db.lab.test": ("lab.test", FWD, {(name, 1): [addr]}),
              f"/etc/bind/db.{RZONE}": (RZONE, REV, {(reverse_name(addr), 12): [name]})}
    for path, after in files.items():
        origin, before, ours = owners[path]
        got, had = records_of(after, origin), records_of(before, origin)
        for key, want in ours.items():
            assert got[key] == want
        soa = (f"{origin}.", 6)
        assert {k: v for k, v in got.items() if k not in ours and k != soa} == \
            {k: v for k, v in had.items() if k not in ours and k != soa}


@given(key=mostly(["lab-xfer", "k1.example", "a_b"], text(plausible="ab1-._*\"{}; ")))
def test_dns_axfr(key):
    files = {"/etc/bind/named.conf": 'include "/etc/bind/named.conf.options";\n',
             "/etc/bind/named.conf.options": OPTIONS_OPEN}
    plan = run("dns.axfr_restricted", {"dns": dict(DNSVARS, transfer_key=key)},
               Facts(files), host="ns1")
    if refused(plan):
        return
    after = written(plan)["/etc/bind/named.conf.options"]
    clauses, _ = zoneedit.transfer_clauses(after)
    assert clauses and all(c.elements == [f'key "{key}"'] for c in clauses)
    assert zoneedit.named_model(after)["statements"] == \
        zoneedit.named_model(OPTIONS_OPEN)["statements"]


# ------------------------------------------------------------------ service, updates

@given(name=mostly(["ssh", "cron", "nfs-ganesha", "getty@tty1", "a.service"],
                  text(plausible="ab1-_.@:/\\ ")))
def test_service(name):
    plan = run("service.running", {"services": [name]},
               Facts(service=ServiceState("sysv", running=False, enabled=False)), item=name)
    if refused(plan):
        return
    assert {a.name for a in plan.actions if isinstance(a, Service)} == {name}
    assert values.unit(name) == name


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | text(),
                    lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(text(), inner, max_size=3), max_leaves=8)


@given(updates=mostly([{}], JSON).flatmap(lambda base: st.fixed_dictionaries(
    {"auto_apply": mostly([True], JSON)},
    optional={k: mostly([True, False, 7, 0.5, [], None], JSON)
              for k in ("refresh_lists", "max_list_age_days", "max_pending", "security_suites")}
) if base == {} else st.just(base)))
def test_updates(updates):
    state = PkgState(now=1_000_000, manager="apt", lists_mtime=1_000_000 - 3600)
    sim = apt.parse((FACTS / "apt" / "lab_security_update.txt").read_text())
    plan = run("updates.applied", {"updates": updates}, Facts(pkgstate=state, apt=sim))
    if refused(plan):
        return
    (action,) = plan.actions
    assert action.command in UPGRADE.values()


# ------------------------------------------------------------------ vsftpd

VSFTPD_CONF = (FACTS / "vsftpd" / "debian-bookworm-vsftpd.conf.txt").read_text() \
    .replace("anonymous_enable=NO", "anonymous_enable=YES")


@given(name=mostly(["ftpd_banner", "chroot_local_user", "listen_port", "anon_root", "Listen"],
                   text(plausible="abcdefghijklmnopqrstuvwxyz_ ")),
       value=mostly(["YES", "no", True, 2121, "/srv/ftp", "Hi there"],
                    text(plausible="YESNOyesno01/ =#")))
def test_vsftpd(name, value):
    from fleetcheck.facts.vsftpd import Vsftpd, parse_conf

    state = Vsftpd(binary="/usr/sbin/vsftpd", running=True, path="/etc/vsftpd.conf",
                   exists=True, config=parse_conf(VSFTPD_CONF))
    plan = run("ftp.vsftpd", {"ftp": {"vsftpd": {"directives": {name: value}}}},
               Facts({"/etc/vsftpd.conf": VSFTPD_CONF}, vsftpd=state))
    if refused(plan):
        return
    after = parse_conf(written(plan)["/etc/vsftpd.conf"])
    assert after.refused == [] and after.effective()["anonymous_enable"] == "NO"
    before = parse_conf(VSFTPD_CONF).effective()
    assert {k: v for k, v in after.effective().items() if k not in (name, "anonymous_enable")} \
        == {k: v for k, v in before.items() if k not in (name, "anonymous_enable")}
