"""`/evento`: the upcoming events to change, and one event's menu."""

from __future__ import annotations

from html import escape

from telegram import Update

from bot.context import CabildoContext
from bot.formatting import clip
from handlers.callbacks import (
    CallbackData,
    StaffAttendance,
    StaffAttendanceCsv,
    StaffEventCallOff,
    StaffEventField,
    StaffEventMenu,
    StaffEventNew,
    StaffEventPostpone,
)
from handlers.event_admin.common import CLOSE_ROW, at, kb, places_text
from handlers.event_card import short_when
from handlers.screens import show
from storage.attendance import attendees
from storage.events import (
    CONFIRMED,
    POSTPONED,
    WAITING,
    ends_at,
    event_by_id,
    is_called_off,
    upcoming,
)
from storage.models import Event
from storage.types import utcnow

INDEX = "📅 <b>Eventos</b>\nCree uno nuevo o elija uno para cambiarlo:"
EDIT_MENU = (
    "✏️ <b>#{id} · {title}</b>\n{state}🕒 {when}\n📍 {place}\nCupos: {places}\n"
    "👥 Inscritos: {confirmed} con cupo · {waiting} en espera · {present} asistieron\n\n"
    "¿Qué quiere hacer?"
)
STATE_CANCELLED = "🚫 <b>Cancelado: {reason}</b>\n"
STATE_POSTPONED = "⏸️ Aplazado: del {before} al {after}\n"
NOT_FOUND = "No existe el evento #{id}. Escriba /evento para ver la lista con los números."


async def start_events(update: Update, context: CabildoContext) -> None:
    """List upcoming events to change, with a button for a new one (`/evento [id]`)."""
    message = update.effective_message
    if message is None:
        return
    args = context.args or []
    number = args[0].lstrip("#") if args else ""
    if number.isdigit() and len(number) <= 9:
        await event_menu(update, context, int(number))
        return
    async with context.db.session() as session:
        events = await upcoming(session, now=utcnow())
    rows: list[list[tuple[str, CallbackData]]] = [[("➕ Nuevo evento", StaffEventNew())]]
    rows += [[(_label(e, context), StaffEventMenu(e.id or 0))] for e in events[:20]]
    await message.reply_text(INDEX, reply_markup=kb(rows))


def _label(event: Event, context: CabildoContext) -> str:
    """Return a list button's text: `#12 · mié 13 ene · 6:00 p. m. · Taller de cocreación…`."""
    mark = "🚫 " if is_called_off(event) else ""
    return f"{mark}#{event.id} · {short_when(event.inicio, context)} · {clip(event.titulo, 45)}"


async def event_menu(update: Update, context: CabildoContext, event_id: int) -> None:
    """Show an event's registrants and what staff may change or do with it."""
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
        people = await attendees(session, event_id=event_id) if event else []
    if event is None:
        await show(update, NOT_FOUND.format(id=event_id))
        return
    if is_called_off(event):
        state = STATE_CANCELLED.format(reason=escape(event.motivo or ""))
    elif event.inicio_anterior is not None and event.estado == POSTPONED:
        state = STATE_POSTPONED.format(
            before=at(event.inicio_anterior, context), after=at(event.inicio, context)
        )
    else:
        state = ""
    text = EDIT_MENU.format(
        id=event.id,
        title=escape(event.titulo),
        state=state,
        place=escape(event.lugar),
        when=at(event.inicio, context),
        places=places_text(event.capacidad),
        confirmed=sum(1 for a in people if a.status == CONFIRMED),
        waiting=sum(1 for a in people if a.status == WAITING),
        present=sum(1 for a in people if a.present),
    )
    rows: list[list[tuple[str, CallbackData]]] = [[
        ("📋 Asistencia", StaffAttendance(event_id, 0)),
        ("📥 Planilla", StaffAttendanceCsv(event_id)),
    ]]
    if not is_called_off(event) and ends_at(event) > utcnow():
        rows = [
            [("🕒 Fecha y hora", StaffEventField(event_id, "inicio")),
             ("📍 Lugar", StaffEventField(event_id, "lugar"))],
            [("👥 Cupos", StaffEventField(event_id, "capacidad")),
             ("✏️ Título", StaffEventField(event_id, "titulo"))],
            *rows,
            [("⏸️ Aplazar", StaffEventPostpone(event_id)),
             ("🚫 Cancelar evento", StaffEventCallOff(event_id))],
        ]
    await show(update, text, kb([*rows, CLOSE_ROW]))
