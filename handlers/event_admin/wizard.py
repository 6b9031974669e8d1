"""`/evento`'s new-event wizard: title → date and time → end (optional) → place → location
on the map (a shared location or typed coordinates; optional) → places → kind → comuna →
description (optional) → online link (optional) → announce now or at a time."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from typing import Any

from babel.dates import format_datetime
from telegram import Update

from bot.context import CabildoContext
from bot.formatting import clip, local_datetime
from handlers.callbacks import (
    StaffEventComuna,
    StaffEventKind,
    StaffEventLater,
    StaffEventNew,
    StaffEventSave,
    StaffEventSkip,
)
from handlers.event_admin.common import (
    ASK_PLACES,
    ASK_START,
    BAD_PLACES,
    CANCEL_ROW,
    EXPIRED,
    FLOW,
    MAX_DESCRIPTION,
    MAX_LINK,
    MAX_TITLE,
    SKIP_ROW,
    at,
    bad_date,
    clear_step,
    date_example,
    edit,
    kb,
    parse_when,
    places_text,
    save_step,
    say,
    step_data,
)
from handlers.flows import flow_state
from storage.conversations import FlowState
from storage.events import EventDraft, create_event
from storage.importers.errors import CellError
from storage.importers.values import parse_latitude, parse_longitude, parse_url
from storage.types import utcnow
from storage.works import comunas_with_counts, find_comuna

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
ASK_TITLE = "➕ <b>Nuevo evento</b>\nEscriba el título (máximo {limit} caracteres)."
ASK_END = (
    "¿A qué hora termina? Escriba la hora, así: <code>20:00</code>, o la fecha y hora si "
    "termina otro día. Si no lo sabe, toque «⏭️ Omitir»."
)
BAD_END = (
    "Escriba una hora después del inicio ({start}), así: <code>20:00</code>, o toque "
    "«⏭️ Omitir»."
)
ASK_PLACE = "Escriba el lugar (por ejemplo: Salón comunal del barrio La Joya)."
ASK_LOCATION = (
    "📍 ¿Dónde queda en el mapa? Envíe la ubicación (📎 → Ubicación, y mueva el mapa hasta "
    "el lugar) o escriba las coordenadas así: <code>7.1193, -73.1227</code>. Si no la tiene, "
    "toque «⏭️ Omitir»."
)
BAD_LOCATION = (
    "No entendí las coordenadas. Escríbalas así: <code>7.1193, -73.1227</code> (latitud, "
    "longitud), envíe la ubicación o toque «⏭️ Omitir»."
)
ASK_KIND = "Elija el tipo de evento:"
ASK_COMUNA = "¿En qué comuna es? (Quienes tienen alertas de esa comuna recibirán el anuncio.)"
ASK_DESCRIPTION = (
    "Escriba una descripción corta: qué se hará y para quién (máximo {limit} caracteres). "
    "Si no hace falta, toque «⏭️ Omitir»."
)
ASK_LINK = (
    "Si el evento se puede ver en línea, escriba el enlace (empieza por https://). Si no, "
    "toque «⏭️ Omitir»."
)
BAD_LINK = "Ese enlace no sirve: debe empezar por https://. Escríbalo otra vez o toque «⏭️ Omitir»."
PREVIEW = (
    "👀 <b>Revise el evento</b>\n{title}\nTipo: {kind}\n🕒 {when}\n📍 {place}\n{map}\n{comuna}\n"
    "Cupos: {places}{extra}\n\n¿Cuándo lo anuncio?"
)
ON_MAP = "🗺️ En el mapa: {lat}, {lon}"
NOT_ON_MAP = "🗺️ Sin ubicación en el mapa"
ASK_ANNOUNCE = "Escriba cuándo anunciarlo (hora de {city}), así: <code>{example}</code>"
BAD_ANNOUNCE = (
    "Escriba una fecha y hora antes del inicio del evento ({start}), así: "
    "<code>{example}</code>"
)
CREATED = "✅ Evento #{id} creado. {announce}\nYa aparece en /agenda."
ANNOUNCE_NOW = "Se anuncia en el próximo minuto."
ANNOUNCE_AT = "Se anuncia el {when}"  # `_sentence` adds the period unless «a. m.» has one
NO_LOCATION_NOW = "Ahora no espero una ubicación: responda lo que pide el mensaje anterior."
SKIP_WORDS = frozenset({"omitir", "saltar", "ninguno", "ninguna", "no"})
# Steps of the new-event wizard that «⏭️ Omitir» skips, and the step that follows each.
STEPS = ("titulo", "inicio", "fin", "lugar", "ubicacion", "cupos", "descripcion", "enlace",
         "anuncio")
SKIPPABLE = {"fin": "lugar", "ubicacion": "cupos", "descripcion": "enlace", "enlace": "vista"}
_TIME_ONLY = re.compile(r"^(\d{1,2})[:.h](\d{2})$")
_COORDINATES = (
    re.compile(r"^(-?\d+(?:[.,]\d+)?)\s*;\s*(-?\d+(?:[.,]\d+)?)$"),  # 7,1193; -73,1227
    re.compile(r"^(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)$"),  # 7.1193, -73.1227
    re.compile(r"^(-?\d+(?:[.,]\d+)?)\s+(-?\d+(?:[.,]\d+)?)$"),  # 7,1193 -73,1227
)


def _sentence(text: str) -> str:
    """End a sentence with one period, even after «a. m.»."""
    return text if text.endswith(".") else text + "."


async def ask(update: Update, context: CabildoContext, step: str, data: dict[str, Any]) -> None:
    """Save the wizard at `step` and ask its question."""
    await save_step(update, context, step, data)
    skip = kb([SKIP_ROW])
    if step == "inicio":
        await say(update, ASK_START.format(
            city=escape(context.settings.municipality_name), example=date_example(context)))
    elif step == "fin":
        await say(update, ASK_END, skip)
    elif step == "lugar":
        await say(update, ASK_PLACE)
    elif step == "ubicacion":
        await say(update, ASK_LOCATION, skip)
    elif step == "cupos":
        await say(update, ASK_PLACES)
    elif step == "tipo":
        kinds = [[(kind.capitalize(), StaffEventKind(i))] for i, kind in enumerate(KINDS)]
        await say(update, ASK_KIND, kb([*kinds, CANCEL_ROW]))
    elif step == "comuna":
        async with context.db.session() as session:
            comunas = [c.comuna for c in await comunas_with_counts(session)]
        buttons = [(f"{c.codigo} · {c.nombre}", StaffEventComuna(c.codigo)) for c in comunas]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        await say(update, ASK_COMUNA,
                   kb([[("🏙️ Toda la ciudad", StaffEventComuna("-"))], *rows, CANCEL_ROW]))
    elif step == "descripcion":
        await say(update, ASK_DESCRIPTION.format(limit=MAX_DESCRIPTION), skip)
    elif step == "enlace":
        await say(update, ASK_LINK, skip)
    elif step == "vista":
        await _preview(update, context, data)


async def _preview(update: Update, context: CabildoContext, data: dict[str, Any]) -> None:
    """Show the new event as it will be saved, and ask when to announce it."""
    settings = context.settings
    comuna = (
        f"Comuna {escape(data['comuna_label'])}" if data.get("comuna_label") else "Toda la ciudad"
    )
    when = local_datetime(datetime.fromisoformat(data["inicio"]), settings.tz, settings.locale)
    if data.get("fin"):
        start = datetime.fromisoformat(data["inicio"]).astimezone(settings.tz)
        end = datetime.fromisoformat(data["fin"]).astimezone(settings.tz)
        same_day = end.date() == start.date()
        until = format_datetime(end, "h:mm a", locale=settings.locale) if same_day \
            else at(end, context)
        when += f" (hasta {until})"
    extra = ""
    if data.get("enlace"):
        extra += f"\n🔗 {escape(data['enlace'])}"
    if data.get("descripcion"):
        extra += f"\n\n{escape(clip(data['descripcion'], 300))}"
    has_map = data.get("latitud") is not None
    text = PREVIEW.format(
        title=f"<b>{escape(data['titulo'])}</b>",
        kind=escape(data["tipo"]),
        when=when,
        place=escape(data["lugar"]),
        map=ON_MAP.format(lat=data["latitud"], lon=data["longitud"]) if has_map else NOT_ON_MAP,
        comuna=comuna,
        places=places_text(data.get("capacidad")),
        extra=extra,
    )
    await say(
        update,
        text,
        kb(
            [
                [
                    ("✅ Guardar y anunciar ya", StaffEventSave()),
                    ("🕒 Anunciar más tarde", StaffEventLater()),
                ],
                CANCEL_ROW,
            ]
        ),
    )


async def _create(
    update: Update, context: CabildoContext, data: dict[str, Any], announce: datetime | None
) -> None:
    """Save the new event, to be announced at `announce` (None: in the next minute)."""
    user = update.effective_user
    assert user is not None
    draft = EventDraft(
        titulo=data["titulo"],
        tipo=data["tipo"],
        inicio=datetime.fromisoformat(data["inicio"]),
        lugar=data["lugar"],
        comuna_id=data.get("comuna_id"),
        capacidad=data.get("capacidad"),
        anunciar_desde=announce,
        fin=datetime.fromisoformat(data["fin"]) if data.get("fin") else None,
        descripcion=data.get("descripcion"),
        enlace=data.get("enlace"),
        latitud=data.get("latitud"),
        longitud=data.get("longitud"),
    )
    if not await clear_step(update, context):
        return  # a double tap (perhaps on another instance) already saved it
    async with context.db.session() as session:
        event = await create_event(session, draft=draft, actor_id=user.id)
    when = (
        ANNOUNCE_NOW
        if announce is None
        else _sentence(ANNOUNCE_AT.format(when=at(announce, context)))
    )
    await say(update, CREATED.format(id=event.id, announce=when))


def read_end(text: str, start: datetime, context: CabildoContext) -> datetime | None:
    """Read an end time: `20:00` (the start's day) or a date and time; None if not after it."""
    match = _TIME_ONLY.match(text.strip().lower())
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            return None
        local = start.astimezone(context.settings.tz)
        end = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    else:
        found = parse_when(text, context)
        if found is None:
            return None
        end = found
    return end if end > start else None


def coordinates(text: str) -> tuple[float, float] | None:
    """Read typed coordinates as imports do (`7.1193, -73.1227`, `7,1193; -73,1227`)."""
    for pattern in _COORDINATES:
        match = pattern.match(text.strip())
        if match:
            try:
                return parse_latitude(match.group(1)), parse_longitude(match.group(2))
            except CellError:
                return None
    return None


async def receive_location(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take a location shared at the wizard's map step (elsewhere in the wizard: say so)."""
    message = update.effective_message
    if message is None or message.location is None:
        return
    if state.step != "ubicacion":
        await message.reply_text(NO_LOCATION_NOW)
        return
    data = dict(state.data)
    data["latitud"] = round(message.location.latitude, 6)
    data["longitud"] = round(message.location.longitude, 6)
    await ask(update, context, "cupos", data)


async def announce_at(
    update: Update, context: CabildoContext, data: dict[str, Any], text: str
) -> None:
    """Save the new event, to be announced at the typed time (before it starts)."""
    message = update.effective_message
    assert message is not None
    when = parse_when(text, context)
    start = datetime.fromisoformat(data["inicio"])
    if when is None or when <= utcnow():
        await message.reply_text(bad_date(when, context))
        return
    if when >= start:
        await message.reply_text(BAD_ANNOUNCE.format(
            start=at(start, context), example=date_example(context)
        ))
        return
    await _create(update, context, data, when)


async def take_text(
    update: Update, context: CabildoContext, step: str, data: dict[str, Any], text: str
) -> None:
    """Take what staff typed at one of the wizard's steps (`STEPS`) and ask the next."""
    message = update.effective_message
    assert message is not None
    if step == "titulo":
        data["titulo"] = text
        await ask(update, context, "inicio", data)
    elif step == "inicio":
        when = parse_when(text, context)
        if when is None or when <= utcnow():
            await message.reply_text(bad_date(when, context))
            return
        data["inicio"] = when.isoformat()
        await ask(update, context, "fin", data)
    elif step == "fin":
        start = datetime.fromisoformat(data["inicio"])
        end = read_end(text, start, context)
        if end is None:
            await message.reply_text(BAD_END.format(start=at(start, context)),
                                     reply_markup=kb([SKIP_ROW]))
            return
        data["fin"] = end.isoformat()
        await ask(update, context, "lugar", data)
    elif step == "lugar":
        data["lugar"] = text
        await ask(update, context, "ubicacion", data)
    elif step == "ubicacion":
        found = coordinates(text)
        if found is None:
            await message.reply_text(BAD_LOCATION, reply_markup=kb([SKIP_ROW]))
            return
        data["latitud"], data["longitud"] = found
        await ask(update, context, "cupos", data)
    elif step == "cupos":
        if not text.isdigit() or int(text) > 100_000:
            await message.reply_text(BAD_PLACES)
            return
        data["capacidad"] = int(text) or None
        await ask(update, context, "tipo", data)
    elif step == "descripcion":
        data["descripcion"] = text
        await ask(update, context, "enlace", data)
    elif step == "enlace":
        try:
            data["enlace"] = parse_url(text, max_length=MAX_LINK)
        except CellError:
            await message.reply_text(BAD_LINK, reply_markup=kb([SKIP_ROW]))
            return
        await ask(update, context, "vista", data)
    elif step == "anuncio":
        await announce_at(update, context, data, text)


# --- the wizard's buttons ----------------------------------------------------------------


async def start_new(update: Update, context: CabildoContext, _: StaffEventNew) -> None:
    """Start the wizard: ask the title."""
    await save_step(update, context, "titulo", {})
    await edit(update, ASK_TITLE.format(limit=MAX_TITLE))


async def choose_kind(update: Update, context: CabildoContext, kind: StaffEventKind) -> None:
    """Take the event's kind, then ask its comuna."""
    data = await step_data(update, context, "tipo")
    if data is None:
        return
    if kind.index >= len(KINDS):
        await edit(update, EXPIRED)
        return
    data["tipo"] = KINDS[kind.index]
    await ask(update, context, "comuna", data)


async def choose_comuna(update: Update, context: CabildoContext, chosen: StaffEventComuna) -> None:
    """Take the event's comuna (or the whole city), then ask its description."""
    data = await step_data(update, context, "comuna")
    if data is None:
        return
    async with context.db.session() as session:
        comuna = None if chosen.comuna == "-" else await find_comuna(session, chosen.comuna)
    data["comuna_id"] = comuna.id if comuna else None
    data["comuna_label"] = f"{comuna.codigo} · {comuna.nombre}" if comuna else ""
    await ask(update, context, "descripcion", data)


async def skip(update: Update, context: CabildoContext, _: StaffEventSkip) -> None:
    """Skip an optional step."""
    state = await flow_state(update, context, FLOW)
    if state is None or state.step not in SKIPPABLE:
        await edit(update, EXPIRED)
        return
    await ask(update, context, SKIPPABLE[state.step], dict(state.data))


async def save_now(update: Update, context: CabildoContext, _: StaffEventSave) -> None:
    """Save the previewed event, to be announced in the next minute."""
    data = await step_data(update, context, "vista")
    if data is not None:
        await _create(update, context, data, None)


async def save_later(update: Update, context: CabildoContext, _: StaffEventLater) -> None:
    """Ask when to announce the previewed event."""
    data = await step_data(update, context, "vista")
    if data is None:
        return
    await save_step(update, context, "anuncio", data)
    await edit(update, ASK_ANNOUNCE.format(
        city=escape(context.settings.municipality_name), example=date_example(context)))

