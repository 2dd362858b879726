"""NFS exports as the inventory declares them (var `nfs: {exports: [...]}`).

One record per host: the configuration (/etc/exports; the ganesha config on hosts
that have one; the kernel's table from `exportfs -v` where kernel nfsd runs), the
controller's `showmount -e`, and the insecure-export rule (no_root_squash, insecure,
rw to the world) cover every export of the host, declared or not.
"""

import pytest

from fleetcheck.facts.exports import ExportClient, insecure_findings
from fleetcheck.facts.smbclient import address

GANESHA_FAMILIES = {"ro", "rw", "root_squash", "no_root_squash", "all_squash"}


def declared_exports(hostvars):
    out = []
    for e in (hostvars.get("nfs") or {}).get("exports") or []:
        if isinstance(e, dict) and e.get("path"):
            clients = e.get("clients", "*")
            clients = clients if isinstance(clients, list) else str(clients).split()
            out.append(dict(e, clients=[str(c) for c in clients],
                            options=[str(o) for o in e.get("options") or []]))
    return out


def views(facts):
    """(name, [(path, ExportClient)]) for every configuration the host serves from."""
    gan = facts.ganesha
    etc = facts.exports
    table = facts.exportfs
    out = []
    if etc.exists or not gan.exists:
        out.append(("/etc/exports", [(e.path, c) for e in etc.exports for c in e.clients]))
    if gan.exists:
        out.append(("ganesha", [(e.path, ExportClient(h, c.options)) for e in gan.exports
                                for c in e.clients for h in c.clients]))
    if table.active:
        out.append(("exportfs -v", [(e.path, c) for e in table.exports for c in e.clients]))
    return out


def compare(name, pairs, declared):
    problems = []
    for want in declared:
        for client in want["clients"]:
            have = [c for p, c in pairs if p == want["path"] and c.host == client]
            if not have:
                problems.append(f"{name}: {want['path']} is not exported to {client}")
                continue
            wanted = set(want["options"])
            if name == "ganesha":
                wanted &= GANESHA_FAMILIES
            missing = sorted(wanted - set(have[0].effective))
            if missing:
                problems.append(f"{name}: {want['path']} {client} lacks {','.join(missing)}")
    allowed = {e["path"] for e in declared if e.get("allow_insecure")}
    for path, client in pairs:
        if path not in allowed:
            problems += [f"{name}: {f}" for f in insecure_findings(path, client)]
    return problems


@pytest.mark.check("nfs.exports", severity="high",
                   title="declared NFS exports exist as declared, none insecure, all offered")
def test_nfs_exports(host, facts, evidence):
    declared = declared_exports(host.vars)
    if not declared:
        pytest.skip("no NFS exports declared (var nfs.exports)")
    problems = []
    seen = {}
    for name, pairs in views(facts):
        problems += compare(name, pairs, declared)
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
