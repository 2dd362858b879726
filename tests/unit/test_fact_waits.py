"""What a check's thread waits for is counted (fleetcheck.connect.hosts.take_waited):
a fact read while another thread holds the host's lock (a gathering thread running
the host's batch). The plugin takes it out of the record's duration
(tests/plugin/test_gather.py)."""

from __future__ import annotations

import threading
import types

from fleetcheck.connect import hosts


def fake_host():
    def run(command):
        return hosts.CommandResult(command.render(), rc=0, stdout="4\n", stderr="",
                                   duration=0.001)
    return types.SimpleNamespace(lock=threading.Lock(), vars={}, run=run)


def test_a_read_behind_a_held_lock_counts_as_waiting():
    host = fake_host()
    cache = hosts.FactCache(host)
    held, release = threading.Event(), threading.Event()

    def gatherer():
        with host.lock:
            held.set()
            release.wait(5)

    t = threading.Thread(target=gatherer)
    t.start()
    held.wait(5)
    hosts.take_waited()
    threading.Timer(0.3, release.set).start()   # the gathering ends in 0.3 s
    assert cache.get("nproc").cpus == 4
    t.join()
    assert hosts.take_waited() >= 0.25          # the hold, not a timing goal
    assert hosts.take_waited() == 0.0           # taken: it starts again from 0


def test_a_free_lock_is_no_wait_and_each_thread_counts_its_own():
    cache = hosts.FactCache(fake_host())
    hosts.take_waited()
    cache.get("nproc")
    assert hosts.take_waited() < 0.05
    hosts._add_wait(2.0)
    seen = []
    other = threading.Thread(target=lambda: seen.append(hosts.take_waited()))
    other.start()
    other.join()
    assert seen == [0.0] and hosts.take_waited() == 2.0
