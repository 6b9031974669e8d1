"""What the parts of `/evento` share: the flow's name, limits, texts, rows and small steps."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import CabildoContext
from bot.formatting import local_datetime, plural
from handlers.callbacks import CallbackData, StaffEventClose, StaffEventSkip, button
from handlers.flows import flow_state
from storage.conversations import FlowState, clear_state, set_state
from storage.importers.errors import CellError
from storage.importers.values import parse_local_datetime

FLOW = "evento"
MAX_TITLE, MAX_PLACE, MAX_DESCRIPTION, MAX_LINK, MAX_REASON = 200, 200, 1000, 500, 300
ASK_START = "Escriba la fecha y hora de inicio (hora de {city}), así: <code>{example}</code>"
BAD_START = "No entendí la fecha. Escríbala así: <code>{example}</code> (en el futuro)."
PAST_DATE = (
    "Esa fecha ya pasó ({when}). Escriba una fecha y hora en el futuro, así: "
    "<code>{example}</code>"
)
ASK_PLACES = "¿Cuántos cupos hay? Escriba un número, o 0 si no hay límite."
BAD_PLACES = "Escriba un número entero entre 0 y 100000."
CANCELLED = "Listo, no se guardó nada."
EXPIRED = "Esto ya no está en curso. Empiece de nuevo con /evento."
GONE = "Ese evento ya no existe."


def kb(rows: Sequence[Sequence[tuple[str, CallbackData]]]) -> InlineKeyboardMarkup:
    """Return an inline keyboard of (text, action) rows."""
    return InlineKeyboardMarkup([[button(text, action) for text, action in row] for row in rows])


CANCEL_ROW: list[tuple[str, CallbackData]] = [("❌ Cancelar", StaffEventClose())]
# The menu of an existing event closes without changing it: «Cancelar» there would read as
# cancelling the event itself.
CLOSE_ROW: list[tuple[str, CallbackData]] = [("✖️ Cerrar", StaffEventClose())]
BACK_ROW: list[tuple[str, CallbackData]] = [("↩️ No, volver", StaffEventClose())]
SKIP_ROW: list[tuple[str, CallbackData]] = [("⏭️ Omitir", StaffEventSkip())]


def date_example(context: CabildoContext) -> str:
    """Return a date and time a week from now, as staff should type one."""
    return (datetime.now(context.settings.tz) + timedelta(days=7)).strftime("%Y-%m-%d 18:00")


def places_text(value: int | None) -> str:
    """Say an event's places: a number, or «sin límite»."""
    return "sin límite" if value is None else str(value)


def people_text(count: int) -> str:
    """Say how many people: «1 persona», «3 personas»."""
    return plural(count, "persona", "personas")


def at(value: datetime, context: CabildoContext) -> str:
    """Say a date and time in the municipality's time and language."""
    return local_datetime(value, context.settings.tz, context.settings.locale)


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show `text` on the tapped message, if this update is a tap."""
    query = update.callback_query
    if query is not None:
        with contextlib.suppress(BadRequest):  # a double tap: the screen is already right
            await query.edit_message_text(text, reply_markup=markup)


async def say(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer on the tapped message (edited) or, after typed text, with a new message."""
    if update.callback_query is not None:
        await edit(update, text, markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


async def save_step(
    update: Update, context: CabildoContext, step: str, data: dict[str, Any]
) -> None:
    """Keep the wizard at `step` with `data`."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.db.session() as session:
        await set_state(
            session, chat_id=chat.id, user_id=user.id, state=FlowState(FLOW, step, data)
        )


async def clear_step(update: Update, context: CabildoContext) -> bool:
    """Forget the wizard; False when it was already gone (a double tap got there first)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.db.session() as session:
        return await clear_state(session, chat_id=chat.id, user_id=user.id, flows=[FLOW])


def bad_date(when: datetime | None, context: CabildoContext) -> str:
    """Say why a typed date was refused: not understood, or already past."""
    example = date_example(context)
    if when is None:
        return BAD_START.format(example=example)
    return PAST_DATE.format(when=at(when, context), example=example)


def parse_when(text: str, context: CabildoContext) -> datetime | None:
    """Read a typed local date and time; None when it is not one."""
    try:
        when = parse_local_datetime(text.strip(), context.settings.tz)
    except CellError:
        return None
    return when


async def step_data(
    update: Update, context: CabildoContext, *steps: str
) -> dict[str, Any] | None:
    """Return the wizard's data when it waits at one of `steps`; otherwise say it lapsed."""
    state = await flow_state(update, context, FLOW)
    if state is None or state.step not in steps:
        await edit(update, EXPIRED)
        return None
    return dict(state.data)
