"""`/encuestas`: perception surveys answered one question at a time (being built)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import CabildoContext


async def open_survey(update: Update, context: CabildoContext, slug: str) -> bool:
    """Open a survey (deep link `/start encuesta_<slug>`); False if unknown."""
    return False


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = []
