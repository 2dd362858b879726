"""The process module."""


def test_pid_1_is_running(host):
    init = host.process.get(pid=1)
    assert init.pid == 1
    assert init.user == "root"
    assert init.comm


def test_root_runs_processes(host):
    procs = host.process.filter(user="root")
    assert procs
    assert all(p.user == "root" for p in procs)


def test_no_such_process(host):
    assert host.process.filter(comm="fleetcheck-parity-absent") == []


def test_pid_1_has_a_proc_entry(host):
    # A pid is an int and testinfra's quoting takes strings only (shlex.quote): a
    # testinfra suite passes str(pid). This test does not: a TypeError under testinfra.
    init = host.process.get(pid=1)
    assert host.run("test -d /proc/%s", init.pid).rc == 0
