"""One sending rate for the whole bot: slots kept in the database and shared by every
instance (`storage.outbox.reserve_slots`), spaced a little more than 1/rate apart.

A request leaves within TOLERANCE of its slot or not at all, so however many instances
send, no one-second window holds more than `rate_per_second` requests.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from bot.steps import db_step
from storage import outbox
from storage.db import Database

RATE_KEY = "bot"
# A request that leaves more than TOLERANCE seconds after its slot gives the slot up. Slots
# are (1 + MARGIN) / rate apart, MARGIN covering that lateness and the moment between the
# last check and the request itself: any second then holds at most `rate` requests.
TOLERANCE = 0.02
MARGIN = 0.05
SLOTS_AHEAD = 0.2  # seconds of slots taken from the database at once
MAX_LEAD = 2.0  # a row is never handed over more than this long before its slot


class SharedRate:
    """Sending slots from the database: one schedule for every instance of the bot."""

    def __init__(self, db: Database, rate_per_second: float, *, key: str = RATE_KEY) -> None:
        self.db = db
        self.key = key
        self.interval = (1 + MARGIN) / max(rate_per_second, 0.1)
        self.chunk = max(1, min(500, round(rate_per_second * SLOTS_AHEAD)))
        self._slots: deque[float] = deque()  # on the event loop's clock
        self._lock = asyncio.Lock()
        self._resume_at = 0.0
        self._reserve_s = 0.0  # how long the last reservation of slots took

    async def acquire(self, lead: Callable[[], float] | float = 0.0) -> float:
        """Wait until `lead` seconds before this instance's next slot; return the slot.

        `lead` may be a function, read when this caller's turn comes (the hand-over time is
        learned meanwhile: read when the call began, as at start, it was stale for every
        caller already waiting, and each of them missed its slot).

        A slot is given only while half the lead (the usual hand-over) still fits before it
        passes: one taken at the edge of its tolerance would be missed by any hand-over, and
        a sender running behind the schedule would then miss nearly every slot. New slots
        start `lead` from now for the same reason. The slot is on the event loop's clock;
        the caller waits for it before its request.
        """
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                lead_s = lead() if callable(lead) else lead
                if (pause := self._resume_at - loop.time()) > 0:
                    self._slots.clear()
                    await asyncio.sleep(pause)
                    continue
                if not self._slots:
                    await self._reserve(lead_s)
                slot = self._slots.popleft()
                if (delay := slot - lead_s - loop.time()) > 0:
                    await asyncio.sleep(delay)
                if slot + TOLERANCE - loop.time() >= lead_s / 2:
                    return slot

    def late(self, slot: float) -> bool:
        """Tell whether it is too late to use `slot` (another must be taken)."""
        return asyncio.get_running_loop().time() - slot > TOLERANCE

    async def pause(self, seconds: float) -> None:
        """Stop every instance for `seconds` (a 429); this one even if the database fails."""
        loop = asyncio.get_running_loop()
        self._resume_at = max(self._resume_at, loop.time() + seconds)
        await db_step(self.db, lambda s: outbox.pause_slots(s, key=self.key, seconds=seconds))

    async def _reserve(self, lead: float) -> None:
        """Take the next slots, the first `lead` after the answer comes back (as last time)."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        start = await take_slots(
            self.db, self.key, self.chunk, self.interval, ahead=lead + self._reserve_s
        )
        self._reserve_s = min(MAX_LEAD, loop.time() - asked)
        self._slots.extend(start + i * self.interval for i in range(self.chunk))


async def take_slots(
    db: Database, key: str, count: int, interval: float, *, ahead: float = 0.0
) -> float:
    """Take `count` slots of the shared rate `key`, the first no sooner than `ahead` seconds
    from now; return the first, on the loop's clock."""
    loop = asyncio.get_running_loop()
    wall, before = time.time(), loop.time()
    first, now = await db_step(db, lambda s: outbox.reserve_slots(
        s, key=key, count=count, interval=interval, now=wall, ahead=ahead
    ))
    # SQLite uses `wall` itself; PostgreSQL its own clock, read during the round trip.
    local_now = before if now == wall else (before + loop.time()) / 2
    return local_now + (first - now)
