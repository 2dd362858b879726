"""NFS exports as the inventory declares them (var `nfs: {exports: [...]}`).

One record per host: the configuration (/etc/exports; the ganesha config on hosts
that have one; the kernel's table from `exportfs -v` where kernel nfsd runs), the
controller's `showmount -e`, and the insecure-export rule (no_root_squash, insecure,
rw to the world) cover every export of the host, declared or not.
"""

import pytest

from fleetcheck.facts.exports import compare, declared_exports, views
from fleetcheck.facts.smbclient import address


def _reads(host, item):
    """The facts test_nfs_exports reads, gathered ahead (fleetcheck.gather)."""
    if declared_exports(host.vars):
        yield from ("ganesha", "exports", "exportfs")
        yield "showmount", {"address": address(host.vars, host.name)}


@pytest.mark.check("nfs.exports", severity="high", facts=[_reads],
                   title="declared NFS exports exist as declared, none insecure, all offered",
                   compare={"exports": ("declared", "configured"),
                            "showmount": (None, "showmount")})
def test_nfs_exports(host, facts, evidence):
    """Where `nfs.exports` is declared: each export is in `/etc/exports`, in the ganesha
    config on hosts that have one and in `exportfs -v` where kernel nfsd runs, to the
    declared clients with the declared options; `no_root_squash`, `insecure` or `rw` to
    `*` on any export fails unless its declaration says `allow_insecure: true`;
    `showmount -e` from the controller lists each one for its clients."""
    declared = declared_exports(host.vars)
    if not declared:
        pytest.skip("no NFS exports declared (var nfs.exports)")
    problems = []
    seen = {}
    for name, pairs in views(facts):
        for found in compare(name, pairs, declared).values():
            problems += found
        seen[name] = sorted({f"{p} {c.host}({','.join(c.options)})" for p, c in pairs})
    shown = facts.get("showmount", address=address(host.vars, host.name))
    if not shown.ok:
        problems.append(shown.error)
    else:
        for want in declared:
            clients = shown.clients(want["path"])
            if clients is None:
                problems.append(f"showmount -e does not list {want['path']}")
                continue
            clients = ["*" if c == "(everyone)" else c for c in clients]
            missing = [c for c in want["clients"] if c not in clients]
            if missing:
                problems.append(f"showmount -e lists {want['path']} for {','.join(clients)}, "
                                f"not {','.join(missing)}")
    evidence.add(declared=[{k: e.get(k) for k in ("path", "clients", "options")}
                           for e in declared], configured=seen,
                 showmount={e.path: e.clients for e in shown.exports} if shown.ok
                 else shown.error)
    assert not problems, "; ".join(problems)
