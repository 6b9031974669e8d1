"""Typed answers inside multi-step flows (wizards), routed by the state kept in the database.

A flow that needs free text (the broadcast text, a date) registers a handler here. This
runs in its own handler group before the main one: when the person is in such a flow the
text goes to it and stops there; otherwise the text continues to the normal handlers.
Because the state lives in the database, any instance can take the next message.

A flow may also take a shared location (`LOCATION_STEPS`: the events wizard's map step);
any other location goes on to the ordinary handlers (the nearest works).

A text flow is left, so that a later message is never taken for its answer, when the person
turns elsewhere: any command (except `/cancelar`, which leaves it itself and says so) or a
main-menu button (`menu:`) forgets it before its own handler runs; and a flow idle for
`IDLE_LIMIT` is forgotten when the next text arrives, which then gets the ordinary answer,
after a line saying what was left (`IDLE_NOTES`), so nobody wonders where their half-written
question or their survey went. Flows that wait only for buttons (the participatory-budget
basket) are not text flows and are kept. The leaving runs in its own handler group
(`LEAVE_GROUP`), before the access guard, so staff commands end a pending step too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.context import CabildoContext
from storage.conversations import FlowState, clear_state, forget_state, get_state
from storage.types import utcnow

GROUP = -1
TextStep = Callable[[Update, CabildoContext, FlowState], Awaitable[None]]
# flow name → handler of the text typed while in that flow; filled by the flow modules.
TEXT_STEPS: dict[str, TextStep] = {}
# A text flow untouched this long is over: the next text is not its answer.
IDLE_LIMIT = timedelta(minutes=30)
# flow name → handler of a location shared while in that flow (the events wizard's map step).
LOCATION_STEPS: dict[str, TextStep] = {}
# flow name → what the person is told when their next text comes after IDLE_LIMIT.
IDLE_NOTES: dict[str, str] = {}
IDLE_NOTE = (
    "⌛ Pasaron más de 30 minutos, así que no tomé su mensaje como respuesta al paso anterior."
)
# The subject of the last answer, kept for a follow-up («¿y cuándo la terminan?»): not a
# text flow, but any command or main-menu button ends it too (see `handlers.answers`).
TOPIC_FLOW = "tema"
TOPIC_TTL = timedelta(minutes=15)  # a follow-up is understood this long after the answer
# Commands that handle a pending flow themselves.
KEEPS_FLOW = frozenset({"cancelar", "cancel"})


async def flow_state(update: Update, context: CabildoContext, flow: str) -> FlowState | None:
    """Return the person's pending state in this chat if it belongs to `flow`."""
    state = await flow_state_any(update, context)
    return state if state is not None and state.flow == flow else None


async def flow_state_any(update: Update, context: CabildoContext) -> FlowState | None:
    """Return the person's pending state in this chat, whatever its flow."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    async with context.db.session() as session:
        return await get_state(session, chat_id=chat.id, user_id=user.id)


async def route_text(update: Update, context: CabildoContext) -> None:
    """Hand typed text to the flow the person is in, if any."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or not TEXT_STEPS:
        return
    async with context.db.session() as session:
        state = await get_state(session, chat_id=chat.id, user_id=user.id)
        if state is not None and state.flow in TEXT_STEPS and state.updated_at is not None and (
            utcnow() - state.updated_at > IDLE_LIMIT
        ):
            await clear_state(session, chat_id=chat.id, user_id=user.id, flows=[state.flow])
            context.known_state = (None,)
            message = update.effective_message
            if message is not None:
                await message.reply_text(IDLE_NOTES.get(state.flow, IDLE_NOTE))
            return  # the text goes on to the ordinary handlers
    context.known_state = (state,)
    if state is None or state.flow not in TEXT_STEPS:
        return
    await TEXT_STEPS[state.flow](update, context, state)
    raise ApplicationHandlerStop


async def route_location(update: Update, context: CabildoContext) -> None:
    """Hand a shared location to the flow the person is in, if it takes one."""
    state = await flow_state_any(update, context)
    if state is None or state.flow not in LOCATION_STEPS:
        return  # the location goes on to the ordinary handlers (nearby works)
    await LOCATION_STEPS[state.flow](update, context, state)
    raise ApplicationHandlerStop



async def leave_flow(update: Update, context: CabildoContext) -> None:
    """Forget a pending text flow when the person sends a command or opens the main menu."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None or not TEXT_STEPS:
        return
    if update.callback_query is None and message is not None and message.text:
        command = message.text.split()[0].lstrip("/").split("@")[0].lower()
        if command in KEEPS_FLOW:
            return
    async with context.db.session() as session:
        # Read first: most people have no pending flow, and a read takes no write lock.
        state = await get_state(session, chat_id=chat.id, user_id=user.id)
        if state is not None and (state.flow in TEXT_STEPS or state.flow == TOPIC_FLOW):
            await forget_state(session, chat_id=chat.id, user_id=user.id, flow=state.flow)


# Its own group, before the access guard, so every command (staff ones included) and
# every main-menu tap ends a pending step before anything else handles it.
LEAVE_GROUP = -2
LEAVE_HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, leave_flow),
    CallbackQueryHandler(leave_flow, pattern=r"^menu:"),
]
HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, route_text),
    MessageHandler(filters.LOCATION & filters.ChatType.PRIVATE, route_location),
]
