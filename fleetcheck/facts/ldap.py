"""OpenLDAP (LPIC-2 210.3): the var `ldap` of the area (ldap.answers, ldap.config_valid:
its schema and value kinds are declared here). The fact is slaptest (`slaptest -u` on
the host, fleetcheck.facts.slaptest); the base search is the controller's own
(fleetcheck.probes.ldap, with ldap3).

    ldap:
      answers:
        base_dn: dc=example,dc=org
        tls: starttls                 # none | starttls | ldaps
        ca_bundle: ../pki/ca.pem      # on the controller, beside the inventory
        tls_name: ldap.example.org    # the name the certificate must be valid for
        bind_dn: cn=monitor,dc=example,dc=org
        password_env: LDAP_MONITOR_PW # the NAME of an environment variable of the controller
      config_valid: {}                # slaptest -u of /etc/ldap/slapd.d

Both are off in the embedded default (null): a directory server is the shop's to
declare, and a base search needs its base DN. Every DN is checked with ldap3's own DN
parser (RFC 4514) at load; the password never sits in the inventory, only the name of
the controller's environment variable that holds it (its value is never shown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fleetcheck import values
from fleetcheck.facts.base import var_setting

VAR = "ldap"
TLS_MODES = ("none", "starttls", "ldaps")
PORTS = {"none": 389, "starttls": 389, "ldaps": 636}
DEFAULTS = {"tls": "none", "timeout": 5.0, "config_dir": "/etc/ldap/slapd.d"}
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def ldap3():
    """ldap3, imported without the DeprecationWarnings its pyasn1 imports raise (they
    would land in every audit's summary)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import ldap3 as module
        import ldap3.core.exceptions  # noqa: F401
        import ldap3.utils.dn  # noqa: F401
    return module


def dn(value: Any, what: str = "the DN") -> str:
    """A distinguished name as ldap3 parses it (RFC 4514: `dc=example,dc=org`): one
    line, not empty, never an option, at most 1024 characters."""
    lib = ldap3()
    LDAPInvalidDnError, parse_dn = lib.core.exceptions.LDAPInvalidDnError, lib.utils.dn.parse_dn

    text = values.word(values.text(value, what, max_len=1024), what)
    try:
        parts = parse_dn(text)
    except (LDAPInvalidDnError, ValueError, IndexError, TypeError) as exc:
        raise values.UnsafeValue(f"{what} is not a distinguished name (RFC 4514): "
                                 f"{values.shown(text)} ({exc})") from None
    if not parts:
        raise values.UnsafeValue(f"{what} is not a distinguished name: {values.shown(text)}")
    return text


def env_name(value: Any, what: str = "the variable") -> str:
    """The name of an environment variable of the controller (letters, digits, `_`)."""
    text = values.word(value, what)
    if not _ENV.fullmatch(text):
        raise values.UnsafeValue(f"{what} must be an environment variable's name (letters, "
                                 f"digits and '_'), got {values.shown(text)}")
    return text


VALUE_KINDS = {
    "ldap.answers.base_dn": dn,
    "ldap.answers.bind_dn": dn,
    "ldap.answers.password_env": env_name,
    "ldap.answers.ca_bundle": values.local_path,
    "ldap.answers.tls_name": values.dns_name,
    "ldap.config_valid.config_dir": values.path,
    "ldap.config_valid.config_file": values.path,
}

VARS = {
    VAR: {
        "type": ["object", "null"],
        "description": "the LDAP server (ldap.answers, ldap.config_valid); a key null "
                       "turns its check off",
        "x-expected": "a mapping (like {answers: {base_dn: 'dc=example,dc=org'}})",
        "properties": {
            "answers": {
                "type": ["object", "null"], "default": None,
                "description": "ldap.answers: a base search of `base_dn` from the controller "
                "to the host's inventory address (ldap3)",
                "required": ["base_dn"],
                "properties": {
                    "base_dn": {"type": "string", "description": "the entry that must "
                                "exist (the directory's suffix, like dc=example,dc=org)"},
                    "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535,
                             "default": None, "description": "the port; null: 389, or 636 "
                             "with tls: ldaps"},
                    "tls": {"enum": list(TLS_MODES), "default": DEFAULTS["tls"],
                            "description": "none (plain LDAP), starttls (the StartTLS "
                            "extended operation before the bind) or ldaps (TLS from the "
                            "first byte)"},
                    "ca_bundle": {"type": ["string", "null"], "default": None,
                                  "description": "a PEM file of CA certificates on the "
                                  "controller (relative to the inventory's directory); "
                                  "null: the controller's system store"},
                    "tls_name": {"type": ["string", "null"], "default": None,
                                 "description": "the name the server's certificate must be "
                                 "valid for (sent as SNI); null: the inventory host name"},
                    "bind_dn": {"type": ["string", "null"], "default": None,
                                "description": "a simple bind as this DN (null: anonymous)"},
                    "password_env": {"type": ["string", "null"], "default": None,
                                     "description": "the name of the controller's "
                                     "environment variable holding bind_dn's password "
                                     "(never the password itself)"},
                    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120,
                                "default": DEFAULTS["timeout"], "description": "seconds to "
                                "connect and for each reply (the search's time limit too)"},
                },
                "dependentRequired": {"bind_dn": ["password_env"],
                                      "password_env": ["bind_dn"]},
                "additionalProperties": False,
            },
            "config_valid": {
                "type": ["object", "null"], "default": None,
                "description": "ldap.config_valid: `slaptest -u` on the host, where slapd "
                "is installed",
                "properties": {
                    "config_dir": {"type": "string", "default": DEFAULTS["config_dir"],
                                   "description": "the cn=config directory (slaptest -F)"},
                    "config_file": {"type": ["string", "null"], "default": None,
                                    "description": "a slapd.conf to test instead "
                                    "(slaptest -f)"},
                    "required": {"type": "boolean", "default": False,
                                 "description": "slapd must be installed on the host"},
                    "warnings": {"type": "boolean", "default": True,
                                 "description": "a message of a passing slaptest (a "
                                 "checksum error: slapd.d edited by hand; an UNKNOWN "
                                 "attributeDescription: a misspelt setting) fails the "
                                 "check (medium)"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


def settings(hostvars: Mapping[str, Any], key: str) -> Any:
    """The value of `ldap.<key>` (None when the var or the key is unset or null)."""
    return var_setting(hostvars, VAR, key)


def answers_settings(hostvars: Mapping[str, Any]) -> dict | None:
    """ldap.answers with its defaults (the port from the TLS mode), or None when off."""
    conf = settings(hostvars, "answers")
    if conf is None:
        return None
    out = {"port": None, "tls": DEFAULTS["tls"], "ca_bundle": None, "tls_name": None,
           "bind_dn": None, "password_env": None, "timeout": DEFAULTS["timeout"],
           **{k: v for k, v in conf.items() if v is not None}}
    if out["port"] is None:
        out["port"] = PORTS[out["tls"]]
    return out
