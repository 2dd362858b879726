"""samba.shares: declared shares configured as declared, their paths directories on the
host, listed by the controller's `smbclient -L`; no share writable by guests unless allowed."""

import pytest

from fleetcheck.facts.smbclient import address


def test_samba_shares(entry, facts):
    declared = [s for s in (entry.vars.get("samba") or {}).get("shares") or []
                if isinstance(s, dict) and s.get("name")]
    if not declared:
        pytest.skip("no Samba shares declared")
    tp = facts.smbconf
    assert tp.installed, "testparm not found: Samba is not installed"
    problems = [] if tp.clean else ["testparm -s: " + "; ".join(tp.problems)]
    paths = tuple(sorted({str(s["path"]) for s in declared if s.get("path")}))
    kinds = facts.get("paths", paths=paths).kinds
    listing = facts.get("smbclient", address=address(entry.vars, entry.name))
    if not listing.ok:
        problems.append(listing.error)
    listed = {s.lower() for s in listing.shares}
    for want in declared:
        name = str(want["name"])
        have = tp.conf.share(name)
        if have is None:
            problems.append(f"[{name}] is not configured")
        else:
            if want.get("path") and have.path != str(want["path"]):
                problems.append(f"[{name}] path is {have.path}")
            problems += [f"[{name}] {key} is {getattr(have, key)}"
                         for key in ("read_only", "guest_ok")
                         if key in want and bool(want[key]) != getattr(have, key)]
        if want.get("path") and kinds.get(str(want["path"])) != "dir":
            problems.append(f"[{name}] path {want['path']} is not a directory")
        if listing.ok and name.lower() not in listed:
            problems.append(f"[{name}] is not listed by smbclient -L")
    allowed = {str(s["name"]).lower() for s in declared if s.get("allow_guest_write")}
    problems += [f"[{s.name}] is writable by guests" for s in tp.conf.shares
                 if s.guest_ok and not s.read_only and s.available
                 and s.name.lower() not in allowed]
    assert not problems, "; ".join(problems)
