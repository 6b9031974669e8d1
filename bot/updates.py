"""Process updates of different chats concurrently, and of one chat strictly in order.

PTB's default handles one update at a time, so a flood from one chat delays everyone;
plain `concurrent_updates` would instead let two taps of one person race. Serialising per
chat gives both: other chats never wait behind a noisy one, and each person's updates stay
in the order they sent them.

The chat's lock is taken *before* one of the global slots. PTB's own processor takes its
slot first, so 500 taps of one chat would hold every slot while waiting for that chat's
lock, and everyone else would queue behind them; here a chat holds at most one slot, and
its other updates wait without one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's semaphore is taken before `do_process_update`; it is made too large to matter and
# the real limit is `_slots`, taken after the chat's lock.
_UNBOUNDED = 1 << 30


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Run up to `max_concurrent_updates` updates at once, one at a time per chat."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be positive")
        # PTB sizes its semaphore from the `max_concurrent_updates` property: unbounded while
        # it does, then the property reports the real limit.
        self._limit = _UNBOUNDED
        super().__init__(_UNBOUNDED)
        self._limit = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    @property
    def max_concurrent_updates(self) -> int:
        """How many updates run at once (each chat's others wait for it, holding no slot)."""
        return self._limit

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's processing after earlier updates of the same chat."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slots:
                await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # forget idle chats so memory stays flat
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
