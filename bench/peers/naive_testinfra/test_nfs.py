"""nfs.exports: declared exports in every configuration the host serves from, none
insecure, all offered to the controller's `showmount -e`."""

import pytest

from fleetcheck.facts.exports import compare, declared_exports, views
from fleetcheck.facts.smbclient import address


def test_nfs_exports(entry, facts):
    declared = declared_exports(entry.vars)
    if not declared:
        pytest.skip("no NFS exports declared")
    problems = [p for name, pairs in views(facts)
                for found in compare(name, pairs, declared).values() for p in found]
    shown = facts.get("showmount", address=address(entry.vars, entry.name))
    assert shown.ok, shown.error
    for want in declared:
        clients = shown.clients(want["path"])
        if clients is None:
            problems.append(f"showmount -e does not list {want['path']}")
            continue
        clients = ["*" if c == "(everyone)" else c for c in clients]
        problems += [f"showmount -e does not list {want['path']} for {c}"
                     for c in want["clients"] if c not in clients]
    assert not problems, "; ".join(problems)
