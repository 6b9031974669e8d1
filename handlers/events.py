"""`/agenda`: upcoming events, filters, RSVP with a waiting list, calendar files, location pins.

Callback data (`ev:`): `ev:l:<filtro>:<page>` a list (`t` all, `c<código>` a comuna, `k<tipo>`
a kind, `q<palabras>` the events whose kind or title holds the words typed after `/agenda`,
accents and case aside) · `ev:f` the filters · `ev:e:<id>` an event's card · `ev:r:<id>` attend ·
`ev:w:<id>` join the waiting list · `ev:x:<id>` cancel attendance · `ev:i:<id>` the .ics file.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from textwrap import shorten
from urllib.parse import quote

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.calendar import event_ics
from bot.config import Settings
from bot.context import CabildoContext
from bot.formatting import local_datetime, plural
from handlers.paging import callback, nav_row, paginate
from handlers.privacy import ensure_consent
from handlers.screens import show
from storage import outbox
from storage.db import Database
from storage.events import (
    CONFIRMED,
    WAITING,
    cancel,
    ends_at,
    event_by_id,
    kinds_and_comunas,
    places,
    register,
    registration_of,
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


ASK_HEARING = "❓ Enviar pregunta para la audiencia"


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def short_when(value: datetime, context: CabildoContext) -> str:
    """Say a start time briefly: `mié 13 ene · 6:00 p. m.`."""
    local = value.astimezone(context.settings.tz)
    text = format_datetime(local, "EEE d MMM · h:mm a", locale=context.settings.locale)
    return text.replace(".", "", 2) if text.count(".") > 2 else text


def event_label(event: Event, context: CabildoContext, mark: str = "") -> str:
    """Return a list button's text: `mié 13 ene · 6:00 p. m. · Taller de cocreación…`."""
    title = shorten(event.titulo, width=55, placeholder="…")
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
                    InlineKeyboardButton("🔎 Filtrar", callback_data="ev:f"),
                    InlineKeyboardButton("📅 Toda la agenda", callback_data="menu:agenda"),
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
        mine = await statuses_of(
            session, chat_id=chat.id if chat else 0, event_ids=[e.id for e in events if e.id]
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
    filters_row = [_button("🔎 Filtrar", "ev:f"), _button("🏠 Menú", "menu:inicio")]
    if scope != "t":
        filters_row.insert(1, _button("📅 Todos", callback("ev", "l", "t", 0)))
    if not events:
        await show(update, EMPTY.format(scope=label), InlineKeyboardMarkup([filters_row]))
        return
    page = paginate(events, page_no, PER_PAGE)
    rows = [
        [_button(event_label(e, context, MARKS.get(mine.get(e.id or 0, ""), "")),
                 callback("ev", "e", e.id))]
        for e in page.items
    ]
    nav = nav_row(page, "ev", "l", scope)  # type: ignore[arg-type]
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
                _button(f"{kind.capitalize()} ({count})", callback("ev", "l", f"k{kind}", 0))
            )
        except ValueError:  # a kind too long for callback data: reachable with /agenda <tipo>
            continue
    comuna_buttons = [
        _button(f"{place_name(c, short=True)} ({count})", callback("ev", "l", f"c{c.codigo}", 0))
        for c, count in comunas
    ]
    for buttons in (kind_buttons, comuna_buttons):
        rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [_button("📅 Todos", callback("ev", "l", "t", 0)), _button("🏠 Menú", "menu:inicio")]
    )
    await show(update, FILTERS, InlineKeyboardMarkup(rows))


async def event_card(
    context: CabildoContext, event: Event, chat_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Write an event's card and its buttons for this person."""
    settings = context.settings
    async with context.db.session() as session:
        comuna = await session.get(Comuna, event.comuna_id) if event.comuna_id else None
        current = await places(session, event=event)
        mine = await registration_of(session, event_id=event.id or 0, chat_id=chat_id)
        position = (
            await waiting_position(session, registration=mine)
            if mine is not None and mine.status == WAITING
            else 0
        )
    lines = [
        f"📅 <b>{escape(event.titulo)}</b>",
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
    if current.capacity is None:
        lines.append(f"Inscripciones: {current.confirmed} (sin límite de cupos)")
    elif current.full:
        lines.append(f"Cupos: lleno ({current.capacity}); {current.waiting} en lista de espera")
    else:
        verb = "queda" if current.free == 1 else "quedan"
        lines.append(f"Cupos: {verb} {current.free} de {current.capacity}")
    if mine is not None and mine.status == CONFIRMED:
        lines.append("<b>✅ Usted tiene su cupo.</b>")
    elif position:
        lines.append(f"<b>⏳ Usted está en la lista de espera, puesto {position}.</b>")
    if event.descripcion:
        text = event.descripcion if len(event.descripcion) <= 700 else event.descripcion[:699] + "…"
        lines.append(f"\n{escape(text)}")
    over = ends_at(event) <= utcnow()
    rows = []
    if over:
        lines.append("\nEste evento ya terminó.")
    elif mine is not None and mine.status in (CONFIRMED, WAITING):
        label = (
            "❌ Cancelar asistencia"
            if mine.status == CONFIRMED
            else "❌ Salir de la lista de espera"
        )
        rows.append([_button(label, callback("ev", "x", event.id))])
    else:
        rows.append([_button("✅ Asistiré", callback("ev", "r", event.id))])
    if not over and "audiencia" in event.tipo.lower():
        # The hearing answers citizens' questions: ask one on its topic (handlers.questions).
        rows.append([_button(ASK_HEARING, "preg:t:audiencia")])
    link = event_link(context, event)
    share = InlineKeyboardButton(
        "📤 Compartir",
        url=f"https://t.me/share/url?url={quote(link)}&text={quote(event.titulo[:120])}",
    )
    rows.append([_button("📆 Agregar al calendario", callback("ev", "i", event.id)), share])
    rows.append(
        [_button("⬅️ Agenda", callback("ev", "l", "t", 0)), _button("🏠 Menú", "menu:inicio")]
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def _load(context: CabildoContext, event_id: int) -> Event:
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
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
        mine = await registration_of(session, event_id=event_id, chat_id=chat.id)
        position = (
            await waiting_position(session, registration=mine)
            if mine is not None and mine.status == WAITING
            else 0
        )
    if outcome == "lleno":
        await query.answer()
        if update.effective_message:
            await update.effective_message.reply_text(
                FULL.format(capacity=plural(event.capacidad or 0, "cupo", "cupos")),
                reply_markup=InlineKeyboardMarkup(
                    [
                        [
                            _button(
                                "⏳ Entrar a la lista de espera", callback("ev", "w", event_id)
                            ),
                            _button("No, gracias", callback("ev", "e", event_id)),
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
        caption=ICS_CAPTION.format(title=escape(event.titulo[:200])),
    )


async def on_button(update: Update, context: CabildoContext) -> None:
    """Handle the agenda buttons: lists, filters, a card, attend, wait, cancel, calendar."""
    query = update.callback_query
    if query is None:
        return
    parts = (query.data or "").split(":")[1:]
    acts = ("r", "w", "x", "i")
    if parts[:1] not in [[a] for a in acts]:
        await query.answer()
    try:
        if len(parts) == 3 and parts[0] == "l":
            await _show_list(update, context, parts[1], int(parts[2]))
        elif parts == ["f"]:
            await _show_filters(update, context)
        elif len(parts) == 2 and parts[0] == "e":
            await _show_event(update, context, int(parts[1]), pin=True)
        elif len(parts) == 2 and parts[0] in ("r", "w"):
            await _attend(update, context, int(parts[1]), waitlist=parts[0] == "w")
        elif len(parts) == 2 and parts[0] == "x":
            await _cancel(update, context, int(parts[1]))
        elif len(parts) == 2 and parts[0] == "i":
            await _send_ics(update, context, int(parts[1]))
        else:
            raise LookupError(parts)
    except (LookupError, ValueError):
        if parts[:1] in [[a] for a in acts]:
            await query.answer(GONE)
        else:
            await show(update, GONE, InlineKeyboardMarkup([[_button("📅 Agenda", "ev:l:t:0")]]))


async def open_event(update: Update, context: CabildoContext, key: str) -> bool:
    """Open an event's card (deep link `/start evento_<id>`); False if unknown."""
    if not key.isdigit():
        return False
    async with context.db.session() as session:
        event = await event_by_id(session, int(key))
    if event is None:
        return False
    await _show_event(update, context, int(key), pin=True)
    return True


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("agenda", show_agenda),
    CallbackQueryHandler(show_agenda, pattern=r"^menu:agenda$"),
    CallbackQueryHandler(on_button, pattern=r"^ev:"),
]
