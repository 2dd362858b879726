"""connect.hostkeys.HostIndex: an ssh_config's lookup by host name through the index
gives what paramiko's lookup over the whole file gives, for generated files of Host
blocks (literal names, wildcards, negations, several names on one line, repeated
names) and Match blocks, and for host names that are and are not in them."""

from __future__ import annotations

import io

import paramiko
from hypothesis import given
from hypothesis import strategies as st

from fleetcheck.connect.hostkeys import HostIndex, host_index

NAMES = ["web1", "web2", "db1", "app1", "x.example.test", "WEB1"]
PATTERNS = NAMES + ["web*", "*", "!web2", "db?", "*.example.test", "!*.example.test"]
OPTIONS = [("User", ["ops", "app", "root"]), ("Port", ["22", "2222"]),
           ("IdentityFile", ["~/.ssh/a", "~/.ssh/b"]), ("HostName", ["10.0.0.1", "%h.lab"]),
           ("ProxyJump", ["bastion", "none"]), ("ConnectTimeout", ["5", "10"])]

block = st.tuples(
    st.one_of(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3).map(
                  lambda ps: "Host " + " ".join(ps)),
              st.sampled_from(["Match host web1", "Match all", "Match user root",
                               "Match host db*,!db2"])),
    st.lists(st.tuples(st.sampled_from(range(len(OPTIONS))), st.integers(0, 2)),
             min_size=1, max_size=3))


def render(blocks) -> str:
    out = []
    for head, options in blocks:
        out.append(head)
        for i, j in options:
            key, values = OPTIONS[i]
            out.append(f"    {key} {values[j % len(values)]}")
    return "\n".join(out) + "\n"


@given(st.lists(block, max_size=12))
def test_the_index_looks_up_what_the_whole_file_gives(blocks):
    parsed = paramiko.SSHConfig()
    parsed.parse(io.StringIO(render(blocks)))
    index = HostIndex(parsed)
    for name in NAMES + ["other", "web3", "db2"]:
        assert index.lookup(name) == parsed.lookup(name), (name, render(blocks))


def test_a_block_per_host_is_found_by_name_and_the_rest_kept_for_all():
    text = "".join(f"Host h{i}\n    HostName 10.1.{i // 250}.{i % 250}\n" for i in range(500))
    parsed = paramiko.SSHConfig()
    parsed.parse(io.StringIO("Host *.bad\n    User nobody\n" + text + "Host *\n    User ops\n"))
    index = host_index(parsed)
    assert host_index(parsed) is index                       # once per parsed file
    # paramiko starts every file with an empty "Host *" block of its own
    assert len(index.by_name) == 500 and len(index.always) == 3
    assert index.lookup("h321") == parsed.lookup("h321")
    assert index.lookup("h321")["hostname"] == "10.1.1.71"
    assert index.lookup("h321")["user"] == "ops"


def test_a_file_that_canonicalizes_names_is_looked_up_whole():
    parsed = paramiko.SSHConfig()
    parsed.parse(io.StringIO("Host *\n    CanonicalizeHostname no\nHost web1\n    User a\n"))
    index = HostIndex(parsed)
    assert index.by_name is None and index.lookup("web1") == parsed.lookup("web1")
