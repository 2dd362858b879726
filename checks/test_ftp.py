"""FTP (LPIC-2 212.2): vsftpd's configuration in effect and the anonymous login as the
controller sees it (ftp.vsftpd; fleetcheck.probes.ftp: only to the host's inventory
address, nothing ever written on the server). From the var `ftp`
(fleetcheck.facts.vsftpd.VARS); `ftp.vsftpd: null` turns the check off."""

import pytest

from fleetcheck.checkmeta import when_set
from fleetcheck.facts.vsftpd import ANON_WRITES, as_bool, declared, same, settings
from fleetcheck.inventory import hostvars as hv
from fleetcheck.probes.ftp import login_test, target
from fleetcheck.probes.ftp import problems as login_problems


def config_problems(cfg, conf) -> list[tuple[str, str]]:
    """The file's own findings: lines vsftpd refuses, declared values not in effect,
    anonymous writes enabled."""
    found = []
    for bad in cfg.refused[:5]:
        found.append(("high", f"line {bad.line}: vsftpd refuses {bad.text} ({bad.reason}): "
                      "it does not start with this file"))
    for name, want in declared(conf).items():
        have, in_file = cfg.value(name)
        if same(want, have):
            continue
        severity = "high" if name == "anonymous_enable" and as_bool(have) else "medium"
        where = "" if in_file else " (not in the file: vsftpd's compiled-in default)"
        found.append((severity, f"{name}={have if have is not None else '(unset)'}{where}, "
                      f"declared {want}"))
    if cfg.enabled("anonymous_enable") and cfg.enabled("write_enable"):
        for name in ANON_WRITES:
            if cfg.enabled(name):
                found.append(("high", f"{name}=YES with write_enable=YES and anonymous "
                              "logins on: anyone may write on the server"))
    return found


@pytest.mark.check("ftp.vsftpd", severity="high",
                   facts=[when_set("ftp", "vsftpd", key="vsftpd")],
                   title="vsftpd refuses anonymous logins and anonymous writes, and its "
                         "declared directives hold",
                   compare={"directives": (None, "directives"),
                            "running": (None, "running"),
                            "refused": (None, "refused"),
                            "anonymous login": (None, "login_test")})
def test_vsftpd(host, facts, evidence):
    """Where vsftpd is installed: its configuration file (`ftp.vsftpd.config`, else
    /etc/vsftpd.conf or /etc/vsftpd/vsftpd.conf) read as vsftpd 3.0.3 reads it, each
    directive's value in effect being the file's, else vsftpd's compiled-in default
    (anonymous_enable's is YES, whatever Debian's man page says). Judged, each an item
    of the evidence: anonymous_enable as declared (`ftp.vsftpd.anonymous_enable`,
    default false), in the file and from the controller, which tries `USER anonymous`
    and a harmless `PASS` on the host's inventory address (port `ftp.vsftpd.port`, 21)
    and quits: an anonymous login that is on, in the file or accepted, where it is
    not declared is high; `anon_upload_enable`, `anon_mkdir_write_enable` or
    `anon_other_write_enable` on with write_enable and anonymous logins (anyone
    writes on the server: judged from the file only, the test never writes) is high;
    `chroot_local_user` as declared (`ftp.vsftpd.chroot_local_user`) and each of
    `ftp.vsftpd.directives` ({name: value}, booleans compared as vsftpd reads them)
    are medium; a line vsftpd refuses (an unknown name, `name = value`, a bad boolean:
    vsftpd will not start) is high. Not applicable where vsftpd is not installed, or
    is installed but not running with nothing declared beyond the defaults and nothing
    wrong in its file. --remediate sets the declared directives (and the anonymous
    ones to NO) in place, checks the file with vsftpd itself, then restarts vsftpd."""
    conf = settings(host.vars)
    if conf is None:
        pytest.skip("vsftpd is not judged (ftp.vsftpd is null)")
    state = facts.vsftpd
    if not state.installed:
        pytest.skip("vsftpd is not installed")
    cfg = state.config
    problems = config_problems(cfg, conf) if state.exists else [
        ("high", f"{state.path} does not exist: vsftpd runs on its compiled-in defaults "
                 "(anonymous logins on)")]
    nothing_declared = conf["chroot_local_user"] is None and not conf["directives"]
    if not state.running and nothing_declared and not problems:
        pytest.skip("vsftpd is installed but not running, and nothing is declared")
    items = {name: {"declared": want, "in_effect": cfg.value(name)[0],
                    "in_file": cfg.value(name)[1]}
             for name, want in declared(conf).items()}
    for name in ("write_enable",) + ANON_WRITES:
        items.setdefault(name, {"in_effect": cfg.value(name)[0], "in_file": cfg.value(name)[1]})
    evidence.add(binary=state.binary, running=state.running, config=state.path,
                 directives=items, refused=[f"line {r.line}: {r.text}" for r in cfg.refused])
    address, why = target(hv.address(host.vars, host.name))
    if not conf["probe"]:
        evidence.add(login_test="off (ftp.vsftpd.probe)")
    elif address is None:
        evidence.add(login_test=f"not run: {why}")
    elif not state.running:
        evidence.add(login_test="not run: vsftpd is not running")
    else:
        test = login_test(address, conf["port"], password=conf["password"],
                          timeout=float(conf["timeout"]), allowed=address)
        evidence.add(login_test={"address": address, "port": test.port,
                                 "banner": test.banner, "session": test.steps,
                                 "error": test.error})
        if test.connected:
            problems += login_problems(test, bool(conf["anonymous_enable"]))
        else:
            problems.append(("medium", f"vsftpd runs but {test.error}"))
    if problems:
        evidence.advice = (f"edit {state.path or 'vsftpd.conf'} (name=value, no blanks "
                           "around '='), then restart vsftpd")
    evidence.judge(problems)
