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
- no answer in time after the request was written (a read timeout), the connection broke
  while waiting for the answer, or an answer that cannot be read → `incierto`: it may have
  arrived, so it is never sent again;
- 403 (blocked, deleted, kicked) or "chat not found" → `bloqueado`, and the citizen is marked
  so nothing more is queued for them;
- any other 400 → `fallido` at once (retrying would fail the same way);
- a row that cannot be sent at all (a malformed payload) → `fallido`, alone.

**One rate for the whole bot** (`bot.pace`). Slots come from the database, one schedule
shared by every instance, spaced a little more than 1/rate apart; a request leaves within
TOLERANCE of its slot or not at all. So however many instances send, no one-second window
holds more than `rate_per_second` requests. A row is
handed over (its commit) just ahead of its slot, by twice the recent hand-over time, so that
commit does not make the slot late (a lost slot: the measured rate fell to 0.63 of the
setting with real processes on SQLite). A row whose slot passed all the same takes one of
the next few slots (a late wake-up on a busy machine), then goes back to the queue rather
than wait `enviando` longer (a crash meanwhile would make it `incierto` without it ever
leaving). A sender never holds two copies of one row (a reservation that lapsed while its
row waited, taken again): only one is sent.

**Groups.** Telegram lets a bot send about 20 messages a minute into one group. Each group
has its own turns in the same table (key `grupo:<chat id>`), (1 + MARGIN) · 3 s apart for
the whole bot, so several instances sending alerts to one junta's group together keep it. A
request leaves within GROUP_TOLERANCE of its turn or goes back to the queue, so any minute holds
at most 20 requests into a group; one instance also never sends two within the interval.

**Outages.** Settling is retried until the database answers again; if the process dies
first, its rows in flight are settled `incierto` by the minute sweep once their lease runs
out, and the rows it had only reserved go back to the queue. After a row is handed over
nothing but its request and its settling touches the database. A database step that has
begun is finished even if the sender is cancelled (`bot.steps.db_step`). A database that is down is
logged once (`bot.outages`), not once per row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.outages import Outages, is_outage
from bot.pace import MARGIN, MAX_LEAD, SharedRate, take_slots
from bot.steps import Coalesce, db_step
from storage import broadcasts, outbox
from storage.db import Database, durably
from storage.jobs import instance_name
from storage.models import Broadcast
from storage.types import utcnow

log = logging.getLogger(__name__)

GROUP_PER_MINUTE = 20
GROUP_KEY = "grupo:{}"
SLOT_RETRIES = 3  # next slots a handed-over row may take when its own passed
# A request into a group leaves at most this share of the group's interval after its turn:
# 60 s + 1/3 of (1 + MARGIN) · 60/N stays under N turns, so no minute holds N + 1 requests.
GROUP_TOLERANCE = 1 / 3
UNCERTAIN_TIMEOUT = "Telegram no respondió a tiempo: pudo llegar; no se reenvía"
MISSED = "no salió a su turno: vuelve a la cola"
UNCERTAIN_BROKEN = "se cortó la conexión esperando la respuesta: pudo llegar; no se reenvía"
UNCERTAIN_UNREADABLE = "la respuesta de Telegram no se pudo leer: pudo llegar; no se reenvía"
# Causes that prove the request never reached Telegram, so sending it again is safe.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteTimeout)

Report = Callable[[Broadcast, dict[str, int]], "tuple[int, str] | None"]


def never_reached_telegram(error: NetworkError) -> bool:
    """Tell whether a failed request certainly did not reach Telegram (safe to resend)."""
    cause = error.__cause__
    if cause is None:  # Telegram answered with an HTTP error (5xx): it did not take it
        return not isinstance(error, TimedOut)
    return isinstance(cause, _NEVER_SENT)


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
        self._group_sent: dict[int, float] = {}  # each group's last request from here
        # One message every 60/N seconds, no burst: a bucket of N per minute would let N
        # through at once and N more within that same minute.
        self._group_interval = 60.0 / group_per_minute
        self._group_turns = (1 + MARGIN) * self._group_interval  # shared by all instances
        self._report = report
        self._stop: asyncio.Event | None = None
        # How long handing a row over takes (a commit): rows are handed over that long
        # before their slot, so the slot is not missed and few rows wait `enviando`.
        self._hand_over_s = 0.01
        self._in_hand: set[int] = set()  # ids of the rows this sender's workers hold
        self._marks: Coalesce[int, set[int]] = Coalesce(self._hand_over)
        self._settles: Coalesce[outbox.Outcome, None] = Coalesce(self._settle)

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
                    queue.extend(await db_step(self.db, lambda s: outbox.reserve(
                        s, by=self.name, limit=self.batch_size, again=first
                    )))
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

        try:
            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        except asyncio.CancelledError:  # the task was cancelled: as if the process died
            await self._marks.close()
            await self._settles.close()
            raise
        if queue or trouble or stopping():
            with contextlib.suppress(Exception):  # otherwise their reservation just lapses
                await db_step(self.db, lambda s: outbox.release(s, by=self.name))
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
        """Send the row unless this sender is already at it; return 1 if it was sent.

        A row can come twice into a sender's hands: its reservation lapsed while it waited
        for a slot (a starved machine, a long 429 pause) and the same sender reserved it
        again. Both copies would then be handed over in one commit and sent (seen under
        load). The second copy is dropped here; the first settles the row.
        """
        if row.id in self._in_hand:
            return 0
        self._in_hand.add(row.id)
        try:
            return await self._send_once(row)
        finally:
            self._in_hand.discard(row.id)

    async def _send_once(self, row: outbox.Claimed) -> int:
        """Wait for a slot, hand the row over, send it and settle it; return 1 if it was sent."""
        turn = 0.0
        if row.chat_id < 0:  # wait for the group's turn before taking a slot of the bot's rate
            turn = await self._group_turn(row.chat_id)
        loop = asyncio.get_running_loop()
        slot = await self.rate.acquire(lead=self._lead)
        asked = loop.time()
        handed = await self._marks.submit(row.id)
        self._hand_over_s += 0.2 * (loop.time() - asked - self._hand_over_s)
        if row.id not in handed:
            return 0  # withdrawn, or taken over by another sender: not ours to send
        ready = await self._wait_to_send(row, slot, turn)
        for _ in range(SLOT_RETRIES):
            if ready or self._turn_passed(row, turn):
                break
            # The slot passed while handing over (a late wake-up on a busy machine). The row
            # is handed over already, so the very next slot will do, with no lead: a few
            # milliseconds more `enviando`, instead of a database write to give it back
            # (on a starved machine those writes made more slots pass, and sending crawled).
            try:
                slot = await self.rate.acquire()
            except Exception:  # no slot to be had (the database is away): back to the queue
                break
            ready = await self._wait_to_send(row, slot, turn)
        if not ready:
            # Still no slot in time (or the group's turn has passed): the row goes back to
            # the queue rather than wait `enviando` longer (a crash meanwhile would make it
            # `incierto` without it ever leaving).
            await self._settles.submit(outbox.Outcome(
                row.id, row.chat_id, outbox.PENDING, error=MISSED, count_attempt=False
            ))
            return 0
        outcome = await self._attempt(row)
        await self._settles.submit(outcome)
        return 1

    async def _wait_to_send(self, row: outbox.Claimed, slot: float, turn: float) -> bool:
        """Wait for the row's slot; False if it (or the group's turn) has passed meanwhile."""
        loop = asyncio.get_running_loop()
        group = row.chat_id < 0
        while True:
            if self.rate.late(slot):
                return False
            if self._turn_passed(row, turn):
                return False
            if group and (wait := self._group_sent.get(row.chat_id, -1e9)
                          + self._group_interval - loop.time()) > 0:
                await asyncio.sleep(wait)  # never two requests into a group within the interval
                continue
            if (early := slot - loop.time()) > 0:  # handed over ahead of the slot
                await asyncio.sleep(early)
                continue
            break
        if group:
            self._group_sent[row.chat_id] = loop.time()
        return True

    def _turn_passed(self, row: outbox.Claimed, turn: float) -> bool:
        """Tell whether a group's row has missed its group's turn (it must take another)."""
        late = asyncio.get_running_loop().time() - turn
        return row.chat_id < 0 and late > GROUP_TOLERANCE * self._group_turns

    def _lead(self) -> float:
        """Return how long before its slot a row is handed over: twice the usual hand-over."""
        return min(MAX_LEAD, 2 * self._hand_over_s + 0.005)

    async def _group_turn(self, chat_id: int) -> float:
        """Take the group's next turn, shared by every instance; wait for it and return it."""
        turn = await take_slots(self.db, GROUP_KEY.format(chat_id), 1, self._group_turns)
        await asyncio.sleep(turn - asyncio.get_running_loop().time())
        return turn

    async def _hand_over(self, ids: list[int]) -> set[int]:
        async def durable(session: AsyncSession) -> set[int]:
            async with durably(session):  # a power cut must not put them back in the queue
                return await outbox.hand_over(session, ids, by=self.name)

        return await db_step(self.db, durable)

    async def _settle(self, outcomes: list[outbox.Outcome]) -> None:
        """Record outcomes, retrying while the database is away (unless the sender stops)."""
        pause = 0.2
        while True:
            try:
                await db_step(self.db, lambda s: outbox.settle(s, outcomes, by=self.name))
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
            self._prepare(row)
        except Exception as exc:  # a row that cannot be sent at all (a malformed payload)
            # fails alone: the other rows of the batch are still settled as they went.
            log.exception("outbox: message %s could not be sent", row.id)
            return outcome(outbox.FAILED, error=f"no se pudo preparar: {type(exc).__name__}")
        left = utcnow()  # the row's `sent_at`: the moment the paced request leaves
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
        except (InvalidToken, ChatMigrated) as exc:  # Telegram refused it: nothing went out
            return retry(exc)
        except Exception as exc:
            # Anything else came after the request left: an answer that could not be read
            # (PTB's "Invalid server response"), a message that could not be decoded. It
            # may have arrived, so it is never sent again.
            log.warning("outbox: message %s: unreadable answer: %r", row.id, exc)
            return outcome(outbox.UNCERTAIN, error=f"{UNCERTAIN_UNREADABLE} ({exc!r})"[:500])
        return outcome(outbox.SENT, message_id=message_id, sent_at=left)

    def _prepare(self, row: outbox.Claimed) -> tuple[str, InlineKeyboardMarkup | None]:
        """Return the message's text and buttons; raise if the row cannot be a message."""
        payload: dict[str, Any] = row.payload
        markup = payload.get("reply_markup")
        text = payload["text"]
        if not isinstance(text, str):
            raise TypeError("text is not a string")
        return text, InlineKeyboardMarkup.de_json(markup, self.bot) if markup else None

    async def _deliver(self, row: outbox.Claimed) -> int:
        """Send the row (prepared again: cheap, and `_attempt` has checked it can be)."""
        text, markup = self._prepare(row)
        message = await self.bot.send_message(
            row.chat_id, text, reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return message.message_id


def _seconds(value: Any) -> float:
    """Return a RetryAfter wait in seconds, whether PTB gives int or timedelta."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
