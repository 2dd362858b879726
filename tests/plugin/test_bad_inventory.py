"""Every bad inventory input stops the run before any host is touched: one line naming
the file (and the YAML line where there is one), exit code 4, no traceback."""

import pytest

CHECK = """
import pytest
@pytest.mark.check("demo.touch", severity="info")
def test_touch(host):
    raise AssertionError("a host was touched")
"""

CASES = {
    "missing file": (None, [], r"ERROR: missing\.yml: no such file"),
    "yaml syntax": ("all:\n  hosts: [a\n  vars: {}\n", [], r"ERROR: inv\.yml:\d+: .*"),
    "list for mapping": ("all:\n  hosts:\n    - web1\n", [], r"ERROR: inv\.yml:2: hosts of group .all. must be a mapping.*got a list"),
    "string port": ("all:\n  hosts:\n    web1:\n      ansible_port: ssh\n", [],
                    r"ERROR: inv\.yml:4: .*ansible_port.*'ssh'.*"),
    # a connection fleetcheck lacks (telnet) refuses its host only: test_host_refusals.py
    "connection not a plugin name": (
        "all:\n  hosts:\n    web1:\n      ansible_connection: ssh -oProxyCommand=x\n",
        [], r"ERROR: inv\.yml:4: .*'ssh -oProxyCommand=x' is not an Ansible plugin name"),
    "empty range": ("all:\n  hosts:\n    web[05:01]:\n", [], r"ERROR: inv\.yml:3: .*web\[05:01\].*"),
    "malformed range": ("all:\n  hosts:\n    web[1:\n", [], r"ERROR: inv\.yml:3: .*web\[1.*"),
    "limit selects nothing": ("all:\n  hosts:\n    web1:\n", ["--limit", "db*"],
                              r"ERROR: --limit 'db\*' selects no host.*"),
    "group cycle": ("all:\n  children:\n    a:\n      children:\n        b:\n          children:\n"
                    "            a:\n", [], r"ERROR: inv\.yml:\d+: .*a -> b -> a.*"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_inventory_one_line_exit_4(pytester, case):
    text, extra, pattern = CASES[case]
    if text is not None:
        pytester.makefile(".yml", inv=text)
    pytester.makepyfile(test_touch=CHECK)
    name = "inv.yml" if text is not None else "missing.yml"
    res = pytester.runpytest_subprocess("--inventory", name, *extra)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in res.stderr.lines if line.strip()]
    assert len(lines) == 1, res.stderr.lines
    res.stderr.re_match_lines([pattern])
    assert "Traceback" not in res.stdout.str() + res.stderr.str()
    assert "a host was touched" not in res.stdout.str()
