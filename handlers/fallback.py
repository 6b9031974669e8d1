"""Catch-alls: unknown commands, stale buttons, and any other text."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import CabildoContext
from handlers.keyboards import main_menu
from handlers.search import answer_question

UNKNOWN_COMMAND = "No conozco el comando {command}. Estas son las opciones:"
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


async def stale_button(update: Update, context: CabildoContext) -> None:
    """Answer a button no handler owns (an old or forged one) without acting."""
    if update.callback_query:
        await update.callback_query.answer(STALE_BUTTON, show_alert=False)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    # In groups, other bots' commands are none of our business.
    MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command),
    MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, answer_question),
    CallbackQueryHandler(stale_button),
]
