"""The ready-first order (fleetcheck.runorder.ReadyQueue), on plain values: the
queue never looks inside an item, and the gathering is played by hand here (progress
counts and events), so each case says exactly what has come in."""

import queue
import threading

import pytest

from fleetcheck import runorder
from fleetcheck.runorder import DONE, UNDECLARED, ReadyQueue


def make(items, slots, progress):
    events = queue.SimpleQueue()
    return ReadyQueue(items, slots, progress, events), events


def test_items_without_a_slot_first_then_as_their_facts_come_in():
    items = ["a.vmstat", "b.vmstat", "a.disk", "b.disk", "dns.a", "dns.b"]
    slots = {"a.vmstat": ("a", 0), "b.vmstat": ("b", 0), "a.disk": ("a", 1), "b.disk": ("b", 1)}
    progress = {"a": 0, "b": 0}
    ready, events = make(items, slots, progress)
    assert [ready.pop(), ready.pop()] == ["dns.a", "dns.b"]   # facts=[]: at once
    progress["b"] = 2                                          # b is through both entries
    events.put("b")
    assert [ready.pop(), ready.pop()] == ["b.vmstat", "b.disk"]
    progress["a"] = 1
    events.put("a")
    assert ready.pop() == "a.vmstat"
    progress["a"] = DONE
    events.put("a")
    assert ready.pop() == "a.disk"
    assert ready.pop() is None and len(ready) == 0


def test_ready_items_keep_the_collection_order():
    items = ["a.1", "b.1", "a.2", "b.2"]
    slots = {i: (i[0], int(i[-1]) - 1) for i in items}
    ready, _ = make(items, slots, {"a": DONE, "b": DONE})
    assert [ready.pop() for _ in items] == items


def test_undeclared_waits_for_the_end_of_its_hosts_gathering(monkeypatch):
    monkeypatch.setattr(runorder, "PATIENCE", 30.0)   # only the event may release it
    items = ["a.undeclared", "a.declared"]
    progress = {"a": 1}
    ready, events = make(items, {"a.undeclared": ("a", UNDECLARED),
                                 "a.declared": ("a", 0)}, progress)
    assert ready.pop() == "a.declared"
    progress["a"] = 5                       # every declared entry done, not yet over
    events.put("a")
    waiter = threading.Timer(0.2, lambda: (progress.__setitem__("a", DONE), events.put("a")))
    waiter.start()
    assert ready.pop() == "a.undeclared"    # released by the end, not by a count
    assert progress["a"] == DONE
    waiter.join()


def test_waits_for_an_event_rather_than_running_a_blocked_item(monkeypatch):
    monkeypatch.setattr(runorder, "PATIENCE", 30.0)
    items = ["a.1", "b.1"]
    progress = {"a": 0, "b": 0}
    ready, events = make(items, {"a.1": ("a", 0), "b.1": ("b", 0)}, progress)

    def b_done():
        progress["b"] = DONE
        events.put("b")

    threading.Timer(0.1, b_done).start()
    assert ready.pop() == "b.1"             # a.1 came first but b's facts came in first


def test_nothing_moves_then_the_closest_item_runs(monkeypatch):
    """A stalled gathering never stalls the run: after PATIENCE the item with the
    least of its host's gathering left runs (and reads its facts itself)."""
    monkeypatch.setattr(runorder, "PATIENCE", 0.05)
    items = ["far", "near"]
    ready, _ = make(items, {"far": ("a", 5), "near": ("b", 3)}, {"a": 0, "b": 2})
    assert ready.pop() == "near"
    assert ready.pop() == "far"
    assert ready.pop() is None


def test_a_host_without_progress_entry_counts_as_done():
    ready, _ = make(["x"], {"x": ("gone", 3)}, {})
    assert ready.pop() == "x"


@pytest.mark.parametrize("count", [0, 1])
def test_len_counts_what_is_left(count):
    items = [f"i{n}" for n in range(count)]
    ready, _ = make(items, {}, {})
    assert len(ready) == count
    assert [ready.pop() for _ in items] == items and len(ready) == 0
