"""Showing a screen: edit the message whose button was tapped, or send a new one."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest


async def show(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
    """Edit the tapped message, or send a new one for a command or typed text.

    Return False when nothing changed: a double tap asks for the screen already shown. If
    the tapped message can no longer be edited (too old, deleted), the screen is sent anew.
    """
    query, message = update.callback_query, update.effective_message
    if query is not None:
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return True
        except BadRequest as exc:
            if "not modified" in str(exc):
                return False
            if message is None:
                raise
    if message is not None:
        await message.reply_text(text, reply_markup=markup)
    return True
