"""fleetcheck.values: the kinds of values that reach a command line or a config file.

Each kind accepts what real inventories hold and refuses what a command would read as
an option, what breaks a line, and what is not that kind; messages are one line and
show the value cut to 80 characters."""

import pytest

from fleetcheck import values

GOOD = {
    values.host: ["web1", "web1.lab.test", "10.213.47.30", "fe80::1%eth0", "[2001:db8::1]",
                  "db_2"],
    values.user: ["root", "deploy", "svc.app", "user@EXAMPLE.COM", "x$"],
    values.unit: ["ssh", "nfs-ganesha", "getty@tty1", "systemd-journald.service",
                  "dev-disk-by\\x2duuid.device"],
    values.sysctl_key: ["net.ipv4.ip_forward", "net/ipv4/ip_forward", "kernel.pid_max",
                        "net.ipv4.conf.eth0/100.forwarding"],
    values.path: ["/etc/exports", "/srv/my share", "/proc/mdstat"],
    values.local_path: ["keys/id_ed25519", "/root/.ssh/known_hosts", "~/k"],
    values.dns_name: ["lab.test", "47.213.10.in-addr.arpa", "lab-xfer", "lab.test.", "_srv"],
    values.address: ["10.0.0.1", "2001:db8::1"],
    values.word: ["security", "42", "a b"],
}

BAD = {
    values.host: ["-oProxyCommand=touch /tmp/x", "", "a b", "a;b", "x" * 300, "a..b",
                  "web1\n", 12, None],
    values.user: ["-", "--command=x", "-ctouch /tmp/x", "a b", "a/b", "", "root\n", 0],
    values.unit: ["..", ".", "-x", "--help", "a/b", "a b", "ssh\n", ""],
    values.sysctl_key: ["--help", "-e", "net.ipv4.ip_forward\n", "a b", "net..x", "a=b", ""],
    values.path: ["etc/exports", "-x", "/a/../etc/shadow", "/a\nb", "/a\x00b", ""],
    values.local_path: ["-oProxyCommand=x", "a\nb", ""],
    values.dns_name: ["-x", "a b", "a;b", 'a"b', "a{b", "a..b", ""],
    values.address: ["10.0.0", "-1", "localhost", ""],
    values.word: ["-x", "", "a\nb", "\x1b[31m", None, ["x"]],
}


@pytest.mark.parametrize("kind,value", [(k, v) for k, vs in GOOD.items() for v in vs],
                         ids=lambda p: getattr(p, "__name__", repr(p)))
def test_accepts_real_values(kind, value):
    assert kind(value) == (str(value) if isinstance(value, int) else value)


@pytest.mark.parametrize("kind,value", [(k, v) for k, vs in BAD.items() for v in vs],
                         ids=lambda p: getattr(p, "__name__", repr(p)[:30]))
def test_refuses_hostile_values(kind, value):
    with pytest.raises(values.UnsafeValue) as info:
        kind(value)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message


def test_a_long_value_is_never_shown_whole():
    message = str(pytest.raises(values.UnsafeValue, values.word, "-" + "a" * 200_000).value)
    assert message == "the value is longer than 4096 characters (200001)"
    message = str(pytest.raises(values.UnsafeValue, values.word, "-" + "a" * 1000).value)
    assert len(message) < 200 and "(1003 characters)" in message


@pytest.mark.parametrize("name,value,problem", [
    ("services", ["ssh", "--now"], "services[1]: the value must not start with '-'"),
    ("sysctl", {"kernel.pid_max": 1, "a b": 2}, "sysctl key 'a b': the value must be"),
    ("dns", {"zone": "lab.test", "slaves": ["ns2", "-x"]}, "dns.slaves[1]: "),
    ("dns", {"nameservers": ["10.0.0.1", "ns1"]}, "dns.nameservers[1]: the value must be an IP"),
])
def test_declared_kinds_name_the_var_path(name, value, problem):
    found = list(values.problems(name, value, values.declared()))
    assert len(found) == 1 and found[0].startswith(problem), found


def test_declared_kinds_ignore_other_shapes_and_nulls():
    # a wrong shape (a string for a list) is the schema's business, not this layer's
    assert list(values.problems("services", "cron", values.declared())) == []
    assert list(values.problems("dns", {"slaves": None}, values.declared())) == []
    assert list(values.problems("unrelated", ["-x"], values.declared())) == []
