"""A module that names its hosts (testinfra_hosts, a list): testinfra's --hosts
overrides it; fleetcheck's --inventory keeps it."""

testinfra_hosts = ["local://"]


def test_on_the_named_host(host):
    assert host.backend.get_connection_type() == "local"
    assert host.file("/").is_directory


def test_run_there(host):
    assert host.check_output("echo %s", "named") == "named"
