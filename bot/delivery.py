"""The outbox sender: drains queued messages at the bot's rate, each message at most once.

Messages to people never go straight from a handler or a job: they are rows in the outbox
(`storage.outbox`, which describes the states). This sender reserves a few due rows at a
time, and for each one waits for a sending slot, marks that row alone `enviando`, sends it
and settles it:
- accepted → `enviado` with Telegram's message id;
- 429 RetryAfter → back to `pendiente` after the wait, and every instance pauses (Telegram's
  flood control is bot-wide); not counted as an attempt;
- Telegram certainly did not take it (the connection was refused or timed out, the request
  could not be written, Telegram answered 5xx) → `pendiente` again with exponential back-off,
  `fallido` after `max_attempts`;
- no answer in time after the request was written (a read timeout), or the connection broke
  while waiting for the answer → `incierto`: it may have arrived, so it is never sent again;
- 403 (blocked, deleted, kicked) or "chat not found" → `bloqueado`, and the citizen is marked
  so nothing more is queued for them;
- any other 400 → `fallido` at once (retrying would fail the same way);
- a row that cannot be sent at all (a malformed payload) → `fallido`, alone.

**One rate for the whole bot.** Slots come from the database (`outbox.reserve_slots`), one
schedule shared by every instance, spaced a little more than 1/rate apart; a request that
could not leave within TOLERANCE of its slot gives it up and takes another. So however many
instances send, no one-second window holds more than `rate_per_second` requests.
Into one group the sender also keeps 20 a minute, evenly spaced.

**Outages.** Settling is retried until the database answers again; if the process dies
first, its rows in flight are settled `incierto` by the minute sweep once their lease runs
out, and the rows it had only reserved go back to the queue. A database that is down is
logged once (`bot.outages`), not once per row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Generic, TypeVar

import httpx
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.outages import Outages, is_outage
from storage import broadcasts, outbox
from storage.db import Database
from storage.jobs import instance_name
from storage.models import Broadcast
from storage.types import utcnow

log = logging.getLogger(__name__)

GROUP_PER_MINUTE = 20
RATE_KEY = "bot"
# A request that leaves more than TOLERANCE seconds after its slot gives the slot up. Slots
# are (1 + MARGIN) / rate apart, MARGIN covering that lateness and the moment between the
# last check and the request itself: any second then holds at most `rate` requests.
TOLERANCE = 0.02
MARGIN = 0.05
SLOTS_AHEAD = 0.2  # seconds of slots taken from the database at once
UNCERTAIN_TIMEOUT = "Telegram no respondió a tiempo: pudo llegar; no se reenvía"
UNCERTAIN_BROKEN = "se cortó la conexión esperando la respuesta: pudo llegar; no se reenvía"
# Causes that prove the request never reached Telegram, so sending it again is safe.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteTimeout)

Report = Callable[[Broadcast, dict[str, int]], "tuple[int, str] | None"]
T = TypeVar("T")
R = TypeVar("R")


def never_reached_telegram(error: NetworkError) -> bool:
    """Tell whether a failed request certainly did not reach Telegram (safe to resend)."""
    cause = error.__cause__
    if cause is None:  # Telegram answered with an HTTP error (5xx): it did not take it
        return not isinstance(error, TimedOut)
    return isinstance(cause, _NEVER_SENT)


class _Coalesce(Generic[T, R]):
    """Run `write` for items submitted at about the same time, in one transaction each flush.

    At 25 messages a second each flush holds one or two rows; when many rows finish at once
    (a fast test API, a burst after a pause) they share one commit.
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[R]]) -> None:
        self._write = write
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                result = await self._write([item for item, _ in batch])
            except BaseException as exc:  # handed to every waiter
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(result)


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

    async def acquire(self) -> float:
        """Wait for this instance's next slot; return when it is (the event loop's clock)."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                if (pause := self._resume_at - loop.time()) > 0:
                    self._slots.clear()
                    await asyncio.sleep(pause)
                    continue
                if not self._slots:
                    await self._reserve()
                slot = self._slots.popleft()
                if (delay := slot - loop.time()) > 0:
                    await asyncio.sleep(delay)
                if loop.time() - slot <= TOLERANCE:
                    return slot

    def late(self, slot: float) -> bool:
        """Tell whether it is too late to use `slot` (another must be taken)."""
        return asyncio.get_running_loop().time() - slot > TOLERANCE

    async def pause(self, seconds: float) -> None:
        """Stop every instance for `seconds` (a 429); this one even if the database fails."""
        loop = asyncio.get_running_loop()
        self._resume_at = max(self._resume_at, loop.time() + seconds)
        async with self.db.session() as session:
            await outbox.pause_slots(session, key=self.key, seconds=seconds)

    async def _reserve(self) -> None:
        loop = asyncio.get_running_loop()
        wall, before = time.time(), loop.time()
        async with self.db.session() as session:
            first, now = await outbox.reserve_slots(
                session, key=self.key, count=self.chunk, interval=self.interval, now=wall
            )
        # SQLite uses `wall` itself; PostgreSQL its own clock, read during the round trip.
        local_now = before if now == wall else (before + loop.time()) / 2
        start = local_now + (first - now)
        self._slots.extend(start + i * self.interval for i in range(self.chunk))


class OutboxSender:
    """Reserves outbox rows and sends them, paced; safe to run in several processes at once."""

    def __init__(
        self,
        bot: Bot,
        db: Database,
        *,
        rate_per_second: float,
        max_attempts: int = 5,
        batch_size: int = 20,
        concurrency: int = 32,
        idle_seconds: float = 1.0,
        backoff_base: float = 2.0,
        report: Report | None = None,
        group_per_minute: float = GROUP_PER_MINUTE,
        name: str | None = None,
        outages: Outages | None = None,
    ) -> None:
        self.bot = bot
        self.db = db
        self.name = (name or instance_name())[:120]
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.idle_seconds = idle_seconds
        self.backoff_base = backoff_base
        self.outages = outages or Outages()
        self.rate = SharedRate(db, rate_per_second)
        self._group_next: dict[int, float] = {}  # each group's next turn, and its last request
        self._group_sent: dict[int, float] = {}
        # One message every 60/N seconds, no burst: a bucket of N per minute would let N
        # through at once and N more within that same minute.
        self._group_interval = 60.0 / group_per_minute
        self._report = report
        self._stop: asyncio.Event | None = None
        self._marks: _Coalesce[int, set[int]] = _Coalesce(self._hand_over)
        self._settles: _Coalesce[outbox.Outcome, None] = _Coalesce(self._settle)

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Send every row due now (and rows that become due meanwhile); return how many.

        With `stop`, take no new row once it is set; the rows in flight are settled.
        """
        self._stop = stop
        queue: deque[outbox.Claimed] = deque()
        refill = asyncio.Lock()
        trouble: list[BaseException] = []
        sent = 0
        first = True  # no row is in hand yet: rows this sender reserved earlier are its again

        def stopping() -> bool:
            return bool(trouble) or (stop is not None and stop.is_set())

        async def next_row() -> outbox.Claimed | None:
            nonlocal first
            async with refill:
                if not queue and not stopping():
                    async with self.db.session() as session:
                        queue.extend(await outbox.reserve(
                            session, by=self.name, limit=self.batch_size, again=first
                        ))
                    first = False
                return queue.popleft() if queue and not stopping() else None

        async def worker() -> None:
            nonlocal sent
            while True:
                try:
                    row = await next_row()
                    if row is None:
                        return
                    done = await self._send(row)
                    sent += done
                except Exception as exc:  # stop taking rows; the others finish theirs
                    trouble.append(exc)
                    return

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        if queue or trouble or stopping():
            with contextlib.suppress(Exception):  # otherwise their reservation just lapses
                async with self.db.session() as session:
                    await outbox.release(session, by=self.name)
        if trouble:
            raise trouble[0]
        return sent

    async def report_finished(self) -> None:
        """Queue, for the authors of broadcasts that just finished, how delivery went.

        The report goes through the outbox like any message (a 429 delays it, it is not
        lost), queued in the transaction that marks the broadcast finished: one report,
        whichever instance sees it first.
        """
        async with self.db.session() as session:
            done = await broadcasts.finished_broadcasts(session)
        for broadcast, counts in done:
            async with self.db.session() as session:
                if not await broadcasts.mark_finished(session, broadcast):
                    await session.rollback()
                    continue
                log.info("broadcast %s finished: %s", broadcast.id, counts)
                message = self._report(broadcast, counts) if self._report else None
                if message is not None:
                    await outbox.enqueue(
                        session, chat_ids=[message[0]], payload={"text": message[1]},
                        dedupe=f"informe-difusion:{broadcast.id}",
                    )
                await session.commit()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain the outbox and report finished broadcasts until `stop` is set."""
        while not stop.is_set():
            try:
                await self.drain(stop)
                await self.report_finished()
                self.outages.recovered()
            except Exception as exc:  # keep the sender alive; the sweep settles what it held
                if is_outage(exc):
                    self.outages.failed(exc, "outbox sender")
                else:
                    log.exception("outbox: drain failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.idle_seconds)

    async def _send(self, row: outbox.Claimed) -> int:
        """Wait for a slot, hand the row over, send it and settle it; return 1 if it was sent."""
        loop = asyncio.get_running_loop()
        group = row.chat_id < 0
        if group:  # wait for the group's turn before taking a slot of the bot's rate
            turn = max(self._group_next.get(row.chat_id, 0.0), loop.time())
            self._group_next[row.chat_id] = turn + self._group_interval
            await asyncio.sleep(turn - loop.time())
        slot = await self.rate.acquire()
        if row.id not in await self._marks.submit(row.id):
            return 0  # withdrawn, or taken over by another sender: not ours to send
        while True:
            if self.rate.late(slot):  # marking took long: wait for a later slot
                slot = await self.rate.acquire()
                continue
            if group and (wait := self._group_sent.get(row.chat_id, -1e9)
                          + self._group_interval - loop.time()) > 0:
                await asyncio.sleep(wait)  # never two requests into a group within the interval
                continue
            break
        if group:
            self._group_sent[row.chat_id] = loop.time()
        outcome = await self._attempt(row)
        await self._settles.submit(outcome)
        return 1

    async def _hand_over(self, ids: list[int]) -> set[int]:
        async with self.db.session() as session:
            return await outbox.hand_over(session, ids, by=self.name)

    async def _settle(self, outcomes: list[outbox.Outcome]) -> None:
        """Record outcomes, retrying while the database is away (unless the sender stops)."""
        pause = 0.2
        while True:
            try:
                async with self.db.session() as session:
                    await outbox.settle(session, outcomes, by=self.name)
                return
            except Exception as exc:
                if not is_outage(exc) or (self._stop is not None and self._stop.is_set()):
                    raise  # the rows stay `enviando`; the sweep settles them `incierto`
                self.outages.failed(exc, "settling sent messages")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def _attempt(self, row: outbox.Claimed) -> outbox.Outcome:
        def outcome(status: str, **details: Any) -> outbox.Outcome:
            return outbox.Outcome(row.id, row.chat_id, status, **details)

        def retry(exc: Exception) -> outbox.Outcome:
            if row.attempts + 1 >= self.max_attempts:
                return outcome(outbox.FAILED, error=str(exc))
            at = utcnow() + timedelta(seconds=self.backoff_base ** (row.attempts + 1))
            return outcome(outbox.PENDING, error=str(exc), retry_at=at)

        try:
            message_id = await self._deliver(row)
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            with contextlib.suppress(Exception):  # this instance pauses even without the db
                await self.rate.pause(wait)
            at = utcnow() + timedelta(seconds=wait)
            return outcome(outbox.PENDING, error=str(exc), retry_at=at, count_attempt=False)
        except Forbidden as exc:
            return outcome(outbox.BLOCKED, error=str(exc))
        except BadRequest as exc:
            gone = "chat not found" in str(exc).lower()
            return outcome(outbox.BLOCKED if gone else outbox.FAILED, error=str(exc))
        except NetworkError as exc:  # timeouts, connection errors and 5xx
            if never_reached_telegram(exc):
                return retry(exc)
            broken = UNCERTAIN_TIMEOUT if isinstance(exc, TimedOut) else UNCERTAIN_BROKEN
            return outcome(outbox.UNCERTAIN, error=f"{broken} ({exc})")
        except TelegramError as exc:
            return retry(exc)
        except Exception as exc:  # a row that cannot be sent at all (a malformed payload)
            # fails alone: the other rows of the batch are still settled as they went.
            log.exception("outbox: message %s could not be sent", row.id)
            return outcome(outbox.FAILED, error=f"no se pudo preparar: {type(exc).__name__}")
        return outcome(outbox.SENT, message_id=message_id)

    async def _deliver(self, row: outbox.Claimed) -> int:
        payload: dict[str, Any] = row.payload
        markup = payload.get("reply_markup")
        message = await self.bot.send_message(
            row.chat_id,
            payload["text"],
            reply_markup=InlineKeyboardMarkup.de_json(markup, self.bot) if markup else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return message.message_id


def _seconds(value: Any) -> float:
    """Return a RetryAfter wait in seconds, whether PTB gives int or timedelta."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
