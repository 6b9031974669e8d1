"""Abuse limits, checked before anything else: message length and messages per minute.

Each person has a sliding one-minute window. A message costs 2 and a button tap 1, out of
2 × MESSAGES_PER_MINUTE (staff: STAFF_FACTOR times that), so a person may send
MESSAGES_PER_MINUTE messages or twice as many taps a minute. Only what is let through
counts: refused updates never extend the wait. The first refusal says when they may go on;
the rest of that wait is silent. Windows of people who stayed quiet for a minute are
dropped, so memory follows the people active in the last minute, not everyone ever seen.

The windows are counted in `bot.throttle`. Counting is per process; with several
instances each one allows the configured rate, which still bounds a flood to a small
multiple.
"""

from __future__ import annotations

import math

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.context import CabildoContext
from bot.throttle import MESSAGE_COST, TAP_COST, RateLimiter, Verdict
from storage.roles import RANK, role_of

GROUP = -3
MAX_TEXT_LENGTH = 1000
STAFF_MAX_TEXT_LENGTH = 4096  # Telegram's own limit: broadcasts and answers may be long
TOO_LONG = (
    "Su mensaje es muy largo. Escríbalo en {limit} caracteres o menos, por favor."
)
TOO_MANY = "Está enviando muchos mensajes seguidos. Podrá seguir en {wait}."


def rate_limiter(context: CabildoContext) -> RateLimiter:
    """Return this process's limiter (built with the Application, from the settings)."""
    return context.bot_data.limiter


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
