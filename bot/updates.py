"""Process updates of different chats concurrently, and of one chat strictly in order.

PTB's default handles one update at a time, so a flood from one chat delays everyone;
plain `concurrent_updates` would instead let two taps of one person race. Serialising per
chat gives both: other chats never wait behind a noisy one, and each person's updates stay
in the order they sent them.

The chat's lock is taken *before* one of the global slots. PTB's own processor takes its
slot first, so 500 taps of one chat would hold every slot while waiting for that chat's
lock, and everyone else would queue behind them; here a chat holds at most one slot, and
its other updates wait without one.

**Each update once** (`first_sighting`, storage.seen_updates): every update's `update_id` is
recorded before it is handled, and one some run already took within the hour is dropped. In
webhook mode the route checks before queueing (a redelivery may land on another instance);
in polling mode `drop_seen` does, first of all handlers: after a crash (or kill -9) Telegram
serves the last batch again because its offset was never confirmed, and the restarted bot
would otherwise answer those updates a second time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseUpdateProcessor, TypeHandler
from telegram.request import BaseRequest, RequestData

from bot.context import CabildoContext, Services
from bot.outages import is_outage
from storage import seen_updates
from storage.db import Database, commit_current_unit

log = logging.getLogger(__name__)

# Before every other handler group (handlers.limits is -3): a repeat is not even counted.
SEEN_GROUP = -10
ADMITTED_KEPT = 1000

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
        # Set by `bot.app.build_application`: each update's handlers share one session of it
        self.database: Database | None = None

    @property
    def max_concurrent_updates(self) -> int:
        """How many updates run at once (each chat's others wait for it, holding no slot)."""
        return self._limit

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's processing after earlier updates of the same chat."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slots, self._unit_of_work():
                await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots, self._unit_of_work():
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # forget idle chats so memory stays flat
                del self._waiting[key]
                self._locks.pop(key, None)

    @asynccontextmanager
    async def _unit_of_work(self) -> AsyncIterator[None]:
        """Give the update's handlers one database session, committed before each Bot API
        request (`CommittingRequest`) and at the end.

        PTB catches what handlers raise, so the end is normally reached; a commit that
        fails there (the database went away) is counted as an outage, as a failed write in
        a handler would be.
        """
        if self.database is None:
            yield
            return
        try:
            async with self.database.unit():
                yield
        except Exception as exc:
            if not is_outage(exc):
                log.exception("an update's last writes were not committed")
            else:
                log.warning("an update's last writes were lost: %s: %s",
                            type(exc).__name__, exc)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def without_tapped_keyboard(data: object) -> object:
    """Drop, from an update's JSON, the keyboard of the message a button was tapped under.

    Telegram sends that message whole with every tap; no handler reads its keyboard back
    (they answer with keyboards of their own), and building an object per button was a
    tenth of the bot's Telegram work on a tap. Every way in — webhook, polling, the local
    chat — builds its updates through here or `update_from_json`. The dictionaries on the
    way are copied, not changed: a caller may keep the message.
    """
    if not isinstance(data, dict):
        return data
    query = data.get("callback_query")
    if not isinstance(query, dict) or not isinstance(query.get("message"), dict):
        return data
    message = {k: v for k, v in query["message"].items() if k != "reply_markup"}
    return {**data, "callback_query": {**query, "message": message}}


def update_from_json(data: dict[str, Any], bot: Any) -> Update:
    """Build an `Update` from Telegram's JSON (`without_tapped_keyboard`)."""
    return Update.de_json(without_tapped_keyboard(data), bot)  # type: ignore[arg-type]


# What a sent or edited message brings back that no code reads (`parse_json_payload`).
_UNREAD = ("reply_markup", "entities", "caption_entities", "link_preview_options", "from")


class CommittingRequest(BaseRequest):
    """The bot's requests, each after committing the running update's unit of work.

    A handler's writes are then kept before Telegram acts on them (as when storage committed
    each one itself), and no transaction or pooled connection waits on a slow Telegram.
    """

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

    @property
    def read_timeout(self) -> float | None:
        """The wrapped request's default read timeout."""
        return self.inner.read_timeout

    async def initialize(self) -> None:
        """Initialize the wrapped request."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """Shut the wrapped request down."""
        await self.inner.shutdown()

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """Parse Telegram's answer, leaving out what the bot never reads back.

        Every sent or edited message comes back whole, and PTB would build an object per
        button of its keyboard (a fifth of the bot's Telegram work on a busy menu), per
        bold or link in its text, and for its sender (the bot) and link preview: a message
        of a few lines cost 230 µs of CPU to read, 80 without them. The bot reads back only
        the id, chat, date, text and photo of what it sent. So do the updates `getUpdates`
        brings (`without_tapped_keyboard`).
        """
        data = BaseRequest.parse_json_payload(payload)
        result = data.get("result")
        if isinstance(result, dict) and "message_id" in result:
            for unread in _UNREAD:
                result.pop(unread, None)
        elif isinstance(result, list):
            data["result"] = [without_tapped_keyboard(update) for update in result]
        return data

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Commit the update's work, then make the request."""
        await commit_current_unit()
        return await self.inner.do_request(
            url, method, request_data, read_timeout=read_timeout,
            write_timeout=write_timeout, connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )


async def first_sighting(services: Services, update_id: int) -> bool:
    """Record the update as taken; False when some run already took it this hour.

    If the database cannot say, the update is handled: answering twice is better than
    not at all (an outage is counted in `bot.outages`, not logged per update).
    """
    try:
        async with services.db.session() as session:
            return await seen_updates.first_sighting(session, update_id)
    except Exception as exc:  # any database failure: handle the update anyway
        if is_outage(exc):
            services.outages.failed(exc, "recording an update")
        else:
            log.warning("could not record update %d (%s: %s); handling it anyway",
                        update_id, type(exc).__name__, exc)
        return True


async def drop_seen(update: Update, context: CabildoContext) -> None:
    """Stop an update that an earlier run already handled (polling serves it again)."""
    # Updates this process let through lately: a handler may replay one (the consent
    # notice's «Acepto» replays the tap that asked for it, with the same update_id).
    admitted = context.bot_data.admitted_updates
    if update.update_id in admitted:
        return
    if not await first_sighting(context.bot_data, update.update_id):
        log.info("update %d was already taken; dropped", update.update_id)
        raise ApplicationHandlerStop
    admitted[update.update_id] = None
    if len(admitted) > ADMITTED_KEPT:
        del admitted[next(iter(admitted))]


def drop_seen_handler() -> TypeHandler[Update, CabildoContext, None]:
    """Return the handler (for SEEN_GROUP) that drops updates polling fetched again."""
    return TypeHandler(Update, drop_seen)
