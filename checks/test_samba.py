"""Samba shares as the inventory declares them (var `samba: {shares: [...]}`).

One record per host, not per share: testparm, the controller's `smbclient -L` and the
"writable share open to guests" rule are about the whole server, and an undeclared
share can be the finding. The evidence lists every declared share.
"""

import pytest

from fleetcheck.facts.smbclient import address


def _declared(host):
    return [s for s in (host.vars.get("samba") or {}).get("shares") or []
            if isinstance(s, dict) and s.get("name")]


def _share_paths(declared) -> tuple:
    return tuple(sorted({str(s["path"]) for s in declared if s.get("path")}))


def _reads(host, item):
    """The facts test_samba_shares reads, gathered ahead (fleetcheck.gather)."""
    declared = _declared(host)
    if declared:
        yield "smbconf"
        yield "paths", {"paths": _share_paths(declared)}
        yield "smbclient", {"address": address(host.vars, host.name)}


@pytest.mark.check("samba.shares", severity="high", facts=[_reads],
                   title="declared Samba shares exist as declared and are served",
                   compare={"shares": (None, "shares"),
                            "smbclient listing": (None, "smbclient"),
                            "testparm problems": (None, "testparm_problems"),
                            "guest-writable": (None, "guest_writable")})
def test_samba_shares(host, facts, evidence):
    """Where `samba.shares` is declared: `testparm -s` is clean, each share is in the
    loaded config with its path and options, the path is a directory, and `smbclient -L
    //ADDRESS -N` from the controller lists it; any share writable by guests fails
    unless its declaration says `allow_guest_write: true`."""
    declared = _declared(host)
    if not declared:
        pytest.skip("no Samba shares declared (var samba.shares)")
    tp = facts.smbconf
    if not tp.installed:
        pytest.fail("testparm not found: Samba is not installed", pytrace=False)
    problems = []
    if not tp.clean:
        problems.append(f"testparm -s is not clean (exit {tp.rc}): " + "; ".join(tp.problems))
    kinds = facts.get("paths", paths=_share_paths(declared)).kinds
    listing = facts.get("smbclient", address=address(host.vars, host.name))
    if not listing.ok:
        problems.append(listing.error)
    shares = {}
    for want in declared:
        name = str(want["name"])
        have = tp.conf.share(name)
        row = {"declared": {k: want.get(k) for k in ("path", "read_only", "guest_ok")},
               "present": have is not None, "listed": listing.ok and any(
                   s.lower() == name.lower() for s in listing.shares)}
        shares[name] = row
        if have is None:
            problems.append(f"share [{name}] is not in the Samba configuration")
        else:
            row.update(path=have.path, read_only=have.read_only, guest_ok=have.guest_ok)
            if want.get("path") and have.path != str(want["path"]):
                problems.append(f"[{name}] path is {have.path}, declared {want['path']}")
            for key in ("read_only", "guest_ok"):
                if key in want and bool(want[key]) != row[key]:
                    problems.append(f"[{name}] {key.replace('_', ' ')} is "
                                    f"{'yes' if row[key] else 'no'}, declared "
                                    f"{'yes' if want[key] else 'no'}")
        if want.get("path"):
            row["path_exists"] = kinds.get(str(want["path"])) == "dir"
            if not row["path_exists"]:
                problems.append(f"[{name}] path {want['path']} is not a directory on the host "
                                f"({kinds.get(str(want['path']), 'missing')})")
        if listing.ok and not row["listed"]:
            problems.append(f"[{name}] is not listed by smbclient -L from the controller")
    allowed = {str(s["name"]).lower() for s in declared if s.get("allow_guest_write")}
    open_shares = [s.name for s in tp.conf.shares if s.guest_ok and not s.read_only
                   and s.available and s.name.lower() not in allowed]
    for name in open_shares:
        problems.append(f"[{name}] is writable by guests (allow it with allow_guest_write: "
                        "true on its declaration)")
    evidence.add(shares=shares, testparm_clean=tp.clean, testparm_problems=tp.problems,
                 smbclient=listing.shares if listing.ok else listing.error,
                 guest_writable=open_shares)
    assert not problems, "; ".join(problems)
