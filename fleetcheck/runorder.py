"""The order checks run in: of the checks left, the first whose facts are in.

pytest runs items in collection order: every host's capacity.vmstat, then every
host's capacity.memory, and so on. With the facts gathered ahead (fleetcheck.gather),
that order makes the test thread wait for the slowest host at each check, and leaves
most checks to be judged after the last fact has come in (at 50 lab hosts, two thirds
of them). This loop runs instead the first check, in collection order, whose host has
gathered what the check declared, and waits only while none has: the fleet's checks
are judged while its facts come in, as a free strategy would.

A check is ready when
- it declares facts: its host's gathering has gone past its entry;
- it declares `facts=[]` (nothing of its host, e.g. the controller's DNS queries):
  at once;
- it declares nothing: when its host's gathering is over (it may read anything, and
  would wait for the host's lock meanwhile);
- its host is not gathered (offline, or not this process's): at once.

The records, the reports and the summary are ordered by host and check, never by the
run order; only the terminal's progress shows it. Under xdist a worker runs what its
controller sends, in that order (its hosts are still gathered at once).
"""

from __future__ import annotations

import heapq
import queue
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence

import pytest

DONE = sys.maxsize        # a host's progress once its gathering is over
UNDECLARED = DONE - 1     # the entry of a check that declares no facts: ready at DONE
# Seconds with nothing coming in before the closest check runs anyway (and reads or
# waits for its facts itself). Every gathering ends (each command has a timeout), so
# this only bounds a wait that should not happen; too short, and the test thread
# would sit on one host's lock through that host's next batch.
PATIENCE = 10.0


class ReadyQueue:
    """Items in the order they can run without waiting.

    `slots` gives an item's host and its entry in that host's gathering (items without
    a slot are ready at once); `progress` is each gathered host's count of entries
    done (DONE when over), and `events` names a host each time its count moves.
    """

    def __init__(self, items: Sequence[pytest.Item], slots: Mapping[pytest.Item, tuple[str, int]],
                 progress: Mapping[str, int], events: queue.SimpleQueue):
        self._progress = progress
        self._events = events
        self._ready: list[tuple[int, pytest.Item]] = []   # heap by collection order
        self._pending: dict[str, deque[tuple[int, int, pytest.Item]]] = {}
        self._left = len(items)
        waiting: dict[str, list[tuple[int, int, pytest.Item]]] = {}
        for order, item in enumerate(items):
            slot = slots.get(item)
            if slot is None:
                self._ready.append((order, item))
            else:
                waiting.setdefault(slot[0], []).append((slot[1], order, item))
        heapq.heapify(self._ready)
        for host, entries in waiting.items():
            self._pending[host] = deque(sorted(entries, key=lambda e: (e[0], e[1])))
            self._release(host)

    def __len__(self) -> int:
        return self._left

    def pop(self) -> pytest.Item | None:
        """The next item to run; waits (at most PATIENCE) while none is ready, then
        takes the one with the least of its host's gathering still to do."""
        if not self._left:
            return None
        self._drain()
        deadline = time.monotonic() + PATIENCE
        while not self._ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._closest()
            try:
                host = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            self._release(host)
            self._drain()
        self._left -= 1
        return heapq.heappop(self._ready)[1]

    def _drain(self) -> None:
        while True:
            try:
                host = self._events.get_nowait()
            except queue.Empty:
                return
            self._release(host)

    def _release(self, host: str) -> None:
        pending = self._pending.get(host)
        done = self._progress.get(host, DONE)
        while pending and pending[0][0] < done:
            _, order, item = pending.popleft()
            heapq.heappush(self._ready, (order, item))
        if not pending:
            self._pending.pop(host, None)

    def _closest(self) -> pytest.Item:
        gap, _, host = min((entries[0][0] - self._progress.get(host, 0), entries[0][1], host)
                           for host, entries in self._pending.items())
        entries = self._pending[host]
        item = entries.popleft()[2]
        if not entries:
            del self._pending[host]
        self._left -= 1
        return item


def run_ready_first(session: pytest.Session, ready: ReadyQueue) -> None:
    """pytest's run loop over `ready`'s order. An item's teardown needs the item that
    runs after it (pytest keeps what both share), so the next one is chosen first."""
    item = ready.pop()
    while item is not None:
        nextitem = ready.pop()
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        item = nextitem
