"""Abuse limits, checked before anything else: message length and messages per minute.

Each person has a sliding one-minute window. A message costs 2 and a button tap 1, out of
2 × MESSAGES_PER_MINUTE (staff: STAFF_FACTOR times that), so a person may send
MESSAGES_PER_MINUTE messages or twice as many taps a minute. Only what is let through
counts: refused updates never extend the wait. The first refusal says when they may go on;
the rest of that wait is silent. Windows of people who stayed quiet for a minute are
dropped, so memory follows the people active in the last minute, not everyone ever seen.

Counting is per process; with several instances each one allows the configured rate,
which still bounds a flood to a small multiple.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.context import CabildoContext
from storage.roles import RANK, role_of

GROUP = -3
WINDOW_SECONDS = 60.0
MESSAGE_COST, TAP_COST = 2, 1
STAFF_FACTOR = 5  # staff broadcast, answer and import in bursts
MAX_TEXT_LENGTH = 1000
STAFF_MAX_TEXT_LENGTH = 4096  # Telegram's own limit: broadcasts and answers may be long
TOO_LONG = (
    "Su mensaje es muy largo. Escríbalo en {limit} caracteres o menos, por favor."
)
TOO_MANY = "Está enviando muchos mensajes seguidos. Podrá seguir en {wait}."
LIMITER_KEY = "rate_limiter"


@dataclass
class Window:
    """What one person did in the last minute: (time, cost) of each update let through."""

    events: deque[tuple[float, int]] = field(default_factory=deque)
    used: int = 0
    staff: bool | None = None  # looked up the first time they reach the citizens' budget
    told_until: float = 0.0  # refusals until then stay silent


@dataclass(frozen=True)
class Verdict:
    """Whether an update may go on; if not, how long until it may and whether to say so."""

    allowed: bool
    wait: float = 0.0
    tell: bool = False


class RateLimiter:
    """Sliding one-minute windows per person, pruned as time passes."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 window: float = WINDOW_SECONDS) -> None:
        self.budget = MESSAGE_COST * per_minute
        self.clock = clock
        self.window_seconds = window
        self._windows: dict[int, Window] = {}
        self._pruned_at = clock()

    @property
    def tracked(self) -> int:
        """How many people have a window in memory."""
        return len(self._windows)

    def window(self, person: int) -> Window:
        """Return the person's window with events older than a minute dropped."""
        now = self.clock()
        if now - self._pruned_at >= self.window_seconds:
            self._prune(now)
        state = self._windows.setdefault(person, Window())
        self._expire(state, now)
        return state

    def needs_role(self, state: Window, cost: int) -> bool:
        """Tell whether the person's role matters now (they reach the citizens' budget)."""
        return state.staff is None and state.used + cost > self.budget

    def take(self, state: Window, cost: int) -> Verdict:
        """Count the update if it fits in the person's budget; otherwise refuse it."""
        now = self.clock()
        budget = self.budget * (STAFF_FACTOR if state.staff else 1)
        if state.used + cost <= budget:
            state.events.append((now, cost))
            state.used += cost
            return Verdict(True)
        # Free again once enough of the oldest events leave the window.
        freed, until = state.used, now
        for at, spent in state.events:
            freed -= spent
            until = at + self.window_seconds
            if freed + cost <= budget:
                break
        tell = now >= state.told_until
        state.told_until = until
        return Verdict(False, wait=max(until - now, 0.0), tell=tell)

    def _expire(self, state: Window, now: float) -> None:
        while state.events and now - state.events[0][0] >= self.window_seconds:
            state.used -= state.events.popleft()[1]

    def _prune(self, now: float) -> None:
        for person, state in list(self._windows.items()):
            self._expire(state, now)
            if not state.events and now >= state.told_until:
                del self._windows[person]
        self._pruned_at = now


def rate_limiter(context: CabildoContext) -> RateLimiter:
    """Return this process's limiter (created on first use from the settings)."""
    limiter = context.bot_data.get(LIMITER_KEY)
    if not isinstance(limiter, RateLimiter):
        limiter = RateLimiter(context.settings.messages_per_minute)
        context.bot_data[LIMITER_KEY] = limiter
    return limiter


def wait_words(seconds: float) -> str:
    """Say a wait of up to a minute in plain words: «40 segundos», «1 minuto»."""
    whole = max(1, math.ceil(seconds))
    if whole >= 60:
        return "1 minuto"
    return "1 segundo" if whole == 1 else f"{whole} segundos"


async def _is_staff(context: CabildoContext, user_id: int) -> bool:
    async with context.db.session() as session:
        role = await role_of(session, telegram_id=user_id, admin_ids=context.settings.admin_ids)
    return RANK[role] >= RANK["staff"]


async def _admit(context: CabildoContext, user_id: int, cost: int) -> Verdict:
    limiter = rate_limiter(context)
    state = limiter.window(user_id)
    if limiter.needs_role(state, cost):  # only near the limit: no database read otherwise
        state.staff = await _is_staff(context, user_id)
    return limiter.take(state, cost)


async def limit_messages(update: Update, context: CabildoContext) -> None:
    """Stop over-long texts and floods from one person, answering once, politely."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    verdict = await _admit(context, user.id, MESSAGE_COST)
    if not verdict.allowed:
        if verdict.tell:  # say it once per wait, then stay quiet
            await message.reply_text(TOO_MANY.format(wait=wait_words(verdict.wait)))
        raise ApplicationHandlerStop
    if message.text and len(message.text) > MAX_TEXT_LENGTH:
        limit = MAX_TEXT_LENGTH
        if await _is_staff(context, user.id):  # only for long texts: rare
            limit = STAFF_MAX_TEXT_LENGTH
        if len(message.text) > limit:
            await message.reply_text(TOO_LONG.format(limit=f"{limit:,}".replace(",", ".")))
            raise ApplicationHandlerStop


async def limit_taps(update: Update, context: CabildoContext) -> None:
    """Count button taps in the same window; a refused tap only stops the button's spinner."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    verdict = await _admit(context, user.id, TAP_COST)
    if not verdict.allowed:
        text = TOO_MANY.format(wait=wait_words(verdict.wait)) if verdict.tell else None
        await query.answer(text)
        raise ApplicationHandlerStop


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    MessageHandler(filters.ChatType.PRIVATE & (filters.TEXT | filters.LOCATION), limit_messages),
    CallbackQueryHandler(limit_taps),
]
