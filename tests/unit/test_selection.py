"""Which inventory a run reads when the command line names none, and what the embedded
default inventory is spared: the shop's ansible.cfg names the inventory as it does for
`ansible`; the embedded inventory never picks up the current directory's group_vars."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fleetcheck import audit
from fleetcheck.inventory import InventoryError
from fleetcheck.selection import default_inventory, select


def options(**given) -> SimpleNamespace:
    base = dict(fleet_inventory=[], hosts=None, fleet_limit=None, fleet_where=None)
    base.update(given)
    return SimpleNamespace(**base)


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A shop's Ansible directory as the current one, with an ansible.cfg of its own."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANSIBLE_CONFIG", str(tmp_path / "ansible.cfg"))
    (tmp_path / "hosts.ini").write_text("[web]\nweb1 ansible_host=192.0.2.1\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("ntp_server: 192.0.2.53\n")
    return tmp_path


def test_ansible_cfg_names_the_inventory_when_the_command_line_does_not(shop):
    (shop / "ansible.cfg").write_text("[defaults]\ninventory = hosts.ini\nremote_user = ops\n")
    chosen = select(options())
    assert list(chosen.hosts) == ["web1"]
    web1 = chosen.hosts["web1"]
    assert web1.vars["ntp_server"] == "192.0.2.53"        # group_vars beside the source
    assert web1.defaults == {"remote_user": "ops"}         # and ansible.cfg's remote_user
    assert chosen.sources == [str(shop / "hosts.ini")]
    assert chosen.notes[0] == (f"inventory from {shop / 'ansible.cfg'}:2: "
                               f"{shop / 'hosts.ini'}")


def test_the_environment_names_it_too(shop, monkeypatch):
    (shop / "ansible.cfg").write_text("[defaults]\n")
    monkeypatch.setenv("ANSIBLE_INVENTORY", "hosts.ini")
    assert list(select(options()).hosts) == ["web1"]


def test_the_command_line_wins_over_ansible_cfg(shop):
    (shop / "ansible.cfg").write_text("[defaults]\ninventory = hosts.ini\n")
    (shop / "other.yml").write_text("all:\n  hosts:\n    db1: {}\n")
    chosen = select(options(fleet_inventory=["other.yml"]))
    assert list(chosen.hosts) == ["db1"]
    assert not any(note.startswith("inventory from") for note in chosen.notes)


def test_without_one_the_embedded_inventory_ignores_the_directorys_vars(shop):
    (shop / "ansible.cfg").write_text("[defaults]\nremote_user = ops\nhash_behaviour = merge\n")
    (shop / "host_vars").mkdir()
    (shop / "host_vars" / "localhost.yml").write_text("ansible_user: intruder\n")
    for given in ([], [default_inventory()]):      # pytest alone, and `fleetcheck audit`
        chosen = select(options(fleet_inventory=list(given)))
        assert list(chosen.hosts) == ["localhost"]
        local = chosen.hosts["localhost"]
        assert "ntp_server" not in local.vars and "ansible_user" not in local.vars
        assert local.defaults == {}


def test_a_broken_ansible_cfg_is_one_line(shop):
    (shop / "ansible.cfg").write_text("[defaults]\ninventory = a\ninventory = b\n")
    with pytest.raises(InventoryError) as caught:
        select(options())
    assert "ansible.cfg" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("cfg, expected", [
    ("[defaults]\ninventory = hosts.ini\n", "hosts.ini"),
    ("[defaults]\n", "embedded"),
    ("[defaults]\ninventory = a\ninventory = b\n", "embedded"),   # select() says why
])
def test_fleetcheck_audit_gives_pytest_the_same_inventory(shop, cfg, expected):
    (shop / "ansible.cfg").write_text(cfg)
    config = SimpleNamespace(option=options())
    audit.DefaultInventory().pytest_cmdline_main(config)
    want = [default_inventory()] if expected == "embedded" else [str(shop / expected)]
    assert config.option.fleet_inventory == want
