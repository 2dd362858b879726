"""Plans of samba.shares, nfs.exports and updates.applied on data (no host), and the
fact conversions that give a check its outcome (exit statuses, stderr)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from fleetcheck.facts import apt, exports, ganesha, smbclient, smbconf
from fleetcheck.facts.exportfs import ExportTable
from fleetcheck.facts.paths import Paths
from fleetcheck.facts.pkgstate import PkgState
from fleetcheck.facts.service import ServiceState
from fleetcheck.facts.file import FileState
from fleetcheck.remediation import PlanContext, lookup

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "facts"
SMB_RAW = (FIX / "smbconf" / "lab_smb_conf_raw.txt").read_text()
EXPORTS_OK = (FIX / "exports" / "lab_healthy.txt").read_text()
EXPORTS_BAD = (FIX / "exports" / "lab_insecure_export.txt").read_text()
GANESHA_OK = (FIX / "ganesha" / "lab_healthy.txt").read_text()
GANESHA_BAD = (FIX / "ganesha" / "lab_insecure_export.txt").read_text()
SHARES = [{"name": "public", "path": "/srv/samba/public", "read_only": False,
           "guest_ok": True, "allow_guest_write": True},
          {"name": "projects", "path": "/srv/samba/projects", "read_only": True,
           "guest_ok": True}]
EXPORTS = [{"path": "/srv/nfs/shared", "clients": "10.213.47.0/24",
            "options": ["rw", "sync", "root_squash"]},
           {"path": "/srv/nfs/archive", "clients": "10.213.47.0/24",
            "options": ["ro", "sync", "root_squash"]}]


class Facts:
    """Facts as data: `files` by path, other facts by name (params ignored)."""

    def __init__(self, files=None, **values):
        self.files = files or {}
        self.values = values

    def get(self, fact, /, **params):
        if fact == "file":
            content = self.files.get(params["path"])
            if content is None:
                return FileState(exists=False)
            return FileState(True, 0o644, "root", "root",
                             base64.b64encode(content.encode()).decode())
        return self.values[fact]


def plan(check_id, vars, **facts):
    return lookup(check_id)(PlanContext(check_id, "files1", vars, Facts(**facts)))


def without_share(text, name):
    start = text.index(f"[{name}]")
    end = text.find("\n[", start + 1)
    return text[:start] + (text[end + 1:] if end != -1 else "")


def samba_facts(conf_text, running=True):
    return dict(files={"/etc/samba/smb.conf": conf_text},
                smbconf=smbconf.Testparm(conf=smbconf.parse(conf_text)),
                paths=Paths({"/srv/samba/public": "dir", "/srv/samba/projects": "dir"}),
                service=ServiceState("sysv", running=running, enabled=True))


# ------------------------------------------------------------------ samba


def test_samba_restores_a_removed_share_validates_then_reloads():
    broken = without_share(SMB_RAW, "public")
    p = plan("samba.shares", {"samba": {"shares": SHARES}}, **samba_facts(broken))
    kinds = [type(a).__name__ for a in p.actions]
    assert kinds == ["WriteFile", "RunCommand", "RunCommand"]
    assert "testparm -s" in p.actions[1].command.render()
    assert p.actions[2].command.render() == "smbcontrol smbd reload-config"
    share = smbconf.parse(p.actions[0].content.decode()).share("public")
    assert (share.path, share.read_only, share.guest_ok) == ("/srv/samba/public", False, True)
    assert "+[public]" in p.diffs()["/etc/samba/smb.conf"]


def test_samba_corrects_a_changed_option_in_place():
    changed = SMB_RAW.replace("[projects]\n\tpath = /srv/samba/projects\n\tread only = yes",
                              "[projects]\n\tpath = /srv/samba/projects\n\twritable = yes")
    assert changed != SMB_RAW
    p = plan("samba.shares", {"samba": {"shares": SHARES}}, **samba_facts(changed))
    after = p.actions[0].content.decode()
    assert "writable" not in after and after.count("[projects]") == 1
    assert smbconf.parse(after).share("projects").read_only


def test_samba_starts_a_stopped_smbd_and_is_idempotent():
    p = plan("samba.shares", {"samba": {"shares": SHARES}}, **samba_facts(SMB_RAW, False))
    assert [(type(a).__name__, getattr(a, "operation", None)) for a in p.actions] == [
        ("Service", "start")]
    p = plan("samba.shares", {"samba": {"shares": SHARES}}, **samba_facts(SMB_RAW))
    assert p.empty and not p.refused


def test_samba_refuses_undeclared_guest_writable_share_and_bad_values():
    extra = SMB_RAW + "\n[scratch]\n\tpath = /tmp\n\tguest ok = yes\n\tread only = no\n"
    p = plan("samba.shares", {"samba": {"shares": SHARES}}, **samba_facts(extra))
    assert p.refused and "scratch" in p.reason
    hostile = [dict(SHARES[1], name="x]\n[evil")]
    p = plan("samba.shares", {"samba": {"shares": hostile}}, **samba_facts(SMB_RAW))
    assert p.refused


# ------------------------------------------------------------------ nfs


def nfs_facts(etc, gan):
    return dict(files={"/etc/exports": etc, "/etc/ganesha/ganesha.conf": gan},
                exports=exports.parse(etc), ganesha=ganesha.parse(gan),
                exportfs=ExportTable(active=False))


def test_nfs_restores_insecure_export_in_both_files_then_validates_and_reloads():
    p = plan("nfs.exports", {"nfs": {"exports": EXPORTS}}, **nfs_facts(EXPORTS_BAD, GANESHA_BAD))
    assert [type(a).__name__ for a in p.actions] == ["WriteFile", "WriteFile", "RunCommand",
                                                     "RunCommand"]
    assert p.actions[2].command.render() == "exportfs -ra"
    etc = exports.parse(p.actions[0].content.decode())
    (client,) = etc.clients("/srv/nfs/shared")
    assert client.host == "10.213.47.0/24" and "root_squash" in client.options
    assert p.actions[0].content.decode().splitlines()[2] == EXPORTS_OK.splitlines()[2]
    gan = ganesha.parse(p.actions[1].content.decode())
    shared = gan.export("/srv/nfs/shared")
    assert shared.export_id == 1
    assert (shared.clients[0].clients, shared.clients[0].access_type,
            shared.clients[0].squash) == (["10.213.47.0/24"], "rw", "root_squash")
    # the file as the lab renders it when healthy: only the broken block changed
    assert p.actions[1].content.decode() == GANESHA_OK


def test_nfs_is_idempotent_and_adds_a_missing_export():
    p = plan("nfs.exports", {"nfs": {"exports": EXPORTS}}, **nfs_facts(EXPORTS_OK, GANESHA_OK))
    assert p.empty and not p.refused
    more = EXPORTS + [{"path": "/srv/nfs/new", "clients": ["10.0.0.1", "10.0.0.2"],
                       "options": ["ro"]}]
    p = plan("nfs.exports", {"nfs": {"exports": more}}, **nfs_facts(EXPORTS_OK, GANESHA_OK))
    etc = p.actions[0].content.decode()
    assert etc.endswith("/srv/nfs/new\t10.0.0.1(ro,no_subtree_check) "
                        "10.0.0.2(ro,no_subtree_check)\n")
    new = ganesha.parse(p.actions[1].content.decode()).export("/srv/nfs/new")
    assert new.export_id == 3 and new.clients[0].clients == ["10.0.0.1", "10.0.0.2"]


def test_nfs_refuses_an_undeclared_insecure_export():
    etc = EXPORTS_OK + "/srv/other\t*(rw,no_root_squash)\n"
    p = plan("nfs.exports", {"nfs": {"exports": EXPORTS}}, **nfs_facts(etc, GANESHA_OK))
    assert p.refused and "/srv/other" in p.reason and "not declared" in p.reason


def test_insecure_rules_and_the_world_pitfall():
    parsed = exports.parse("/a host (rw)\n/b *(rw)\n/c 10.0.0.0/8(insecure)\n/d h(ro)\n")
    found = [f for e in parsed.exports for c in e.clients
             for f in exports.insecure_findings(e.path, c)]
    assert found == ["/a *: rw to the world", "/b *: rw to the world", "/c 10.0.0.0/8: insecure"]


# ------------------------------------------------------------------ updates


def pkgstate(**kw):
    base = dict(now=1_000_000, manager="apt", lists_mtime=1_000_000 - 3600)
    base.update(kw)
    return PkgState(**base)


def apt_sim(name):
    return apt.parse((FIX / "apt" / f"{name}.txt").read_text())


def test_updates_plan_applies_only_where_allowed():
    facts = dict(pkgstate=pkgstate(), apt=apt_sim("lab_security_update"))
    p = plan("updates.applied", {"updates": {}}, **facts)
    assert p.refused and "auto_apply" in p.reason
    p = plan("updates.applied", {"updates": {"auto_apply": True}}, **facts)
    (action,) = p.actions
    assert action.command.render() == (
        "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold "
        "-o Dpkg::Options::=--force-confdef upgrade")


def test_updates_plan_dnf_and_what_an_upgrade_cannot_fix():
    from fleetcheck.facts import dnf
    updates = dnf.parse((FIX / "dnf" / "fedora25_dnf_check_update.txt").read_text())
    p = plan("updates.applied", {"updates": {"auto_apply": True}},
             pkgstate=pkgstate(manager="dnf"), dnf=updates)
    assert p.actions[0].command.render() == "dnf -y upgrade"
    p = plan("updates.applied", {"updates": {"auto_apply": True}},
             pkgstate=pkgstate(reboot_required=True), apt=apt_sim("lab_healthy"))
    assert p.refused and "reboot" in p.reason
    p = plan("updates.applied", {"updates": {"auto_apply": True}},
             pkgstate=pkgstate(lists_mtime=1_000_000 - 30 * 86400), apt=apt_sim("lab_healthy"))
    assert p.refused and "stale" in p.reason


def test_security_is_counted_by_suite_and_label():
    sim = apt_sim("debian12_117_upgrades")
    assert len(sim.upgrades) == 117
    assert len(sim.security()) == 71      # Debian-Security:12/oldstable-security
    assert {u.name for u in apt_sim("lab_security_update").security()} == {"fleetcheck-labpkg"}


def test_kernel_order_is_natural():
    state = pkgstate(running_kernel="6.1.0-9-amd64",
                     installed_kernels=["6.1.0-9-amd64", "6.1.0-26-amd64"])
    assert state.newest_kernel == "6.1.0-26-amd64" and state.kernel_outdated
    assert not pkgstate(running_kernel="6.1.0-26-amd64",
                        installed_kernels=["6.1.0-9-amd64", "6.1.0-26-amd64"]).kernel_outdated
    # RHEL's z-stream: 553.1.1 follows 553 (a package version sort put 553.el8 first)
    rhel = pkgstate(running_kernel="4.18.0-553.el8_10.x86_64",
                    installed_kernels=["4.18.0-553.el8_10.x86_64",
                                       "4.18.0-553.1.1.el8_10.x86_64"])
    assert rhel.newest_kernel == "4.18.0-553.1.1.el8_10.x86_64" and rhel.kernel_outdated


def test_a_stale_kernel_is_kernel_running_s_finding_where_it_judges_the_host():
    from fleetcheck.checks import test_updates  # noqa: PLC0415

    state = pkgstate(running_kernel="6.1.0-9-amd64", reboot_required=True,
                     installed_kernels=["6.1.0-9-amd64", "6.1.0-26-amd64"])
    alone = test_updates.reboot_reasons(state, None)
    assert len(alone) == 2 and "older than the installed 6.1.0-26-amd64" in alone[1]
    assert test_updates.reboot_reasons(state, None, kernel_judged=True) == alone[:1]


# ------------------------------------------------------------------ exit statuses


def test_testparm_diagnostics_make_it_unclean():
    text = (FIX / "smbconf" / "lab_testparm_unknown_parameter.txt").read_text()
    stderr = ('Load smb config files from /tmp/bad.conf\nUnknown parameter encountered: '
              '"frobnicate"\nIgnoring unknown parameter "frobnicate"\nLoaded services file OK.\n'
              'Weak crypto is allowed by GnuTLS (e.g. NTLM as a compatibility fallback)\n')
    tp = smbconf.from_result(0, text, stderr)
    assert not tp.clean and len(tp.problems) == 2
    tp = smbconf.from_result(1, "", "Load smb config files from /tmp/bad2.conf\n"
                             "Error loading services.\n")
    assert not tp.clean and tp.problems == ["Error loading services."]
    assert not smbconf.from_result(127, "", "sh: 1: testparm: not found\n").installed


@pytest.mark.parametrize("module", [smbclient])
def test_a_refused_probe_is_a_finding_not_an_error(module):
    res = module.from_result(1, "", "do_connect: Connection to 10.213.47.20 failed "
                             "(Error NT_STATUS_CONNECTION_REFUSED)\n", address="10.213.47.20")
    assert not res.ok and "NT_STATUS_CONNECTION_REFUSED" in res.error


def test_a_controller_fact_runs_on_the_controller_with_the_hosts_timeout():
    """RUNS_ON = "controller": FactCache runs the command here (no connection)."""
    from types import SimpleNamespace

    from fleetcheck.facts.base import Command
    from fleetcheck.connect.hosts import ConnectOptions, FleetHost

    entry = SimpleNamespace(name="files1", vars={"fleetcheck_command_timeout": 5},
                            connection="paramiko", source=None)
    host = FleetHost(entry, ConnectOptions())
    res = host.run_on_controller(Command("printf %s", "a b; echo no"))
    assert (res.rc, res.stdout) == (0, "a b; echo no")
    assert host._testinfra is None   # never connected
