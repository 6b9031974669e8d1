"""Catch-alls: unknown commands, stale buttons, files nobody handles, and any other text."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import CabildoContext
from handlers.imports import import_usage
from handlers.keyboards import main_menu
from handlers.search import answer_question
from storage.roles import RANK, role_of

UNKNOWN_COMMAND = "No conozco el comando {command}. Estas son las opciones:"
NO_FILES = (
    "Por ahora no recibo archivos, fotos ni audios. Escriba su pregunta o elija una opción:"
)
STALE_BUTTON = "Ese botón ya no está disponible."
MAX_ECHO = 40


async def unknown_command(update: Update, context: CabildoContext) -> None:
    """Say the command is unknown and show the menu."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split()[0][:MAX_ECHO]
    await message.reply_text(
        UNKNOWN_COMMAND.format(command=escape(command)), reply_markup=main_menu()
    )


async def unsupported_attachment(update: Update, context: CabildoContext) -> None:
    """Answer a file, photo, sticker or audio nobody handles: staff learn how to import."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    async with context.db.session() as session:
        role = await role_of(session, telegram_id=user.id, admin_ids=context.settings.admin_ids)
    if message.document is not None and RANK[role] >= RANK["staff"]:
        await message.reply_text(import_usage())
        return
    await message.reply_text(NO_FILES, reply_markup=main_menu())


async def stale_button(update: Update, context: CabildoContext) -> None:
    """Answer a button no handler owns (an old or forged one) without acting."""
    if update.callback_query:
        await update.callback_query.answer(STALE_BUTTON, show_alert=False)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    # In groups, other bots' commands are none of our business.
    MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command),
    MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, answer_question),
    MessageHandler(filters.ATTACHMENT & filters.ChatType.PRIVATE, unsupported_attachment),
    CallbackQueryHandler(stale_button),
]
