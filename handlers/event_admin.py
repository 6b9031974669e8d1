"""`/evento`: staff create an event or change one, in a short wizard kept in the database.

New event: title → date and time → place → places → kind → comuna → announce now or at a
time. Changing an event: date and time, place, places or title; the scheduler's sweep tells
people already told about a new date or place, and gives added places to the waiting list.
Buttons use `staff:ev:` data, which `handlers.access` lets through only for staff.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import CabildoContext
from bot.formatting import clip, local_datetime
from handlers.events import notify_promoted, short_when
from handlers.flows import IDLE_NOTES, TEXT_STEPS, flow_state
from handlers.screens import show
from storage.conversations import FlowState, clear_state, set_state
from storage.events import EventDraft, create_event, edit_event, event_by_id, upcoming
from storage.importers.errors import CellError
from storage.importers.values import parse_local_datetime
from storage.models import Event
from storage.types import utcnow
from storage.works import comunas_with_counts, find_comuna

FLOW = "evento"
MAX_TITLE, MAX_PLACE = 200, 200
KINDS = (
    "audiencia pública",
    "feria de servicios",
    "conversatorio",
    "taller de cocreación",
    "visita de obra",
    "tertulia urbana",
    "visita a comuna",
    "facebook live",
    "rueda de prensa",
    "presupuestos participativos",
)
INDEX = "📅 <b>Eventos</b>\nCree uno nuevo o elija uno para cambiarlo:"
ASK_TITLE = "➕ <b>Nuevo evento</b>\nEscriba el título (máximo {limit} caracteres)."
ASK_START = "Escriba la fecha y hora de inicio (hora de {city}), así: <code>{example}</code>"
BAD_START = "No entendí la fecha. Escríbala así: <code>{example}</code> (en el futuro)."
PAST_DATE = (
    "Esa fecha ya pasó ({when}). Escriba una fecha y hora en el futuro, así: "
    "<code>{example}</code>"
)
ASK_PLACE = "Escriba el lugar (por ejemplo: Salón comunal del barrio La Joya)."
ASK_PLACES = "¿Cuántos cupos hay? Escriba un número, o 0 si no hay límite."
BAD_PLACES = "Escriba un número entero entre 0 y 100000."
ASK_KIND = "Elija el tipo de evento:"
ASK_COMUNA = "¿En qué comuna es? (Quienes tienen alertas de esa comuna recibirán el anuncio.)"
PREVIEW = (
    "👀 <b>Revise el evento</b>\n{title}\nTipo: {kind}\n🕒 {when}\n📍 {place}\n{comuna}\n"
    "Cupos: {places}\n\n¿Cuándo lo anuncio?"
)
ASK_ANNOUNCE = "Escriba cuándo anunciarlo (hora de {city}), así: <code>{example}</code>"
BAD_ANNOUNCE = (
    "Escriba una fecha y hora antes del inicio del evento ({start}), así: "
    "<code>{example}</code>"
)
CREATED = "✅ Evento #{id} creado. {announce}\nYa aparece en /agenda."
ANNOUNCE_NOW = "Se anuncia en el próximo minuto."
ANNOUNCE_AT = "Se anuncia el {when}"  # `_sentence` adds the period unless «a. m.» has one
TOO_LONG = "Es muy largo ({length} caracteres); el máximo es {limit}."
EDIT_MENU = (
    "✏️ <b>#{id} · {title}</b>\n🕒 {when}\n📍 {place}\nCupos: {places}\n\n¿Qué quiere cambiar?"
)
ASK_FIELD = {
    "inicio": ASK_START,
    "lugar": "Escriba el nuevo lugar.",
    "capacidad": ASK_PLACES,
    "titulo": "Escriba el nuevo título (máximo {limit} caracteres).",
}
SAVED = "✅ Guardado. {more}"
SAVED_NOTICE = "Quienes recibieron el anuncio o se inscribieron reciben el cambio en un minuto."
SAVED_PROMOTED_ONE = "1 persona de la lista de espera obtuvo cupo y recibe aviso."
SAVED_PROMOTED = "{count} personas de la lista de espera obtuvieron cupo y reciben aviso."
CANCELLED = "Listo, no se guardó nada."
EXPIRED = "Esto ya no está en curso. Empiece de nuevo con /evento."
GONE = "Ese evento ya no existe."
NOT_FOUND = "No existe el evento #{id}. Escriba /evento para ver la lista con los números."


def _kb(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


CANCEL_ROW = [("❌ Cancelar", "staff:ev:cancelar")]
# The edit menu of an existing event closes without changing it: «Cancelar» there would read
# as cancelling the event itself.
CLOSE_ROW = [("✖️ Cerrar", "staff:ev:cancelar")]


def _example(context: CabildoContext) -> str:
    return (datetime.now(context.settings.tz) + timedelta(days=7)).strftime("%Y-%m-%d 18:00")


def _sentence(text: str) -> str:
    """End a sentence with one period, even after «a. m.»."""
    return text if text.endswith(".") else text + "."


def _places_text(value: int | None) -> str:
    return "sin límite" if value is None else str(value)


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    if query is not None:
        with contextlib.suppress(BadRequest):  # a double tap: the screen is already right
            await query.edit_message_text(text, reply_markup=markup)


async def _save(update: Update, context: CabildoContext, step: str, data: dict[str, Any]) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.db.session() as session:
        await set_state(
            session, chat_id=chat.id, user_id=user.id, state=FlowState(FLOW, step, data)
        )


async def _clear(update: Update, context: CabildoContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.db.session() as session:
        await clear_state(session, chat_id=chat.id, user_id=user.id)


async def start_events(update: Update, context: CabildoContext) -> None:
    """List upcoming events to change, with a button for a new one (`/evento [id]`)."""
    message = update.effective_message
    if message is None:
        return
    args = context.args or []
    number = args[0].lstrip("#") if args else ""
    if number.isdigit() and len(number) <= 9:
        await _edit_menu(update, context, int(number))
        return
    async with context.db.session() as session:
        events = await upcoming(session, now=utcnow())
    rows = [[("➕ Nuevo evento", "staff:ev:nuevo")]]
    rows += [[(_label(e, context), f"staff:ev:e:{e.id}")] for e in events[:20]]
    await message.reply_text(INDEX, reply_markup=_kb(rows))


def _label(event: Event, context: CabildoContext) -> str:
    """Return a list button's text: `#12 · mié 13 ene · 6:00 p. m. · Taller de cocreación…`."""
    return f"#{event.id} · {short_when(event.inicio, context)} · {clip(event.titulo, 45)}"


async def _edit_menu(update: Update, context: CabildoContext, event_id: int) -> None:
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
    if event is None:
        await show(update, NOT_FOUND.format(id=event_id))
        return
    settings = context.settings
    text = EDIT_MENU.format(
        id=event.id,
        title=escape(event.titulo),
        place=escape(event.lugar),
        when=local_datetime(event.inicio, settings.tz, settings.locale),
        places=_places_text(event.capacidad),
    )
    await show(
        update,
        text,
        _kb(
            [
                [
                    ("🕒 Fecha y hora", f"staff:ev:c:{event_id}:inicio"),
                    ("📍 Lugar", f"staff:ev:c:{event_id}:lugar"),
                ],
                [
                    ("👥 Cupos", f"staff:ev:c:{event_id}:capacidad"),
                    ("✏️ Título", f"staff:ev:c:{event_id}:titulo"),
                ],
                CLOSE_ROW,
            ]
        ),
    )


async def _ask_kind(update: Update) -> None:
    rows = [[(kind.capitalize(), f"staff:ev:k:{i}")] for i, kind in enumerate(KINDS)]
    await show(update, ASK_KIND, _kb([*rows, CANCEL_ROW]))


async def _ask_comuna(update: Update, context: CabildoContext) -> None:
    async with context.db.session() as session:
        comunas = [c.comuna for c in await comunas_with_counts(session)]
    buttons = [(f"{c.codigo} · {c.nombre}", f"staff:ev:m:{c.codigo}") for c in comunas]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await show(update, ASK_COMUNA, _kb([[("🏙️ Toda la ciudad", "staff:ev:m:-")], *rows, CANCEL_ROW]))


async def _preview(update: Update, context: CabildoContext, data: dict[str, Any]) -> None:
    settings = context.settings
    comuna = (
        f"Comuna {escape(data['comuna_label'])}" if data.get("comuna_label") else "Toda la ciudad"
    )
    text = PREVIEW.format(
        title=f"<b>{escape(data['titulo'])}</b>",
        kind=escape(data["tipo"]),
        when=local_datetime(datetime.fromisoformat(data["inicio"]), settings.tz, settings.locale),
        place=escape(data["lugar"]),
        comuna=comuna,
        places=_places_text(data.get("capacidad")),
    )
    await show(
        update,
        text,
        _kb(
            [
                [
                    ("✅ Guardar y anunciar ya", "staff:ev:ok"),
                    ("🕒 Anunciar más tarde", "staff:ev:luego"),
                ],
                CANCEL_ROW,
            ]
        ),
    )


async def _create(
    update: Update, context: CabildoContext, data: dict[str, Any], announce: datetime | None
) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    draft = EventDraft(
        titulo=data["titulo"],
        tipo=data["tipo"],
        inicio=datetime.fromisoformat(data["inicio"]),
        lugar=data["lugar"],
        comuna_id=data.get("comuna_id"),
        capacidad=data.get("capacidad"),
        anunciar_desde=announce,
    )
    async with context.db.session() as session:
        if not await clear_state(session, chat_id=chat.id, user_id=user.id):
            return  # a double tap (perhaps on another instance) already saved it
        event = await create_event(session, draft=draft, actor_id=user.id)
    settings = context.settings
    when = (
        ANNOUNCE_NOW
        if announce is None
        else _sentence(
            ANNOUNCE_AT.format(when=local_datetime(announce, settings.tz, settings.locale))
        )
    )
    await show(update, CREATED.format(id=event.id, announce=when))


async def on_button(update: Update, context: CabildoContext) -> None:
    """Advance the events wizard from a button."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    parts = (query.data or "").split(":")[2:]
    action = parts[0] if parts else ""
    if action == "nuevo":
        await _save(update, context, "titulo", {})
        await _edit(update, ASK_TITLE.format(limit=MAX_TITLE))
        return
    if action == "e" and len(parts) == 2 and parts[1].isdigit():
        await _edit_menu(update, context, int(parts[1]))
        return
    if action == "c" and len(parts) == 3 and parts[1].isdigit() and parts[2] in ASK_FIELD:
        await _save(update, context, "editar", {"id": int(parts[1]), "campo": parts[2]})
        await _edit(
            update,
            ASK_FIELD[parts[2]].format(
                limit=MAX_TITLE,
                city=escape(context.settings.municipality_name),
                example=_example(context),
            ),
        )
        return
    if action == "cancelar":
        await _clear(update, context)
        await _edit(update, CANCELLED)
        return
    state = await flow_state(update, context, FLOW)
    if state is None:
        await _edit(update, EXPIRED)
        return
    data = dict(state.data)
    if (
        action == "k"
        and state.step == "tipo"
        and len(parts) == 2
        and parts[1].isdigit()
        and int(parts[1]) < len(KINDS)
    ):
        data["tipo"] = KINDS[int(parts[1])]
        await _save(update, context, "comuna", data)
        await _ask_comuna(update, context)
    elif action == "m" and state.step == "comuna" and len(parts) == 2:
        async with context.db.session() as session:
            comuna = None if parts[1] == "-" else await find_comuna(session, parts[1])
        data["comuna_id"] = comuna.id if comuna else None
        data["comuna_label"] = f"{comuna.codigo} · {comuna.nombre}" if comuna else ""
        await _save(update, context, "vista", data)
        await _preview(update, context, data)
    elif action == "ok" and state.step == "vista":
        await _create(update, context, data, None)
    elif action == "luego" and state.step == "vista":
        await _save(update, context, "anuncio", data)
        await _edit(
            update,
            ASK_ANNOUNCE.format(
                city=escape(context.settings.municipality_name), example=_example(context)
            ),
        )
    else:
        await _edit(update, EXPIRED)


def _bad_date(when: datetime | None, context: CabildoContext) -> str:
    """Say why a typed date was refused: not understood, or already past."""
    example = _example(context)
    if when is None:
        return BAD_START.format(example=example)
    settings = context.settings
    return PAST_DATE.format(
        when=local_datetime(when, settings.tz, settings.locale), example=example
    )


def _when(text: str, context: CabildoContext) -> datetime | None:
    try:
        when = parse_local_datetime(text.strip(), context.settings.tz)
    except CellError:
        return None
    return when


async def receive_text(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take what staff typed at the wizard's current step."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    text, data = message.text.strip(), dict(state.data)
    example = _example(context)
    if state.step in ("titulo", "lugar") or (
        state.step == "editar" and data.get("campo") in ("titulo", "lugar")
    ):
        limit = MAX_TITLE if "titulo" in (state.step, data.get("campo")) else MAX_PLACE
        if len(text) > limit:
            await message.reply_text(TOO_LONG.format(length=len(text), limit=limit))
            return
    if state.step == "titulo":
        data["titulo"] = text
        await _save(update, context, "inicio", data)
        await message.reply_text(
            ASK_START.format(city=escape(context.settings.municipality_name), example=example)
        )
    elif state.step == "inicio":
        when = _when(text, context)
        if when is None or when <= utcnow():
            await message.reply_text(_bad_date(when, context))
            return
        data["inicio"] = when.isoformat()
        await _save(update, context, "lugar", data)
        await message.reply_text(ASK_PLACE)
    elif state.step == "lugar":
        data["lugar"] = text
        await _save(update, context, "cupos", data)
        await message.reply_text(ASK_PLACES)
    elif state.step == "cupos":
        if not text.isdigit() or int(text) > 100_000:
            await message.reply_text(BAD_PLACES)
            return
        data["capacidad"] = int(text) or None
        await _save(update, context, "tipo", data)
        await _ask_kind(update)
    elif state.step == "anuncio":
        when = _when(text, context)
        start = datetime.fromisoformat(data["inicio"])
        if when is None or when <= utcnow():
            await message.reply_text(_bad_date(when, context))
            return
        if when >= start:
            settings = context.settings
            await message.reply_text(BAD_ANNOUNCE.format(
                start=local_datetime(start, settings.tz, settings.locale), example=example
            ))
            return
        await _create(update, context, data, when)
    elif state.step == "editar":
        await _apply_edit(update, context, data, text)
    else:
        await message.reply_text(EXPIRED)


async def _apply_edit(
    update: Update, context: CabildoContext, data: dict[str, Any], text: str
) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    field = data["campo"]
    value: Any = text
    if field == "inicio":
        value = _when(text, context)
        if value is None or value <= utcnow():
            await message.reply_text(_bad_date(value, context))
            return
    elif field == "capacidad":
        if not text.isdigit() or int(text) > 100_000:
            await message.reply_text(BAD_PLACES)
            return
        value = int(text) or None
    async with context.db.session() as session:
        event = await event_by_id(session, int(data["id"]))
        if event is None:
            await message.reply_text(GONE)
            return
        moved = await edit_event(session, event=event, field=field, value=value, actor_id=user.id)
    await _clear(update, context)
    if moved:
        await notify_promoted(context.db, context.settings, event, moved)
    if field in ("inicio", "lugar"):
        more = SAVED_NOTICE
    elif len(moved) == 1:
        more = SAVED_PROMOTED_ONE
    else:
        more = SAVED_PROMOTED.format(count=len(moved)) if moved else ""
    await message.reply_text(SAVED.format(more=more).strip())


TEXT_STEPS[FLOW] = receive_text
IDLE_NOTES[FLOW] = (
    "⌛ Pasaron más de 30 minutos, así que no tomé este mensaje para el evento y no cambié "
    "nada. Vuelva con /evento"
)

HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("evento", start_events),
    CallbackQueryHandler(on_button, pattern=r"^staff:ev:"),
]
