"""The outbox sender: drains queued messages at a configured, Telegram-safe rate.

Bulk messages never go straight from a handler: they are rows in the outbox
(`storage.outbox`). This sender claims due rows, sends them with at most
`rate_per_second` overall and 20 a minute into any one group (evenly spaced, so no
60-second window ever holds more), and settles each row:
- accepted → `enviado` with Telegram's message id;
- 429 RetryAfter → back to `pendiente` after the wait, and the whole sender pauses (Telegram's
  flood control is bot-wide); not counted as an attempt;
- timeouts, network errors, 5xx → retried with exponential back-off, `fallido` after
  `max_attempts`;
- 403 (blocked, deleted, kicked) or "chat not found" → `bloqueado`, and the citizen is marked
  so nothing more is queued for them;
- any other 400 → `fallido` at once (retrying would fail the same way);
- a row that cannot be sent at all (a malformed payload) → `fallido`, alone: the rest of
  its batch is settled as it went.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from storage import broadcasts, outbox
from storage.db import Database
from storage.jobs import claim_run
from storage.models import Broadcast
from storage.types import utcnow

log = logging.getLogger(__name__)

GROUP_PER_MINUTE = 20
INTERRUPTED_AFTER = timedelta(minutes=5)


class OutboxSender:
    """Claims outbox rows and sends them, paced; safe to run in several processes at once."""

    def __init__(
        self,
        bot: Bot,
        db: Database,
        *,
        rate_per_second: float,
        max_attempts: int = 5,
        batch_size: int = 100,
        concurrency: int = 32,
        idle_seconds: float = 1.0,
        backoff_base: float = 2.0,
        on_finished: Callable[[Bot, Broadcast, dict[str, int]], Awaitable[None]] | None = None,
        group_per_minute: float = GROUP_PER_MINUTE,
    ) -> None:
        self.bot = bot
        self.db = db
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.backoff_base = backoff_base
        self._limiter = AsyncLimiter(max(rate_per_second, 0.1), 1)
        self._groups: dict[int, AsyncLimiter] = {}
        # One message every 60/N seconds, no burst: a bucket of N per minute would let N
        # through at once and N more within that same minute.
        self._group_interval = 60.0 / group_per_minute
        self._slots = asyncio.Semaphore(concurrency)
        self._resume_at = 0.0
        self._on_finished = on_finished

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Send every row due now (and rows that become due meanwhile); return how many.

        With `stop`, return after the batch in hand once it is set.
        """
        sent = 0
        while stop is None or not stop.is_set():
            async with self.db.session() as session:
                rows = await outbox.claim(session, limit=self.batch_size)
            if not rows:
                return sent
            outcomes = await asyncio.gather(*(self._send(row) for row in rows))
            async with self.db.session() as session:
                await outbox.settle(session, outcomes)
            sent += len(rows)
        return sent

    async def report_finished(self) -> None:
        """Tell the authors of broadcasts that just finished how delivery went."""
        async with self.db.session() as session:
            done = await broadcasts.finished_broadcasts(session)
        for broadcast, counts in done:
            log.info("broadcast %s finished: %s", broadcast.id, counts)
            async with self.db.session() as session:  # one report, whichever instance saw it
                if not await claim_run(session, job="informe-difusion", key=str(broadcast.id)):
                    continue
            if self._on_finished is not None:
                try:
                    await self._on_finished(self.bot, broadcast, counts)
                except TelegramError:
                    log.warning("could not send the report of broadcast %s", broadcast.id)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain the outbox until `stop` is set, settling rows a dead sender left behind."""
        async with self.db.session() as session:
            settled = await outbox.settle_interrupted(session, older_than=INTERRUPTED_AFTER)
        if settled:
            log.warning("outbox: %d interrupted messages marked failed, not resent", settled)
        while not stop.is_set():
            try:
                await self.drain(stop)
                await self.report_finished()
            except Exception:  # keep the sender alive; the row stays claimed and is settled later
                log.exception("outbox: drain failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.idle_seconds)

    async def _pace(self, chat_id: int) -> None:
        loop = asyncio.get_running_loop()
        while (delay := self._resume_at - loop.time()) > 0:
            await asyncio.sleep(delay)
        if chat_id < 0:
            group = self._groups.setdefault(chat_id, AsyncLimiter(1, self._group_interval))
            await group.acquire()
        await self._limiter.acquire()

    async def _send(self, row: outbox.Claimed) -> outbox.Outcome:
        async with self._slots:
            await self._pace(row.chat_id)
            return await self._attempt(row)

    async def _attempt(self, row: outbox.Claimed) -> outbox.Outcome:
        def outcome(status: str, **details: Any) -> outbox.Outcome:
            return outbox.Outcome(row.id, row.chat_id, status, **details)

        try:
            message_id = await self._deliver(row)
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            loop = asyncio.get_running_loop()
            self._resume_at = max(self._resume_at, loop.time() + wait)
            at = utcnow() + timedelta(seconds=wait)
            return outcome(outbox.PENDING, error=str(exc), retry_at=at, count_attempt=False)
        except Forbidden as exc:
            return outcome(outbox.BLOCKED, error=str(exc))
        except BadRequest as exc:
            gone = "chat not found" in str(exc).lower()
            return outcome(outbox.BLOCKED if gone else outbox.FAILED, error=str(exc))
        except (NetworkError, TelegramError) as exc:  # timeouts and 5xx are NetworkError
            if row.attempts + 1 >= self.max_attempts:
                return outcome(outbox.FAILED, error=str(exc))
            at = utcnow() + timedelta(seconds=self.backoff_base ** (row.attempts + 1))
            return outcome(outbox.PENDING, error=str(exc), retry_at=at)
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
