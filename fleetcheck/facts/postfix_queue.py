"""Postfix's queue: `postqueue -j` (Postfix 3.1+), one JSON object per message (its
queue, queue id, arrival time, size, sender and recipients with the reason of a
delay), after our line `fleetcheck-postqueue: now SECONDS` (the host's clock, for the
ages) and before `fleetcheck-postqueue: exit N` (postqueue's status: 69, EX_UNAVAILABLE,
when the mail system is down: showq answers nothing then) and `fleetcheck-postqueue:
end`; `fleetcheck-postqueue: not installed` alone where there is no postqueue. Text
without our first line is postqueue -j's output alone (a capture, no clock).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.facts.base import Command, ParseError, shown

NAME = "postfix_queue"
MARK = "fleetcheck-postqueue: "
END = MARK + "end"
MAX_MESSAGES = 100000
MAX_LINE = 1 << 20
MAX_SHOWN = 20
QUEUES = ("maildrop", "incoming", "active", "deferred", "hold", "corrupt")
SCRIPT = f"""PATH="$PATH:/usr/sbin:/sbin"
command -v postqueue >/dev/null 2>&1 || {{ echo '{MARK}not installed'; exit 0; }}
echo "{MARK}now $(date +%s)"
out=$(postqueue -j 2>/dev/null </dev/null); rc=$?
[ -n "$out" ] && printf '%s\\n' "$out" | head -n {MAX_MESSAGES + 1}
echo "{MARK}exit $rc"
echo '{END}'
"""


def command(hostvars: Mapping[str, Any]) -> Command:
    return Command("sh -c %s", SCRIPT)


@dataclass
class Message:
    queue: str
    queue_id: str
    arrival: int               # seconds since the epoch
    size: int
    sender: str
    recipients: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)    # delay_reason of each recipient


@dataclass
class Queue:
    installed: bool = True
    now: int | None = None
    exit: int | None = None
    messages: list[Message] = field(default_factory=list)

    @property
    def available(self) -> bool:
        """postqueue answered (exit 0): the mail system runs."""
        return self.installed and self.exit in (None, 0)

    def by_queue(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.messages:
            out[m.queue] = out.get(m.queue, 0) + 1
        return out

    @property
    def oldest(self) -> Message | None:
        return min(self.messages, key=lambda m: m.arrival, default=None)

    def oldest_hours(self) -> float | None:
        old = self.oldest
        if old is None or self.now is None:
            return None
        return max(0, self.now - old.arrival) / 3600


def parse(text: str) -> Queue:
    lines = text.splitlines()
    if len(lines) > MAX_MESSAGES + 3:
        raise ParseError(f"line {MAX_MESSAGES + 4}: more than {MAX_MESSAGES} messages")
    if lines == [MARK + "not installed"]:
        return Queue(installed=False)
    out = Queue()
    body = list(enumerate(lines, start=1))
    if lines and lines[0].startswith(MARK):
        found = re.fullmatch(re.escape(MARK) + r"now ([0-9]{1,12})", lines[0])
        if not found:
            raise ParseError(f"line 1: expected `{MARK}now SECONDS`, got {shown(lines[0])}")
        if len(lines) < 3 or lines[-1] != END:
            raise ParseError(f"line {len(lines)}: no {END!r} line at the end (truncated)")
        status = re.fullmatch(re.escape(MARK) + r"exit ([0-9]{1,3})", lines[-2])
        if not status:
            raise ParseError(f"line {len(lines) - 1}: expected `{MARK}exit N`, got "
                             f"{shown(lines[-2])}")
        out.now, out.exit = int(found.group(1)), int(status.group(1))
        body = body[1:-2]
    for n, line in body:
        if not line.strip():
            continue
        out.messages.append(_message(line, n))
    return out


def _message(line: str, n: int) -> Message:
    if len(line) > MAX_LINE:
        raise ParseError(f"line {n}: longer than {MAX_LINE} characters")
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ParseError(f"line {n}: not a JSON object ({exc.args[0][:60]}): "
                         f"{shown(line, 60)}") from None
    if not isinstance(data, dict):
        raise ParseError(f"line {n}: not a JSON object: {shown(line, 60)}")
    queue, qid, arrival = data.get("queue_name"), data.get("queue_id"), data.get("arrival_time")
    if queue not in QUEUES:
        raise ParseError(f"line {n}: queue_name is not one of {', '.join(QUEUES)}: "
                         f"{shown(queue)}")
    if not isinstance(qid, str) or not re.fullmatch(r"[0-9A-Za-z]{1,64}", qid):
        raise ParseError(f"line {n}: queue_id is not a queue id: {shown(qid)}")
    for key, value in (("arrival_time", arrival), ("message_size", data.get("message_size", 0))):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 63:
            raise ParseError(f"line {n}: {key} is not a whole number of seconds or bytes: "
                             f"{shown(value)}")
    recipients = data.get("recipients", [])
    if not isinstance(recipients, list) or not all(isinstance(r, dict) for r in recipients):
        raise ParseError(f"line {n}: recipients is not a list of objects")
    return Message(queue, qid, arrival, data.get("message_size", 0),
                   str(data.get("sender", ""))[:320],
                   [str(r.get("address", ""))[:320] for r in recipients[:MAX_SHOWN]],
                   [str(r["delay_reason"])[:300] for r in recipients[:MAX_SHOWN]
                    if r.get("delay_reason")])
