"""testinfra_hosts given as a string, not a list: testinfra iterates it, so each
character is a host spec (here "l", "o", "c", "a", ":", "/", each a paramiko host).
Nothing here connects: a connection would look those names up."""

testinfra_hosts = "local://"


def test_each_character_is_a_host(host):
    assert host.backend.get_connection_type() == "paramiko"
    assert len(host.backend.get_hostname()) <= 1
