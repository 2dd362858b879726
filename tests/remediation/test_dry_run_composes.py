"""What a run says about fixes is what they would do: the hint without --remediate
names a fix only when it would plan actions here (else why not); a dry run of several
items that change one file shows diffs that compose (each planned against what the
earlier items would have written), on the terminal too, bounded; the real run writes
the same. The "hosts" are local:// with files in a temporary directory."""

import json
from pathlib import Path

import pytest

# A toy check over items: the file `conf` must hold the line `KEY = VALUE` of each
# entry of the var `lines`; an item whose value is "refuse" has a refused fix, one
# whose value is "long" a diff of 100 lines.
CHECK = '''
import pytest
from fleetcheck.remediation import WriteFile, fix, refuse


@pytest.mark.check("demo.lines", severity="medium", items="lines", title="lines set")
def test_lines(host, facts, item, evidence):
    f = facts.get("file", path=host.vars["conf"])
    want = f"{item} = {host.vars['lines'][item]}"
    assert f.exists and want in f.text.splitlines(), f"{item} missing"


@fix("demo.lines")
def plan_lines(ctx):
    value = ctx.vars["lines"][ctx.item]
    if value == "refuse":
        return refuse(ctx.check_id, ctx.host, f"{ctx.item} cannot be set here")
    f = ctx.facts.get("file", path=ctx.vars["conf"])
    before = f.text if f.exists else ""
    add = f"{ctx.item} = {value}\\n"
    if value == "long":
        add += "".join(f"filler{n} = 1\\n" for n in range(100))
    return ctx.plan(WriteFile(f"set {ctx.item}", path=ctx.vars["conf"],
                              content=(before + add).encode(),
                              before=f.content if f.exists else None))
'''


def setup(pytester, lines: dict[str, str]) -> Path:
    base = pytester.path / "h"
    base.mkdir()
    conf = base / "app.conf"
    conf.write_text("# app\n")
    hv = {"ansible_connection": "local", "conf": str(conf), "lines": lines,
          "fleetcheck_lock_dir": str(base / "lock"),
          "fleetcheck_backup_dir": str(base / "backups")}
    pytester.makefile(".yml", inv=f"all:\n  hosts:\n    h1: {json.dumps(hv)}\n")
    pytester.makepyfile(test_lines=CHECK)
    return conf


def run(pytester, *args):
    res = pytester.runpytest_subprocess("--inventory", "inv.yml", "-p", "no:randomly", *args)
    data = json.loads((pytester.path / "reports" / "last" / "results.json").read_text())
    return res, {r["item"]: r for r in data["records"]}


def test_the_hint_names_a_fix_only_when_it_would_act(pytester):
    setup(pytester, {"a": "1", "b": "refuse"})
    res, recs = run(pytester)
    assert recs["a"]["plan"]["status"] == "available"
    assert recs["a"]["plan"]["summary"] == "a fix exists: run with --remediate (set a)"
    assert recs["b"]["plan"] == {"status": "no automatic fix here",
                                 "summary": "no automatic fix here: b cannot be set here"}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_dry_run_diffs_compose_and_are_on_the_terminal(pytester, xdist):
    conf = setup(pytester, {"a": "1", "b": "2", "c": "3"})
    res, recs = run(pytester, "--remediate", "--dry-run", *xdist)
    assert [recs[k]["outcome"] for k in "abc"] == ["would-fix"] * 3
    diff_c = recs["c"]["plan"]["diffs"][str(conf)]
    # c is planned against the file a and b would have written: their lines are context
    assert " a = 1\n b = 2\n+c = 3\n" in diff_c
    assert not [line for line in diff_c.splitlines() if line.startswith("-")
                and not line.startswith("---")]
    assert conf.read_text() == "# app\n"            # nothing written
    out = res.stdout.str()
    assert "fleetcheck dry run: 3 fix(es) --remediate would apply" in out
    assert "h1  demo.lines[h1-b]: set b" in out
    assert "    +b = 2" in out
    # the plans come before the summary, which stays the last block
    assert out.index("fleetcheck dry run") < out.index("fleetcheck summary")
    # the real run writes what the dry run showed
    res, recs = run(pytester, "--remediate")
    assert [recs[k]["outcome"] for k in "abc"] == ["fixed"] * 3
    assert conf.read_text() == "# app\na = 1\nb = 2\nc = 3\n"


def test_a_long_diff_is_cut_and_says_so(pytester):
    conf = setup(pytester, {"a": "long"})
    res, recs = run(pytester, "--remediate", "--dry-run")
    assert len(recs["a"]["plan"]["diffs"][str(conf)].splitlines()) > 100   # whole in the report
    out = res.stdout.str()
    assert f"... diff of {conf} cut: " in out and "more line(s) in report.html" in out
    assert "filler30 = 1" in out and "filler99 = 1" not in out


def test_the_sysctl_fix_composes_over_pending_content():
    """The real sysctl.value fix, two keys into one file, the second planned over what
    the first would write (as the hooks do it in a dry run)."""
    from fleetcheck.facts.file import FileState
    from fleetcheck.facts.sysctl import Sysctl
    from fleetcheck.remediation import PlanContext, WriteFile, lookup
    from fleetcheck.remediation.hooks import PendingFacts

    class Facts:
        def get(self, fact, /, **params):
            return {"sysctl": Sysctl({"net.ipv4.ip_forward": "1", "kernel.sysrq": "1"}),
                    "file": FileState(exists=False)}[fact]

    pending: dict = {}
    settings = {"sysctl": {"net.ipv4.ip_forward": 0, "kernel.sysrq": 0}}
    plans = []
    for key in settings["sysctl"]:
        p = lookup("sysctl.value")(PlanContext("sysctl.value", "web1", settings,
                                               PendingFacts(Facts(), pending), key))
        for action in p.actions:
            if isinstance(action, WriteFile):
                pending[action.path] = action.content
        plans.append(p)
    path = "/etc/sysctl.d/99-fleetcheck.conf"
    second = next(a for a in plans[1].actions if isinstance(a, WriteFile))
    assert second.before == plans[0].actions[0].content      # the first key's file
    assert second.content.decode().splitlines()[-2:] == ["net.ipv4.ip_forward = 0",
                                                         "kernel.sysrq = 0"]
    assert " net.ipv4.ip_forward = 0\n+kernel.sysrq = 0" in plans[1].diffs()[path]


def test_no_fix_is_promised_for_a_sysctl_key_the_kernel_lacks():
    from fleetcheck.facts.file import FileState
    from fleetcheck.facts.sysctl import Sysctl
    from fleetcheck.remediation import PlanContext, lookup

    class Facts:
        def get(self, fact, /, **params):
            return {"sysctl": Sysctl({}), "file": FileState(exists=False)}[fact]

    p = lookup("sysctl.value")(PlanContext("sysctl.value", "web1", {"sysctl": {
        "net.ipv4.tcp_bbr_magic": 1}}, Facts(), "net.ipv4.tcp_bbr_magic"))
    assert p.refused and p.reason.startswith("this kernel has no 'net.ipv4.tcp_bbr_magic'")
