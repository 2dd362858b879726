"""The LDAP area's lab faults (lab/faults/ldap.py) on files1's real slapd, each seen by a
probe and gone once healed; the base search itself (fleetcheck.probes.ldap, ldap3)
against the daemon from the controller, to files1's lab address only: anonymous and
bound over StartTLS, a wrong password, a certificate checked for another name."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.probes.ldap import base_search, problems
from lab.faults import ldap as lab_ldap

pytestmark = pytest.mark.integration

FILES1 = "10.213.47.20"
BASE = lab_ldap.BASE_DN
ALICE = f"uid=alice,ou=people,{BASE}"


def search(lab, **kw):
    ca = str(Path(lab.state_dir) / "web" / "ca.pem")
    args = dict(base_dn=BASE, tls="starttls", ca_file=ca, tls_name="files1.lab.test",
                timeout=5, allowed=FILES1)
    args.update(kw)
    return base_search(FILES1, 389, **args)


def test_slapd_answers_over_starttls_anonymous_and_bound(healthy, ssh):
    assert ssh.out("files1", "service slapd status >/dev/null && echo up").strip() == "up"
    res = search(healthy)
    assert res.tls_started and res.found and res.entry_dn == BASE, res
    assert "dcObject" in res.object_classes and problems(res) == []
    res = search(healthy, bind_dn=ALICE, password=lab_ldap.PASSWORD)
    assert res.bound and res.found and res.bind == ALICE, res
    assert lab_ldap.PASSWORD not in repr(res.shown())
    res = search(healthy, bind_dn=ALICE, password="not-the-password")
    assert res.stage == "bind" and not res.bound and "invalidCredentials" in res.error, res
    res = search(healthy, tls_name="other.lab.test")
    assert res.stage == "tls" and not res.found, res
    assert problems(res)[0][1].endswith("not valid for other.lab.test"), problems(res)
    assert search(healthy, tls="none").found


def test_ldap_base_missing(healthy, ssh):
    probe = (f"ldapsearch -x -LLL -H ldap://{FILES1} -b {BASE} -s base dn >/dev/null "
             "2>&1; echo $?")
    ssh.toggles("files1", "ldap-base-missing", probe, "0", "32")
    healthy.fault("files1", "ldap-base-missing")
    try:
        res = search(healthy)
        assert res.result == 32 and not res.found, res
        assert "does not exist" in problems(res)[0][1]
        assert ssh.out("files1", "service slapd status >/dev/null && echo up").strip() == "up"
    finally:
        healthy.heal("files1", "ldap-base-missing")
    assert ssh.out("files1", f"ldapsearch -x -LLL -H ldap://{FILES1} -b {BASE} uid "
                             "| grep -c '^uid:'").strip() == "2", "the tree is back whole"


def test_slapd_config_error_is_idempotent_and_leaves_slapd_serving(healthy, ssh):
    probe = "slaptest -u -F /etc/ldap/slapd.d >/dev/null 2>&1; echo $?"
    ssh.toggles("files1", "slapd-config-error", probe, "0", "1")
    healthy.fault("files1", "slapd-config-error")
    healthy.fault("files1", "slapd-config-error")
    try:
        assert ssh.out("files1", probe).strip() == "1"
        assert search(healthy).found, "the running slapd serves on"
    finally:
        healthy.heal("files1", "slapd-config-error")
    assert ssh.out("files1", probe).strip() == "0"
