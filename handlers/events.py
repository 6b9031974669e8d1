"""`/agenda`: upcoming events, RSVP with a waiting list, calendar files (being built)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import CabildoContext


async def open_event(update: Update, context: CabildoContext, key: str) -> bool:
    """Open an event's card (deep link `/start evento_<id>`); False if unknown."""
    return False


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = []
