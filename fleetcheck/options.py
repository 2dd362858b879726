"""The command-line options of the fleetcheck plugin."""

from __future__ import annotations

import pytest

from fleetcheck.connect.common import DEFAULT_CONNECT_TIMEOUT
from fleetcheck.report import retention
from fleetcheck.report.records import SEVERITIES


def add_options(parser: pytest.Parser) -> None:
    """Every fleetcheck option, in the group `fleetcheck` of `pytest --help`."""
    group = parser.getgroup("fleetcheck", "fleetcheck: audit a fleet of Linux servers")
    group.addoption("--inventory", action="append", dest="fleet_inventory", default=[],
                    metavar="SOURCE", help="Ansible-style YAML inventory, an http(s):// URL "
                    "or an executable inventory script serving Ansible's dynamic-inventory "
                    "JSON (repeatable). Default: inventories/local.yml (this machine) "
                    "unless --hosts is given.")
    group.addoption("--inventory-auth", dest="fleet_inventory_auth", metavar="FILE",
                    help="for an HTTP inventory: a YAML file naming the environment "
                    "variables that hold the token or user/password (and a token_url); "
                    "default $FLEETCHECK_INVENTORY_AUTH")
    group.addoption("--inventory-token-env", dest="fleet_inventory_token_env", metavar="VAR",
                    help="for an HTTP inventory: the environment variable that holds a "
                    "bearer token (the token itself never goes on the command line)")
    group.addoption("--inventory-ca", dest="fleet_inventory_ca", metavar="FILE",
                    help="CA certificates (PEM) that sign the HTTP inventory's certificate")
    group.addoption("--inventory-timeout", type=float, dest="fleet_inventory_timeout",
                    default=None, metavar="SECONDS", help="timeout of each HTTP request and "
                    "of an inventory script (default 20)")
    group.addoption("--inventory-cache-ok", action="store_true",
                    dest="fleet_inventory_cache_ok", help="when an HTTP inventory cannot "
                    "be fetched, use its last good answer (the reports say so)")
    group.addoption("--inventory-engine", dest="fleet_inventory_engine",
                    choices=("auto", "native", "ansible"), default="auto",
                    help="how inventories are read: native (fleetcheck reads INI, YAML, "
                    "directories, group_vars/host_vars, ansible.cfg itself), ansible "
                    "(everything through `ansible-inventory --list`, ansible-core "
                    "installed), auto (native, and ansible-inventory for what needs "
                    "it: inventory plugins, vault-encrypted files; default)")
    group.addoption("--playbook-dir", dest="fleet_playbook_dir", metavar="DIR",
                    help="also read group_vars/ and host_vars/ beside this playbook "
                    "directory, as ansible-inventory --playbook-dir does")
    group.addoption("--vault-password-file", action="append", default=[],
                    dest="fleet_vault_password_file", metavar="FILE",
                    help="for vault-encrypted inventory files (read through "
                    "ansible-inventory); default $ANSIBLE_VAULT_PASSWORD_FILE")
    group.addoption("--vault-id", action="append", default=[], dest="fleet_vault_id",
                    metavar="ID@SOURCE", help="a vault id for ansible-inventory "
                    "(repeatable)")
    group.addoption("--where", action="append", dest="fleet_where", default=[],
                    metavar="KEY=VALUE", help="keep hosts whose var KEY is VALUE (or "
                    "KEY!=VALUE); repeatable, all must hold; after --limit")
    group.addoption("--strict-vars", action="store_true", dest="fleet_strict_vars",
                    help="a top-level var named like a fleetcheck var (capacty:, "
                    "sysctls:) is an error (exit 4), not a warning")
    group.addoption("--include-offline", action="store_true", dest="fleet_include_offline",
                    help="audit hosts the inventory marks offline (online: false); by "
                    "default their checks are not-applicable: offline")
    group.addoption("--limit", dest="fleet_limit", metavar="PATTERN",
                    help="select hosts with Ansible's --limit grammar: names, globs, groups, "
                    "'a:b' union, 'a:&b' intersection, 'a:!b' exclusion")
    group.addoption("--ssh-accept-new", action="store_true", dest="fleet_accept_new",
                    help="trust unknown SSH host keys on first use and record them "
                    "(default: reject unknown host keys)")
    group.addoption("--connect-timeout", type=float, dest="fleet_connect_timeout",
                    default=None, metavar="SECONDS",
                    help="SSH connect timeout; overrides the inventory var "
                    f"fleetcheck_connect_timeout (default {DEFAULT_CONNECT_TIMEOUT:g})")
    group.addoption("--gather-threads", type=int, default=None, dest="fleet_gather_threads",
                    metavar="N", help="gather the facts of up to N hosts at once before "
                    "the checks run (per xdist worker; default 64; 0: each fact when a "
                    "check first reads it)")
    group.addoption("--command-log", dest="fleet_command_log", metavar="FILE",
                    help="append every command the run sends (host, command, exit code, "
                    "seconds; never output) to FILE as JSON lines")
    group.addoption("--remediate", nargs="?", const="all", default=None, dest="fleet_remediate",
                    metavar="AREAS", help="fix what has a safe fix: every area, or "
                    "--remediate=AREA,CHECK_ID,... Nothing on a host changes without it.")
    group.addoption("--dry-run", action="store_true", dest="fleet_dry_run",
                    help="with --remediate: show the plans and diffs (outcome would-fix), "
                    "write nothing anywhere")
    group.addoption("--serial", type=int, default=None, dest="fleet_serial", metavar="N",
                    help="at most N hosts being changed at once (across -n workers)")
    group.addoption("--interval", type=float, default=0.0, dest="fleet_interval",
                    metavar="SECONDS", help="pause between starting changes on hosts")
    group.addoption("--max-fail", type=int, default=None, dest="fleet_max_fail",
                    metavar="N", help="stop changing hosts after N failed fixes")
    group.addoption("--lock-timeout", type=float, default=30.0, dest="fleet_lock_timeout",
                    metavar="SECONDS", help="wait this long for another run's lock on a "
                    "host, then refuse (default %(default)s)")
    group.addoption("--reports-dir", dest="fleet_reports_dir", default=None, metavar="DIR",
                    help="where each run writes <run-id>/ (default: ./reports of the "
                    "directory the command runs in)")
    group.addoption("--keep-reports", type=int, default=retention.DEFAULT_KEEP,
                    dest="fleet_keep_reports", metavar="N",
                    help="keep the newest N runs in the reports directory, and the ones "
                    "history and rollback still need (0: keep every run; default "
                    "%(default)s)")
    group.addoption("--keep-backups", type=float, default=retention.DEFAULT_BACKUP_DAYS,
                    dest="fleet_keep_backups", metavar="DAYS",
                    help="a --remediate run removes the hosts' backups of runs older "
                    "than DAYS (0: never; default %(default)s); the reports of a run "
                    "that changed hosts are kept that long")
    # Reports and CI gating (fleetcheck.report.wiring). --nagios is pytest-testinfra's
    # own option (adding it again is an argparse conflict); RunReports takes it over.
    group.addoption("--fail-on", dest="fleet_fail_on", choices=SEVERITIES, default=None,
                    metavar="SEVERITY", help="fail the run only for findings of this "
                    "severity or worse (" + "|".join(SEVERITIES) + "; default: any finding)")
    group.addoption("--allow-unreachable", action="store_true",
                    dest="fleet_allow_unreachable",
                    help="unreachable hosts are reported but do not fail the run")
    group.addoption("--fleet-tracebacks", action="store_true", dest="fleet_tracebacks",
                    help="a failed check gets pytest's own traceback too (by default it "
                    "is its one-line message; a bug in a check or a parser always has "
                    "a short traceback); as an explicit --tb does")
    group.addoption("--prometheus", dest="fleet_prometheus", metavar="FILE",
                    help="write the records for node_exporter's textfile collector")
    group.addoption("--sarif", dest="fleet_sarif", metavar="FILE",
                    help="write the failing records as SARIF 2.1.0")
