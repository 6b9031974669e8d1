"""Abuse limits, checked before anything else: message length and messages per minute.

Counting is per process (a sliding window in memory); with several instances each one
allows the configured rate, which still bounds a flood to a small multiple.
"""

from __future__ import annotations

import time
from collections import deque

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, MessageHandler, filters

from bot.context import CabildoContext
from storage.roles import RANK, role_of

GROUP = -3
WINDOW_SECONDS = 60.0
MAX_TEXT_LENGTH = 1000
STAFF_MAX_TEXT_LENGTH = 4096  # Telegram's own limit: broadcasts and answers may be long
TOO_LONG = (
    "Su mensaje es muy largo. Escríbalo en {limit} caracteres o menos, por favor."
)
TOO_MANY = "Está enviando muchos mensajes seguidos. Espere un minuto y vuelva a intentarlo."


async def limit_messages(update: Update, context: CabildoContext) -> None:
    """Stop over-long texts and floods from one person, answering once, politely."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    windows: dict[int, deque[float]] = context.bot_data.setdefault("rate_windows", {})
    now = time.monotonic()
    window = windows.setdefault(user.id, deque())
    while window and now - window[0] > WINDOW_SECONDS:
        window.popleft()
    window.append(now)
    allowed = context.settings.messages_per_minute
    if len(window) > allowed:
        if len(window) == allowed + 1:  # say it once per flood, then stay quiet
            await message.reply_text(TOO_MANY)
        raise ApplicationHandlerStop
    if message.text and len(message.text) > MAX_TEXT_LENGTH:
        limit = MAX_TEXT_LENGTH
        async with context.db.session() as session:  # only for long texts: rare
            role = await role_of(session, telegram_id=user.id,
                                 admin_ids=context.settings.admin_ids)
        if RANK[role] >= RANK["staff"]:
            limit = STAFF_MAX_TEXT_LENGTH
        if len(message.text) > limit:
            await message.reply_text(TOO_LONG.format(limit=f"{limit:,}".replace(",", ".")))
            raise ApplicationHandlerStop


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    MessageHandler(filters.ChatType.PRIVATE & (filters.TEXT | filters.LOCATION), limit_messages),
]
