"""`/agenda`: upcoming events, filters, RSVP with a waiting list, calendar files, location pins.

Buttons (`handlers.callbacks`, `ev:`): `AgendaList` a page of events (all, a comuna's, a
kind's, or those matching the words typed after `/agenda`, accents and case aside) ·
`AgendaFilters` the filters · `EventCard` an event's card (`handlers.event_card`) ·
`EventAttend` attend · `EventWaitlist` join the waiting list · `EventLeave` cancel
attendance · `EventCalendar` the .ics file.
"""

from __future__ import annotations

import re
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.calendar import event_ics
from bot.config import Settings
from bot.context import CabildoContext
from bot.formatting import local_datetime, plural
from handlers.callbacks import (
    AgendaFilters,
    AgendaList,
    EventAttend,
    EventCalendar,
    EventCard,
    EventLeave,
    EventWaitlist,
    button,
    on_press,
    on_stale,
)
from handlers.event_card import (
    event_card,
    event_label,
    event_link,
    is_corregimiento,
    place_name,
)
from handlers.paging import page_row, paginate
from handlers.privacy import ensure_consent
from handlers.screens import show
from storage import outbox
from storage.db import Database
from storage.events import (
    CONFIRMED,
    WAITING,
    cancel,
    is_called_off,
    kinds_and_comunas,
    register,
    registration_of,
    shown_event,
    statuses_of,
    upcoming,
    waiting_position,
)
from storage.models import Comuna, Event
from storage.text import fold
from storage.types import utcnow
from storage.works import find_comuna, names_a_comuna

PER_PAGE = 6
LISTING = (
    "📅 <b>Próximos eventos</b>{scope}\n{page}\nToque un evento para ver detalles e inscribirse."
)
MINE_LEGEND = "\n✅ tiene su cupo · ⏳ está en la lista de espera"
MARKS = {CONFIRMED: "✅ ", WAITING: "⏳ "}
MINE_ELSEWHERE = "\n📌 En otras páginas de esta lista hay {count} (con cupo o en espera)."
EMPTY = "📅 No hay eventos próximos{scope}."
NO_SUCH_COMUNA = "No encontré «{text}» entre las comunas y corregimientos."
MAX_WORDS = 40  # characters of `/agenda <palabras>` kept in the list's button data
FILTERS = "🔎 <b>Filtrar la agenda</b>\nElija una comuna o un tipo de evento:"
GONE = "Ese evento ya no está disponible."
RSVP_ACTION = "inscribirse a eventos"
CONFIRMED_TEXT = "✅ Listo, tiene su cupo. Le recordaré el evento un día antes y una hora antes."
ALREADY = "Ya tiene su cupo en este evento."
FULL = (
    "😕 El evento está lleno ({capacity}). ¿Quiere entrar a la lista de espera? "
    "Si alguien cancela, le doy el cupo en orden de llegada y le aviso."
)
WAITING_TEXT = "⏳ Quedó en la lista de espera, puesto {position}. Le aviso si se libera un cupo."
ALREADY_WAITING = "Ya está en la lista de espera, puesto {position}."
PAST = "Ese evento ya pasó."
CANCELLED_TEXT = "Listo, cancelé su inscripción."
LEFT_WAITLIST = "Listo, salió de la lista de espera."
NOT_REGISTERED = "No tenía inscripción en este evento."
PROMOTED = (
    "🎉 Se liberó un cupo y ya es suyo: <b>{title}</b>.\n{when}\n📍 {place}\n"
    "Si no puede ir, cancele desde /agenda para dejarle el cupo a otra persona."
)
ICS_CAPTION = "📆 Abra este archivo para agregar «{title}» a su calendario."
CALLED_OFF_ANSWER = "Este evento fue cancelado."
ICS_CANCELLED = (
    "📆 «{title}» se canceló: abra este archivo para quitarlo de su calendario, si lo había "
    "agregado."
)



async def show_agenda(update: Update, context: CabildoContext) -> None:
    """List upcoming events (`/agenda`, `/agenda 4`, `/agenda taller`, or the menu button)."""
    if update.callback_query:
        await update.callback_query.answer()
    text = " ".join(context.args or []) if update.callback_query is None else ""
    scope = "t"
    if text:
        async with context.db.session() as session:
            comuna = await find_comuna(session, text)
        if comuna is None and names_a_comuna(text) and update.effective_message is not None:
            await update.effective_message.reply_text(
                NO_SUCH_COMUNA.format(text=escape(text[:40])),
                reply_markup=InlineKeyboardMarkup([[
                    button("🔎 Filtrar", AgendaFilters()),
                    button("📅 Toda la agenda", "menu:agenda"),
                ]]),
            )
            return
        # Only letters and digits go into the button data (a `:` would split it).
        words = " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())
        scope = f"c{comuna.codigo}" if comuna else f"q{words[:MAX_WORDS].strip()}"
    await _show_list(update, context, scope, 0)


async def _show_list(update: Update, context: CabildoContext, scope: str, page_no: int) -> None:
    comuna: Comuna | None = None
    kind: str | None = None
    words: str | None = None
    async with context.db.session() as session:
        if scope.startswith("c"):
            comuna = await find_comuna(session, scope[1:])
            if comuna is None:
                raise LookupError(scope)
        elif scope.startswith("k"):
            kind = scope[1:]
        elif scope.startswith("q"):
            words = scope[1:]
        events = await upcoming(
            session, now=utcnow(), comuna_id=comuna.id if comuna else None, tipo=kind,
            words=words,
        )
        chat = update.effective_chat
        # A cancelled event is marked as such, never as the person's place.
        mine = await statuses_of(
            session, chat_id=chat.id if chat else 0,
            event_ids=[e.id for e in events if e.id and not is_called_off(e)],
        )
    if comuna and is_corregimiento(comuna):
        label = f" en el {escape(place_name(comuna))}"
    elif comuna:
        label = f" en la comuna {escape(comuna.codigo)} · {escape(comuna.nombre)}"
    elif kind:
        label = f" de tipo «{escape(kind)}»"
    elif words:
        label = f" con «{escape(words)}»"
    else:
        label = ""
    filters_row = [button("🔎 Filtrar", AgendaFilters()), button("🏠 Menú", "menu:inicio")]
    if scope != "t":
        filters_row.insert(1, button("📅 Todos", AgendaList("t", 0)))
    if not events:
        await show(update, EMPTY.format(scope=label), InlineKeyboardMarkup([filters_row]))
        return
    page = paginate(events, page_no, PER_PAGE)
    rows = [
        [button(event_label(e, context, MARKS.get(mine.get(e.id or 0, ""), "")),
                EventCard(e.id or 0))]
        for e in page.items
    ]
    nav = page_row(page, lambda number: AgendaList(scope, number))
    legend = MINE_LEGEND if any(e.id in mine for e in page.items) else ""
    elsewhere = sum(1 for e in events if e.id in mine and e not in page.items)
    if elsewhere:
        legend += MINE_ELSEWHERE.format(
            count=plural(elsewhere, "evento suyo", "eventos suyos"))
    await show(
        update,
        LISTING.format(scope=label, page=page.label) + legend,
        InlineKeyboardMarkup([*rows, *([nav] if nav else []), filters_row]),
    )


async def _show_filters(update: Update, context: CabildoContext) -> None:
    async with context.db.session() as session:
        kinds, comunas = await kinds_and_comunas(session, now=utcnow())
    rows: list[list[InlineKeyboardButton]] = []
    kind_buttons = []
    for kind, count in kinds:
        try:
            kind_buttons.append(
                button(f"{kind.capitalize()} ({count})", AgendaList(f"k{kind}", 0))
            )
        except ValueError:  # a kind too long for callback data: reachable with /agenda <tipo>
            continue
    comuna_buttons = [
        button(f"{place_name(c, short=True)} ({count})", AgendaList(f"c{c.codigo}", 0))
        for c, count in comunas
    ]
    for buttons in (kind_buttons, comuna_buttons):
        rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [button("📅 Todos", AgendaList("t", 0)), button("🏠 Menú", "menu:inicio")]
    )
    await show(update, FILTERS, InlineKeyboardMarkup(rows))


async def _load(context: CabildoContext, event_id: int) -> Event:
    async with context.db.session() as session:
        event = await shown_event(session, event_id)
    if event is None:
        raise LookupError(event_id)
    return event


async def _show_event(update: Update, context: CabildoContext, event_id: int, *, pin: bool) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    event = await _load(context, event_id)
    text, markup = await event_card(context, event, chat.id)
    changed = await show(update, text, markup)
    if pin and changed and event.latitud is not None and event.longitud is not None:
        await context.bot.send_venue(
            chat.id,
            latitude=event.latitud,
            longitude=event.longitud,
            title=event.lugar[:100],
            address=(event.direccion or event.titulo)[:100],
        )


async def _refresh(update: Update, context: CabildoContext, event: Event) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    text, markup = await event_card(context, event, chat.id)
    await show(update, text, markup)


async def _attend(
    update: Update, context: CabildoContext, event_id: int, *, waitlist: bool
) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    event = await _load(context, event_id)
    if not await ensure_consent(update, context, RSVP_ACTION):
        await query.answer()
        return
    async with context.db.session() as session:
        outcome = await register(
            session, event=event, chat_id=chat.id, waitlist=waitlist, now=utcnow()
        )
        position = 0  # only the waiting list's answers say it
        if outcome in ("espera", "ya_en_espera"):
            mine = await registration_of(session, event_id=event_id, chat_id=chat.id)
            if mine is not None and mine.status == WAITING:
                position = await waiting_position(session, registration=mine)
    if outcome == "lleno":
        await query.answer()
        if update.effective_message:
            await update.effective_message.reply_text(
                FULL.format(capacity=plural(event.capacidad or 0, "cupo", "cupos")),
                reply_markup=InlineKeyboardMarkup(
                    [
                        [
                            button("⏳ Entrar a la lista de espera", EventWaitlist(event_id)),
                            button("No, gracias", EventCard(event_id)),
                        ]
                    ]
                ),
            )
        return
    answers = {
        "confirmado": CONFIRMED_TEXT,
        "ya_inscrito": ALREADY,
        "pasado": PAST,
        "espera": WAITING_TEXT.format(position=position),
        "ya_en_espera": ALREADY_WAITING.format(position=position),
        "cancelado": CALLED_OFF_ANSWER,
    }
    await query.answer(answers[outcome], show_alert=outcome in ("confirmado", "espera"))
    await _refresh(update, context, event)


async def _cancel(update: Update, context: CabildoContext, event_id: int) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    event = await _load(context, event_id)
    async with context.db.session() as session:
        result = await cancel(session, event=event, chat_id=chat.id)
    if result.promoted is not None:
        await notify_promoted(context.db, context.settings, event, [result.promoted])
    answer = {CONFIRMED: CANCELLED_TEXT, WAITING: LEFT_WAITLIST}.get(
        result.was or "", NOT_REGISTERED
    )
    await query.answer(answer)
    await _refresh(update, context, event)


async def notify_promoted(
    db: Database, settings: Settings, event: Event, chat_ids: list[int]
) -> int:
    """Queue the 'you got a place' message for people moved up from the waiting list."""
    text = PROMOTED.format(
        title=escape(event.titulo),
        when=local_datetime(event.inicio, settings.tz, settings.locale),
        place=escape(event.lugar),
    )
    async with db.session() as session:
        return await outbox.enqueue(
            session, chat_ids=chat_ids, payload={"text": text}, kind="cupo",
            dedupe=f"cupo:{event.id}:{utcnow().isoformat()}",
        )


async def _send_ics(update: Update, context: CabildoContext, event_id: int) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    event = await _load(context, event_id)
    await query.answer()
    data = event_ics(
        event,
        tz=context.settings.tz,
        link=event_link(context, event),
        municipality=context.settings.municipality_name,
    )
    await context.bot.send_document(
        chat.id,
        InputFile(data, filename=f"evento-{event.id}.ics"),
        caption=(ICS_CANCELLED if is_called_off(event) else ICS_CAPTION).format(
            title=escape(event.titulo[:200])
        ),
    )


async def gone(update: Update, context: CabildoContext) -> None:
    """Say an agenda button's event, comuna or page no longer exists."""
    await show(update, GONE, InlineKeyboardMarkup([[button("📅 Agenda", AgendaList("t", 0))]]))


async def gone_notice(update: Update, context: CabildoContext) -> None:
    """Say, as a short notice, that the event to attend, leave or add is gone."""
    if update.callback_query is not None:
        await update.callback_query.answer(GONE)


async def open_event(update: Update, context: CabildoContext, key: str) -> bool:
    """Open an event's card (deep link `/start evento_<id>`); False if unknown."""
    if not key.isdigit():
        return False
    async with context.db.session() as session:
        event = await shown_event(session, int(key))
    if event is None:
        return False
    await _show_event(update, context, int(key), pin=True)
    return True


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(show_agenda, pattern=r"^menu:agenda$"),
    on_press(AgendaList, lambda u, c, a: _show_list(u, c, a.scope, a.page), gone=gone),
    on_press(AgendaFilters, lambda u, c, _: _show_filters(u, c), gone=gone),
    on_press(EventCard, lambda u, c, a: _show_event(u, c, a.event, pin=True), gone=gone),
    # Attending, leaving and the calendar file answer the tap themselves: with what
    # changed, or that the event is gone.
    on_press(EventAttend, lambda u, c, a: _attend(u, c, a.event, waitlist=False),
             answer=False, gone=gone_notice),
    on_press(EventWaitlist, lambda u, c, a: _attend(u, c, a.event, waitlist=True),
             answer=False, gone=gone_notice),
    on_press(EventLeave, lambda u, c, a: _cancel(u, c, a.event), answer=False,
             gone=gone_notice),
    on_press(EventCalendar, lambda u, c, a: _send_ics(u, c, a.event), answer=False,
             gone=gone_notice),
    on_stale("ev", gone),
]
