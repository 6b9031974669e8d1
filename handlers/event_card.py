"""An event as citizens see it: its card with their place, and its name in lists.

The agenda (`handlers.events`), the answers to free text, reminders and the staff's tools
all show events the same way through these functions.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from textwrap import shorten
from urllib.parse import quote

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import CabildoContext
from bot.formatting import local_datetime
from handlers.callbacks import (
    AgendaList,
    EventAttend,
    EventCalendar,
    EventLeave,
    QuestionTopic,
    SupportRanking,
    button,
)
from storage.comunas import comuna_by_id
from storage.events import CONFIRMED, POSTPONED, WAITING, Places, ends_at, is_called_off, seat
from storage.models import Comuna, Event, Registration
from storage.text import fold
from storage.types import utcnow

CALLED_OFF_LINE = "🚫 <b>Cancelado: {reason}</b>"
POSTPONED_LINE = "⏸️ <b>Aplazado: del {before} al {after}</b>"
REASON_LINE = "Motivo: {reason}"
TICKET = "🎟️ Su número de inscripción: <b>{number}</b>. Dígalo al llegar."

ASK_HEARING = "❓ Enviar pregunta para la audiencia"
TOP_QUESTIONS = "📋 Preguntas más apoyadas"


def short_when(value: datetime, context: CabildoContext) -> str:
    """Say a start time briefly: `mié 13 ene · 6:00 p. m.`."""
    local = value.astimezone(context.settings.tz)
    text = format_datetime(local, "EEE d MMM · h:mm a", locale=context.settings.locale)
    return text.replace(".", "", 2) if text.count(".") > 2 else text


def event_label(event: Event, context: CabildoContext, mark: str = "") -> str:
    """Return a list button's text: `mié 13 ene · 6:00 p. m. · Taller de cocreación…`."""
    title = shorten(event.titulo, width=55, placeholder="…")
    if is_called_off(event):
        mark = f"{mark}🚫 Cancelado · "
    return f"{mark}{short_when(event.inicio, context)} · {title}"


def event_link(context: CabildoContext, event: Event) -> str:
    """Return the deep link that opens this event in the bot."""
    return f"https://t.me/{context.bot.username}?start=evento_{event.id}"


def is_corregimiento(comuna: Comuna) -> bool:
    """Tell whether a comuna row is a rural corregimiento."""
    return comuna.tipo == "corregimiento" or comuna.codigo.upper().startswith("C")


def place_name(comuna: Comuna, *, short: bool = False) -> str:
    """Name a comuna or corregimiento for people (plain text): `Comuna 4 · Occidental`.

    A corregimiento is named as such (`Corregimiento 2`), never «comuna C2»; `short` names
    them as the rest of the bot's buttons do (`4 · Occidental`, `Corregimiento 2`).
    """
    if is_corregimiento(comuna):
        number = comuna.codigo.upper().removeprefix("C")
        kind = f"Corregimiento {number}"
        if short or fold(comuna.nombre) in (fold(kind), fold(comuna.codigo)):
            return kind
        return f"{kind} · {comuna.nombre}"
    return f"{'' if short else 'Comuna '}{comuna.codigo} · {comuna.nombre}"


def _places_lines(current: Places, mine: Registration | None, position: int) -> list[str]:
    """Say how the places stand, and the person's own place or spot in the waiting list."""
    if current.capacity is None:
        lines = [f"Inscripciones: {current.confirmed} (sin límite de cupos)"]
    elif current.full:
        lines = [f"Cupos: lleno ({current.capacity}); {current.waiting} en lista de espera"]
    else:
        verb = "queda" if current.free == 1 else "quedan"
        lines = [f"Cupos: {verb} {current.free} de {current.capacity}"]
    if mine is not None and mine.status == CONFIRMED:
        lines += ["<b>✅ Usted tiene su cupo.</b>", TICKET.format(number=mine.id)]
    elif position:
        lines.append(f"<b>⏳ Usted está en la lista de espera, puesto {position}.</b>")
    return lines


async def event_card(
    context: CabildoContext, event: Event, chat_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Write an event's card and its buttons for this person."""
    assert event.id is not None  # events shown come from the database
    settings = context.settings
    async with context.db.session() as session:
        comuna = await comuna_by_id(session, event.comuna_id)
        standing = await seat(session, event=event, chat_id=chat_id)
    current, mine, position = standing.places, standing.mine, standing.position
    lines = [f"📅 <b>{escape(event.titulo)}</b>"]
    called_off = is_called_off(event)
    if called_off:
        lines.append(CALLED_OFF_LINE.format(reason=escape(event.motivo or "")))
    elif event.estado == POSTPONED and event.inicio_anterior is not None:
        lines.append(POSTPONED_LINE.format(
            before=local_datetime(event.inicio_anterior, settings.tz, settings.locale),
            after=local_datetime(event.inicio, settings.tz, settings.locale),
        ))
        if event.motivo:
            lines.append(REASON_LINE.format(reason=escape(event.motivo)))
    lines += [
        f"Tipo: {escape(event.tipo)}",
        f"🕒 {local_datetime(event.inicio, settings.tz, settings.locale)}",
    ]
    if event.fin:
        end = event.fin.astimezone(settings.tz)
        lines[-1] += f" (hasta {format_datetime(end, 'h:mm a', locale=settings.locale)})"
    place = ", ".join(filter(None, [event.lugar, event.direccion]))
    lines.append(f"📍 {escape(place)}")
    if comuna:
        lines.append(escape(place_name(comuna)))
    if event.enlace:
        lines.append(f'🔗 <a href="{escape(event.enlace)}">Enlace para verlo en línea</a>')
    if not called_off:  # a cancelled event has no places to speak of
        lines += _places_lines(current, mine, position)
    if event.descripcion:
        text = event.descripcion if len(event.descripcion) <= 700 else event.descripcion[:699] + "…"
        lines.append(f"\n{escape(text)}")
    over = ends_at(event) <= utcnow()
    rows = []
    if called_off:
        pass  # nothing to attend or cancel; the calendar file drops it from calendars
    elif over:
        lines.append("\nEste evento ya terminó.")
    elif mine is not None and mine.status in (CONFIRMED, WAITING):
        label = (
            "❌ Cancelar asistencia"
            if mine.status == CONFIRMED
            else "❌ Salir de la lista de espera"
        )
        rows.append([button(label, EventLeave(event.id))])
    else:
        rows.append([button("✅ Asistiré", EventAttend(event.id))])
    if not over and not called_off and "audiencia" in event.tipo.lower():
        # The hearing answers citizens' questions: ask one on its topic (handlers.questions).
        rows.append([button(ASK_HEARING, QuestionTopic("audiencia"))])
        rows.append([button(TOP_QUESTIONS, SupportRanking(0))])  # and support others' questions
    link = event_link(context, event)
    share = InlineKeyboardButton(
        "📤 Compartir",
        url=f"https://t.me/share/url?url={quote(link)}&text={quote(event.titulo[:120])}",
    )
    calendar = "📆 Quitar del calendario" if called_off else "📆 Agregar al calendario"
    rows.append([button(calendar, EventCalendar(event.id)), share])
    rows.append(
        [button("⬅️ Agenda", AgendaList("t", 0)), button("🏠 Menú", "menu:inicio")]
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)
