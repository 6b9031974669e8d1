"""Access rules in one place: a first handler group that stops what a person may not do.

Staff and admin commands are answered to others exactly like an unknown command, so their
existence is not revealed; staff buttons (`staff:`/`adm:` callback data) are refused as stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import CabildoContext
from handlers.fallback import STALE_BUTTON, UNKNOWN_COMMAND
from handlers.keyboards import main_menu
from storage.roles import RANK, role_of

GROUP = -1
RESTRICTED_CALLBACKS = {"staff": "staff", "adm": "admin"}


async def current_role(update: Update, context: CabildoContext) -> str:
    """Return the role of the person behind this update."""
    user = update.effective_user
    if user is None:
        return "ciudadano"
    async with context.db.session() as session:
        return await role_of(session, telegram_id=user.id, admin_ids=context.settings.admin_ids)


async def guard_command(
    update: Update, context: CabildoContext, restricted: Mapping[str, str]
) -> None:
    """Let a restricted command through only for people with the role it needs."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    if message is None or not text:
        raise ApplicationHandlerStop
    command = text.split()[0].lstrip("/").split("@")[0].lower()
    needed = restricted.get(command)
    if needed is None and message.text is None:
        return  # a caption that names no restricted command
    if RANK[await current_role(update, context)] >= RANK[needed or "admin"]:
        return
    await message.reply_text(
        UNKNOWN_COMMAND.format(command=escape(text.split()[0][:40])),
        reply_markup=main_menu(),
    )
    raise ApplicationHandlerStop


async def guard_callback(update: Update, context: CabildoContext) -> None:
    """Let a staff button through only for people with the role it needs."""
    query = update.callback_query
    if query is None:
        raise ApplicationHandlerStop
    prefix = (query.data or "").split(":", 1)[0]
    needed = RESTRICTED_CALLBACKS.get(prefix, "admin")
    if RANK[await current_role(update, context)] >= RANK[needed]:
        return
    await query.answer(STALE_BUTTON)
    raise ApplicationHandlerStop


def handlers(
    restricted: Mapping[str, str],
) -> list[BaseHandler[Update, CabildoContext, None]]:
    """Return the guards; `restricted` maps each command not for everyone to its lowest role
    (`handlers.commands.restricted()`)."""

    async def guard(update: Update, context: CabildoContext) -> None:
        await guard_command(update, context, restricted)

    return [
        CommandHandler(list(restricted), guard),
        # Staff upload files with a command in the caption (`/importar obras`).
        MessageHandler(filters.CaptionRegex(r"^/\w+"), guard),
        CallbackQueryHandler(guard_callback, pattern=r"^(staff|adm):"),
    ]
