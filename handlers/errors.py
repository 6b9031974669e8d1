"""The error handler: log the failure, tell the person plainly, leak nothing."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from bot.context import CabildoContext

log = logging.getLogger(__name__)

SOMETHING_FAILED = (
    "😕 Algo falló de nuestro lado y no pude responder. Intente de nuevo en un momento."
)


async def on_error(update: object, context: CabildoContext) -> None:
    """Log the exception and apologise to the person without internal details."""
    if isinstance(context.error, Forbidden):
        log.info("chat unreachable (blocked or deleted): %s", context.error)
        return
    log.error("update failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, SOMETHING_FAILED)
        except Exception:  # the chat may be gone; the failure is logged above
            log.warning("could not tell the chat about the error")
