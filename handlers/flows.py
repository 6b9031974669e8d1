"""Typed answers inside multi-step flows (wizards), routed by the state kept in the database.

A flow that needs free text (the broadcast text, a date) registers a handler here. This
runs in its own handler group before the main one: when the person is in such a flow the
text goes to it and stops there; otherwise the text continues to the normal handlers.
Because the state lives in the database, any instance can take the next message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, MessageHandler, filters

from bot.context import CabildoContext
from storage.conversations import FlowState, get_state

GROUP = -1
TextStep = Callable[[Update, CabildoContext, FlowState], Awaitable[None]]
# flow name → handler of the text typed while in that flow; filled by the flow modules.
TEXT_STEPS: dict[str, TextStep] = {}


async def route_text(update: Update, context: CabildoContext) -> None:
    """Hand typed text to the flow the person is in, if any."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or not TEXT_STEPS:
        return
    async with context.db.session() as session:
        state = await get_state(session, chat_id=chat.id, user_id=user.id)
    if state is None or state.flow not in TEXT_STEPS:
        return
    await TEXT_STEPS[state.flow](update, context, state)
    raise ApplicationHandlerStop


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, route_text),
]
