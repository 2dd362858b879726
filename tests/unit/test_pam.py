"""The PAM area: the pam.d parser and its stacks, pam.su_wheel and pam.modules, and the
fix restoring the pam_wheel line (the fixtures' captures: Debian 12, RHEL CoreOS)."""

from __future__ import annotations

import base64
from pathlib import Path

import checkrun
import pytest

from fleetcheck.facts import ParseError, pam
from fleetcheck.facts.file import FileState
from fleetcheck.remediation import PlanContext, lookup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facts" / "pam"


def text(case: str) -> str:
    return (FIXTURES / f"{case}.txt").read_text()


def dump(**files: str) -> str:
    body = "".join(f"{pam.MARK_FILE}{name}\n{content}\n" for name, content in files.items())
    return f"{pam.MARK_DIR}/etc/pam.d\n{body}{pam.END}\n"


DEBIAN = text("debian12-pam.d")
WHEEL_SU = text("debian12-su").replace("# auth       required   pam_wheel.so\n",
                                       "auth       required   pam_wheel.so\n")
COMMON_AUTH = pam.parse(DEBIAN)


def debian(su: str) -> pam.PamConfig:
    cfg = pam.parse(DEBIAN)
    cfg.files["su"] = pam.parse_file(su, "su")
    return cfg


# -- the parser ---------------------------------------------------------------------------


def test_debian_su_stack_resolves_common_auth():
    stack, notes = pam.parse(DEBIAN).stack("su", "auth")
    assert [s.rule.module for s in stack] == ["pam_rootok.so", "pam_unix.so", "pam_deny.so",
                                              "pam_permit.so"]
    assert stack[1].via == ["su line 57 @include common-auth"]
    assert stack[1].rule.actions == {"success": "1", "default": "ignore"}
    assert notes == []


def test_rhel_substack_and_missing_include():
    stack, notes = pam.parse(text("rhcos-pam.d")).stack("su", "auth")
    assert stack[2].rule.module == "pam_wheel.so" and stack[3].substack == 1
    assert notes == ["su line 9: postlogin not found in /etc/pam.d"]


def test_a_loop_is_a_note_not_a_hang():
    cfg = pam.parse(dump(a="auth include b\n", b="auth include a\nauth required pam_deny.so\n"))
    stack, notes = cfg.stack("a", "auth")
    assert [s.rule.module for s in stack] == ["pam_deny.so"]
    assert notes == ["b line 1: a includes itself or nests too deep"]


def test_missing_service_file():
    assert pam.parse(DEBIAN).stack("vsftpd", "auth") == (
        [], ["no file vsftpd in /etc/pam.d (libpam uses `other` for it)"])


def test_continuations_comments_and_brackets():
    rules = pam.parse_file(text("continuation"))
    assert rules[0].args == ["readenv=1", "envfile=/etc/default/locale"]
    assert rules[1].args == ["user ingroup wh]eel", "quiet"]
    assert rules[2].quiet and rules[2].type == "session"
    assert (rules[3].type, rules[3].module) == ("@include", "common-auth")


@pytest.mark.parametrize("line, error", [
    ("auht required pam_unix.so", "not a module type"),
    ("auth requird pam_unix.so", "not a control"),
    ("auth [success=ok pam_unix.so", "without its ']'"),
    ("auth [success] pam_unix.so", "not a [value=action"),
    ("auth required", "expected `type control module`"),
    ("@include a b", "@include takes one file name"),
    ("auth required pam_unix.so \x1b[0m", "control character"),
])
def test_malformed_lines(line, error):
    with pytest.raises(ParseError, match=r"line 2: .*" + __import__("re").escape(error)):
        pam.parse_file("# first\n" + line + "\n")


def test_dump_errors_name_the_dump_line_and_the_file_line():
    with pytest.raises(ParseError, match=r"line 4 \(su line 2\): not a control"):
        pam.parse(dump(su="auth sufficient pam_rootok.so\nauth requird pam_wheel.so\n"))


def test_hostile_file_name_and_text_before_the_first_file():
    with pytest.raises(ParseError, match="not a file name"):
        pam.parse(f"{pam.MARK_DIR}/etc/pam.d\n{pam.MARK_FILE}../x\n{pam.END}\n")
    with pytest.raises(ParseError, match="before the first"):
        pam.parse(f"{pam.MARK_DIR}/etc/pam.d\nauth required pam_deny.so\n{pam.END}\n")


def test_command_quotes_the_directory_and_refuses_an_option():
    assert pam.command({}).render().endswith("sh /etc/pam.d")
    with pytest.raises(pam.FactError):
        pam.command({"pam": {"dir": "-x"}})


# -- pam.su_wheel ---------------------------------------------------------------------------

ON = {"pam": {"su_wheel": {"group": "wheel"}}}


def su_wheel(cfg, hostvars=ON):
    return checkrun.run_check("pam", "test_su_wheel", hostvars, pam=cfg)


def test_su_wheel_passes_with_the_line_in_force():
    outcome, _, evidence = su_wheel(debian(WHEEL_SU))
    assert outcome == "passed"
    assert evidence["wheel_rule"] == "su line 15: auth required pam_wheel.so"


def test_su_wheel_fails_on_debian_as_shipped():
    outcome, message, evidence = su_wheel(pam.parse(DEBIAN))
    assert outcome == "failed" and evidence.severity == "medium"
    assert message.startswith("su does not require membership of wheel")


def test_su_wheel_rhel_with_use_uid_passes_and_another_group_fails():
    cfg = pam.parse(text("rhcos-pam.d"))
    assert su_wheel(cfg)[0] == "passed"
    outcome, message, _ = su_wheel(cfg, {"pam": {"su_wheel": {"group": "admins"}}})
    assert outcome == "failed" and "(there: su line 7: auth required pam_wheel.so" in message


@pytest.mark.parametrize("su, expected", [
    # pam_wheel before pam_rootok: root itself is refused
    ("auth required pam_wheel.so\nauth sufficient pam_rootok.so\n", "root would be refused"),
    # a sufficient module before pam_wheel lets its users past it
    ("auth sufficient pam_rootok.so\nauth sufficient pam_unix.so\nauth required pam_wheel.so\n",
     "ends the stack on success before pam_wheel"),
    # deny reverses pam_wheel: the members are refused, not the others
    ("auth sufficient pam_rootok.so\nauth required pam_wheel.so deny group=wheel\n",
     "does not require membership"),
    ("auth sufficient pam_rootok.so\nauth sufficient pam_wheel.so trust\n",
     "does not require membership"),
])
def test_su_wheel_failures(su, expected):
    outcome, message, _ = su_wheel(debian(su))
    assert outcome == "failed" and expected in message


def test_su_wheel_trust_before_the_rule_is_low():
    outcome, message, evidence = su_wheel(debian(
        "auth sufficient pam_rootok.so\nauth sufficient pam_wheel.so trust\n"
        "auth required pam_wheel.so\n"))
    assert outcome == "failed" and evidence.severity == "low" and "without a password" in message


def test_su_wheel_off_and_no_su_file():
    assert su_wheel(pam.parse(DEBIAN), {"pam": {"su_wheel": None}})[0] == "skipped"
    cfg = pam.parse(DEBIAN)
    del cfg.files["su"]
    outcome, message, _ = su_wheel(cfg)
    assert outcome == "failed" and "libpam uses `other`" in message


# -- pam.modules ----------------------------------------------------------------------------


def modules(rules):
    return checkrun.run_check("pam", "test_modules", {"pam": {"modules": rules}},
                              pam=pam.parse(DEBIAN))


def test_modules_found_through_includes():
    outcome, _, evidence = modules([
        {"service": "su", "type": "auth", "module": "pam_unix.so", "args": ["nullok"],
         "control": "[default=ignore success=1]"},
        {"service": "sshd", "type": "session", "control": "required",
         "module": "/lib/x86_64-linux-gnu/security/pam_limits.so"}])
    assert outcome == "passed"
    assert evidence["found"]["su: auth [default=ignore success=1] pam_unix.so nullok"] == \
        "common-auth line 17: auth [success=1 default=ignore] pam_unix.so nullok"


def test_modules_missing_ones_fail_with_what_is_there():
    outcome, message, _ = modules([
        {"service": "sshd", "type": "auth", "module": "pam_faillock.so"},
        {"service": "su", "type": "auth", "module": "pam_unix.so", "control": "required"}])
    assert outcome == "failed"
    assert message == ("sshd: no `auth * pam_faillock.so`; su: no `auth required pam_unix.so` "
                       "(there: common-auth line 17: auth [success=1 default=ignore] "
                       "pam_unix.so nullok)")


def test_modules_none_declared():
    assert modules([])[0] == "skipped"


# -- the fix ----------------------------------------------------------------------------------


def file_state(content: str | None):
    if content is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "root", base64.b64encode(content.encode()).decode())


def plan(su, hostvars=ON):
    return lookup("pam.su_wheel")(PlanContext("pam.su_wheel", "web1", hostvars,
                                              checkrun.Facts(file=file_state(su))))


def test_plan_restores_the_line_right_after_pam_rootok_and_the_check_then_passes():
    shipped = text("debian12-su")
    p = plan(shipped)
    (action,) = p.actions
    assert action.path == "/etc/pam.d/su"
    new = action.content.decode()
    assert "auth       sufficient pam_rootok.so\nauth       required   pam_wheel.so use_uid\n" \
        in new
    assert new.replace("auth       required   pam_wheel.so use_uid\n", "", 1) == shipped
    assert su_wheel(debian(new))[0] == "passed"


def test_plan_replaces_wrong_wheel_lines_keeps_deny_and_names_the_group():
    su = ("auth sufficient pam_rootok.so\nauth sufficient pam_wheel.so trust\n"
          "auth required pam_wheel.so deny group=nosu\nauth required pam_wheel.so group=other\n"
          "@include common-auth\n")
    p = plan(su, {"pam": {"su_wheel": {"group": "admins"}}})
    assert p.actions[0].content.decode() == (
        "auth sufficient pam_rootok.so\n"
        "auth       required   pam_wheel.so use_uid group=admins\n"
        "auth required pam_wheel.so deny group=nosu\n@include common-auth\n")


@pytest.mark.parametrize("su, hostvars, reason", [
    ("auth required pam_unix.so\n", ON, "no `auth sufficient pam_rootok.so`"),
    (None, ON, "does not exist"),
    ("auth requird pam_unix.so\n", ON, "cannot be read"),
    ("auth sufficient pam_rootok.so\n", {"pam": {"su_wheel": {"group": "wh eel"}}},
     "must be a group name"),
    ("auth sufficient pam_rootok.so\n", {"pam": {"su_wheel": {"group": "a\nauth"}}},
     "pam.su_wheel.group"),
    ("auth sufficient \\\n pam_rootok.so\n", ON, "continues over several lines"),
])
def test_plan_refusals(su, hostvars, reason):
    p = plan(su, hostvars)
    assert p.refused and reason in p.reason, p.reason
