"""Local accounts (var `users_baseline`, set in the embedded local.yml for every host): one
record per rule, each a key of the var; a rule set to null is not judged.

    users_baseline:
      uid0: [root]                                      # the only accounts with UID 0
      empty_password: {exempt: []}                      # no empty password field
      system_shell: {exempt: [root, sync, shutdown, halt]}
      present: []                                       # accounts that must exist

No fix: an account is the admin's to lock, delete or change (an unknown UID 0 account
may be an intruder's; deleting it destroys the evidence).
"""

import pytest

from fleetcheck.facts.users import SPECIAL_SHELL_ACCOUNTS, login_shell

RULES = {}


def rule(name):
    def register(fn):
        RULES[name] = fn
        return fn
    return register


@rule("uid0")
def _uid0(found, allowed, evidence):
    """Only the accounts listed have UID 0 (CIS: "Ensure root is the only UID 0
    account"): a second UID 0 account (`toor`) is root under another name, a classic
    backdoor, and logs in past any PermitRootLogin or securetty rule about `root`."""
    uid0 = [a.name for a in found.accounts if a.uid == 0]
    extra = [name for name in uid0 if name not in allowed]
    evidence.add(uid0=uid0, allowed=list(allowed))
    assert not extra, f"UID 0 account(s) besides {', '.join(allowed)}: {', '.join(extra)}"


@rule("empty_password")
def _empty_password(found, setting, evidence):
    """No account has an empty password field, in passwd or shadow (CIS: "Ensure
    /etc/shadow password fields are not empty"): Debian's pam_unix runs with nullok,
    so such an account logs in with no password at all."""
    exempt = setting.get("exempt") or []
    if found.shadow is None:
        pytest.fail("/etc/shadow cannot be read: empty passwords not judged", pytrace=False)
    classes = {}
    for account in found.accounts:
        cls = found.password(account)
        classes[cls] = classes.get(cls, 0) + 1
    empty = [a.name for a in found.accounts
             if found.password(a) == "empty" and a.name not in exempt]
    evidence.add(password_classes=classes, empty=empty, exempt=list(exempt))
    assert not empty, f"account(s) with an empty password: {', '.join(empty)}"


@rule("system_shell")
def _system_shell(found, setting, evidence):
    """System accounts (uid below login.defs' UID_MIN, and nobody) have nologin or
    false as shell (CIS: "Ensure system accounts do not have a valid login shell";
    root, sync, shutdown and halt exempt): a daemon's account with a shell is one
    stolen key or a weak service away from an interactive login. Medium: the account
    still needs a credential to log in."""
    exempt = setting.get("exempt", SPECIAL_SHELL_ACCOUNTS) or []
    system = [a for a in found.accounts if found.is_system(a) and a.name not in exempt]
    shells = [f"{a.name} (uid {a.uid}: {a.shell or 'empty, that is /bin/sh'})"
              for a in system if login_shell(a.shell)]
    evidence.add(uid_min=found.defs("UID_MIN"), system_accounts=len(system),
                 with_login_shell=shells, exempt=list(exempt))
    if shells:
        evidence.severity = "medium"
    assert not shells, f"system account(s) with a login shell: {', '.join(shells)}"


@rule("present")
def _present(found, names, evidence):
    """The accounts listed exist (getent passwd: local files and the directory
    services NSS asks): an admin or monitoring account the host must have. Medium."""
    if not names:
        pytest.skip("no accounts declared (users_baseline.present)")
    known = {a.name for a in found.accounts}
    missing = [name for name in names if name not in known]
    evidence.add(declared=list(names), missing=missing, truncated=found.truncated)
    if missing:
        evidence.severity = "medium"
    cut = " (the account list was cut: it may be further down)" if found.truncated else ""
    assert not missing, f"declared account(s) missing: {', '.join(missing)}{cut}"


@pytest.mark.check("users.accounts", severity="high", items="users_baseline", facts=["users"],
                   title="only root has UID 0, no empty password, system accounts "
                         "without a login shell, declared accounts present",
                   compare={"UID 0": ("allowed", "uid0"),
                            "empty passwords": ("exempt", "empty"),
                            "system accounts with a shell": ("exempt", "with_login_shell"),
                            "missing accounts": ("declared", "missing")})
def test_users_accounts(host, facts, item, evidence):
    """Each rule of the var `users_baseline` over `getent passwd`, /etc/shadow (each password
    field reduced to empty, locked or set on the host: no hash is read) and
    login.defs: `uid0` (high), `empty_password` (high), `system_shell` (medium),
    `present` (medium)."""
    setting = host.vars["users_baseline"].get(item)
    if setting is None:
        pytest.skip(f"users_baseline.{item} is not set")
    judge = RULES.get(item)
    if judge is None:   # the var's schema refuses it at load
        pytest.fail(f"users_baseline.{item} is not a rule ({', '.join(RULES)})", pytrace=False)
    evidence.add(rule=item)
    judge(facts.users, setting, evidence)
