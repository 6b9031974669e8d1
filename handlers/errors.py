"""The error handler: log the failure, tell the person plainly once, leak nothing.

One apology per update: once a handler of an update fails, no later handler group runs for
it (when the database is down they would all fail the same way, and each would apologise).
A database that cannot be reached is logged once with its cause and then counted
(`bot.outages`), not traced for every update.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ApplicationHandlerStop

from bot.context import CabildoContext
from bot.outages import is_outage

log = logging.getLogger(__name__)

SOMETHING_FAILED = (
    "😕 Algo falló de nuestro lado y no pude responder. Intente de nuevo en un momento."
)


async def on_error(update: object, context: CabildoContext) -> None:
    """Log the exception and apologise to the person, once, without internal details."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("chat unreachable (blocked or deleted): %s", error)
        return
    outages = context.bot_data.outages
    if error is not None and is_outage(error):
        outages.failed(error, "an update" if update is not None else "a scheduled job")
    else:
        log.error("update failed", exc_info=error)
    if isinstance(update, Update):
        if update.effective_chat:
            try:
                await context.bot.send_message(update.effective_chat.id, SOMETHING_FAILED)
            except Exception:  # the chat may be gone; the failure is logged above
                log.warning("could not tell the chat about the error")
        raise ApplicationHandlerStop  # the update failed: no other handler group runs for it
