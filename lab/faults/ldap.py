"""The LDAP area's lab faults (ldap.*). OpenLDAP's slapd runs on the file servers
(files1) with the directory dc=lab,dc=test (ou=people, two users), listening on
ldap:/// (StartTLS with a certificate of the lab's CA, lab/faults/web.py) and ldapi:///.

The lab builds it as an admin restoring a server would: at boot (boot.d/ldap.sh, before
the daemons start) slapadd -n0 loads the cn=config this module writes (Debian's schema
LDIFs core, cosine, nis and inetorgperson, a back_mdb database whose root DN is the
local root over ldapi, SASL EXTERNAL) into /etc/ldap/slapd.d, then slapadd -n1 the
tree; slapd runs as openldap. The rootfs' own configuration from the package's
postinst is replaced. The other hosts have the package installed but do not run it.

The faults break one check each: the tree is deleted from the running server
(ldap.answers: slapd still runs and answers, the base is gone) or cn=config's database
entry is edited by hand, not restarted (ldap.config_valid: the running slapd keeps its
configuration in memory and serves on)."""

from __future__ import annotations

import base64
import hashlib

from .. import render
from .base import Fault

GROUP = "fileservers"
BASE_DN = "dc=lab,dc=test"
LAB_DIR = "/etc/fleetcheck-lab/ldap"
CONFIG_LDIF, TREE_LDIF = f"{LAB_DIR}/config.ldif", f"{LAB_DIR}/tree.ldif"
BOOT = "/etc/fleetcheck-lab/boot.d/ldap.sh"
TLS_DIR = "/etc/ldap/lab-tls"
CA, CERT, KEY = f"{TLS_DIR}/ca.pem", f"{TLS_DIR}/server.pem", f"{TLS_DIR}/server.key"
SLAPD_D = "/etc/ldap/slapd.d"
MDB_LDIF = f"{SLAPD_D}/cn=config/olcDatabase={{1}}mdb.ldif"
MDB_GOOD = f"{LAB_DIR}/mdb.ldif.good"           # the fault's copy of the healthy entry
ROOT = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"
SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
USERS = {"alice": ("Alice Lab", 20001), "bob": ("Bob Lab", 20002)}
PASSWORD = "lab-alice-pw"        # uid=alice's password (a lab secret: the bind test's)
BAD_DIRECTORY = "/var/lib/ldap-old"
LDAPI = "-Q -Y EXTERNAL -H ldapi:///"

FAULTS = {
    "ldap-base-missing": Fault(GROUP, f"the directory's tree is deleted (ldapdelete -r "
                               f"{BASE_DN} on the running slapd): the base search finds "
                               "noSuchObject", "ldap.answers", False),
    "slapd-config-error": Fault(GROUP, "cn=config's database entry is edited by hand "
                                f"(olcDbDirectory: {BAD_DIRECTORY}, a directory that does "
                                "not exist), slapd not restarted: slaptest -u fails, the "
                                "running slapd serves on", "ldap.config_valid", False),
}

SERVICES = {
    "slapd": render.LabService(
        process="slapd", pidfile="/run/slapd/slapd.pid",
        start="mkdir -p /run/slapd && chown openldap:openldap /run/slapd && "
              f"slapd -h 'ldap:/// ldapi:///' -u openldap -g openldap -F {SLAPD_D}",
        reload=": cn=config changes are live"),
}


def _ssha(password: str, salt: bytes) -> str:
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def config_ldif() -> str:
    """cn=config as slapadd -n0 loads it; the schema LDIFs go between cn=schema and the
    databases (boot.d/ldap.sh puts them there)."""
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: /run/slapd/slapd.pid
olcArgsFile: /run/slapd/slapd.args
olcLogLevel: none
olcTLSCACertificateFile: {CA}
olcTLSCertificateFile: {CERT}
olcTLSCertificateKeyFile: {KEY}

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {{0}}back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

"""


def databases_ldif() -> str:
    return f"""dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: 500
olcAccess: {{0}}to * by dn.exact={ROOT} manage by * break
olcAccess: {{1}}to dn.exact="" by * read
olcAccess: {{2}}to dn.base="cn=Subschema" by * read

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact={ROOT} manage by * break

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: /var/lib/ldap
olcSuffix: {BASE_DN}
olcRootDN: {ROOT}
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read
"""


def tree_ldif() -> str:
    out = [f"dn: {BASE_DN}\nobjectClass: top\nobjectClass: dcObject\n"
           "objectClass: organization\no: fleetcheck lab\ndc: lab\n",
           f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people\n"]
    for uid, (cn, number) in USERS.items():
        salt = hashlib.sha256(uid.encode()).digest()[:8]      # fixed: the file is stable
        password = _ssha(PASSWORD if uid == "alice" else f"lab-{uid}-pw", salt)
        out.append(f"dn: uid={uid},ou=people,{BASE_DN}\nobjectClass: inetOrgPerson\n"
                   f"objectClass: posixAccount\nuid: {uid}\ncn: {cn}\nsn: Lab\n"
                   f"uidNumber: {number}\ngidNumber: {number}\nhomeDirectory: /home/{uid}\n"
                   f"loginShell: /bin/bash\nuserPassword: {password}\n")
    return "\n".join(out)


BOOT_SCRIPT = f"""# fleetcheck lab (lab/faults/ldap.py): slapd's cn=config and tree, before slapd starts
set -e
rm -rf {SLAPD_D} /var/lib/ldap
mkdir -p {SLAPD_D} /var/lib/ldap
f=/tmp/fleetcheck-slapd-config.ldif
cat {CONFIG_LDIF} > $f
for s in {' '.join(SCHEMAS)}; do cat /etc/ldap/schema/$s.ldif >> $f; echo >> $f; done
cat {LAB_DIR}/databases.ldif >> $f
slapadd -q -n0 -F {SLAPD_D} -l $f
slapadd -q -n1 -F {SLAPD_D} -l {TREE_LDIF}
rm -f $f
chown -R openldap:openldap {SLAPD_D} /var/lib/ldap
chgrp openldap {KEY} && chmod 0640 {KEY}
exit 0
"""


def host_files(lab, h) -> dict[str, str]:
    """On the file servers: the boot step, cn=config, the tree, and a certificate of the
    lab CA for <host>.<zone> (made on the controller at up)."""
    if not h.has(GROUP):
        return {}
    from . import web

    zone = lab.inv.dns.get("zone", "lab.test")
    cert, key = web.issue(lab, (f"{h.name}.{zone}",), 365)
    ca = (web.pki(lab) / "ca.pem").read_text()
    return {BOOT: BOOT_SCRIPT, CONFIG_LDIF: config_ldif(),
            f"{LAB_DIR}/databases.ldif": databases_ldif(), TREE_LDIF: tree_ldif(),
            CA: ca, CERT: cert, KEY: key}


def _ldap_base_missing(lab, h, heal):
    if heal:
        lab.sh(h.name, f"ldapadd -c {LDAPI} -f {TREE_LDIF} >/dev/null 2>&1 || true")
    else:
        lab.sh(h.name, f"ldapdelete {LDAPI} -r {BASE_DN} >/dev/null 2>&1 || true")


def _slapd_config_error(lab, h, heal):
    if heal:
        lab.sh(h.name, f"if [ -f {MDB_GOOD} ]; then cp -p {MDB_GOOD} '{MDB_LDIF}' && "
                       f"rm -f {MDB_GOOD}; fi")
    else:
        lab.sh(h.name, f"[ -f {MDB_GOOD} ] || cp -p '{MDB_LDIF}' {MDB_GOOD}; "
                       f"sed -i 's|^olcDbDirectory: .*|olcDbDirectory: {BAD_DIRECTORY}|' "
                       f"'{MDB_LDIF}'")
