"""The lab's own inventory (lab/inventory.py) and what it renders for a large lab:
plain hosts past the role hosts' /24 live in the plain subnet, each with an address,
a link name and a MAC of its own, and the lab's nameservers serve their reverse
names. Pure: no lab is started (tests/integration does that)."""

from __future__ import annotations

import ipaddress

import pytest

from lab import render
from lab.core import veth_name
from lab.inventory import PLAIN_IN_SUBNET, load


def test_a_small_lab_is_one_subnet():
    inv = load(plain_hosts=PLAIN_IN_SUBNET)
    assert inv.beyond == []
    assert all(ipaddress.ip_address(h.address) in inv.subnet for h in inv.hosts)
    assert inv.dns_zones == [inv.dns["zone"], inv.dns["reverse_zone"]]
    assert set(render.zone_files(inv, set(), 1)) == set(inv.dns_zones)


def test_a_thousand_hosts_past_the_slash_24():
    inv = load(plain_hosts=1000)
    plain = [h for h in inv.hosts if h.groups == ["plain"]]
    assert len(plain) == 1000 and len(inv.beyond) == 1000 - PLAIN_IN_SUBNET
    addresses = [h.address for h in inv.hosts]
    assert len(set(addresses)) == len(addresses)
    assert inv.plain_controller_address not in addresses
    for h in inv.beyond:
        ip = ipaddress.ip_address(h.address)
        assert ip in inv.plain_subnet and ip not in (inv.plain_subnet.network_address,
                                                     inv.plain_subnet.broadcast_address)
        assert inv.network_of(h) == inv.plain_subnet
    assert not inv.plain_subnet.overlaps(inv.subnet)
    links = [veth_name(a) for a in addresses]
    assert len(set(links)) == len(links) and max(map(len, links)) <= 15
    macs = ["02:fc:" + ":".join(f"{int(o):02x}" for o in a.split(".")) for a in addresses]
    assert len(set(macs)) == len(macs)


def test_too_many_plain_hosts_is_one_error():
    inv = load()
    with pytest.raises(ValueError, match=f"at most {inv.max_plain} plain hosts"):
        load(plain_hosts=inv.max_plain + 1)
    assert len(load(plain_hosts=inv.max_plain).hosts) == len(inv.hosts) + inv.max_plain


def test_the_plain_subnet_has_its_reverse_zone_on_every_nameserver():
    inv = load(plain_hosts=PLAIN_IN_SUBNET + 3)
    zone = inv.plain_reverse_zone
    assert zone == "213.10.in-addr.arpa" and inv.dns_zones[-1] == zone
    files = render.zone_files(inv, set(), 7)
    for h in inv.beyond:
        ptr = f"{ipaddress.ip_address(h.address).reverse_pointer}.\tIN\tPTR\t{h.name}.lab.test."
        assert ptr in files[zone].splitlines()
        assert h.name not in files[inv.dns["reverse_zone"]]
    # the role hosts' reverse zone keeps its relative names
    web1 = inv.by_name("web1")
    assert f"{web1.address.split('.')[-1]}\tIN\tPTR\tweb1.lab.test." in \
        files[inv.dns["reverse_zone"]].splitlines()
    for server in (inv.dns["master"], *inv.dns["slaves"]):
        local = render.named_conf(inv, inv.by_name(server), "c2VjcmV0")[
            "/etc/bind/named.conf.local"]
        assert all(f'zone "{z}" {{' in local for z in inv.dns_zones), server


def test_a_plain_subnet_over_the_role_hosts_is_refused(tmp_path):
    text = (load().path.read_text()
            .replace("lab_subnet: 10.213.47.0/24",
                     "lab_subnet: 10.213.47.0/24\n    lab_plain_subnet: 10.213.44.0/22"))
    path = tmp_path / "lab.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match="overlaps lab_subnet"):
        load(path, plain_hosts=PLAIN_IN_SUBNET + 1)
