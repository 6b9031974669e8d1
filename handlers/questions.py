"""`/preguntar`: citizens' questions for the hearing and the offices (being built)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import CabildoContext

HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = []
