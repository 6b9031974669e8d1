"""Area module (being built): its handlers are registered before start's generic ones."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import CabildoContext

HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = []
