"""`/difundir`: staff broadcast wizard — audience, text, preview with count, send or schedule.

Every step is kept in the database (flow "difundir"), so it survives restarts and works
across instances. Its buttons (`handlers.callbacks`, `Broadcast…`) use `staff:dif:` data,
which `handlers.access` lets through only for staff.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler

from bot.context import CabildoContext
from bot.formatting import clip, local_datetime, number, plural
from handlers.callbacks import (
    BroadcastAudience,
    BroadcastCancel,
    BroadcastComuna,
    BroadcastEvent,
    BroadcastSchedule,
    BroadcastSend,
    BroadcastTopic,
    CallbackData,
    button,
    on_press,
    on_stale,
)
from handlers.event_card import short_when
from handlers.flows import IDLE_NOTES, TEXT_STEPS, flow_state
from storage import outbox
from storage.broadcasts import (
    CANCELLED as CANCELLED_STATUS,
)
from storage.broadcasts import (
    DONE,
    TOPICS,
    Audience,
    cancel_broadcast,
    count_recipients,
    create_broadcast,
    describe,
    events_with_registrants,
)
from storage.comunas import all_comunas
from storage.conversations import FlowState, clear_state, set_state
from storage.importers.errors import CellError
from storage.importers.values import parse_local_datetime
from storage.models import Broadcast
from storage.types import utcnow

FLOW = "difundir"
MAX_TEXT = 3500
CHOOSE_AUDIENCE = "📣 <b>Nueva difusión</b>\n¿A quién va dirigida?"
CHOOSE_COMUNAS = "Elija una o varias comunas y toque «Listo ▶️»."
NO_COMUNA = "⚠️ Marque al menos una comuna y luego toque «Listo ▶️»."
CHOOSE_TOPIC = "Elija el tema:"
CHOOSE_EVENT = "Elija el evento:"
NO_EVENTS = "Ningún evento próximo tiene inscripciones."
ASK_TEXT = (
    "Audiencia: {audience} ({count}).\n\n"
    "Ahora escriba el mensaje tal como lo recibirá la gente (puede usar negrita y cursiva)."
)
TOO_LONG = "El mensaje es muy largo ({length} caracteres); el máximo es {limit}."
PREVIEW = (
    "👀 <b>Vista previa</b> — así lo {verb} {count} ({audience}):\n"
    "────────────\n{text}\n────────────"
)
ASK_WHEN = (
    "Escriba la fecha y hora de envío (hora de {city}), así: <code>{example}</code>"
)
BAD_WHEN = "No entendí la fecha. Escríbala así: <code>{example}</code> (en el futuro)."
PAST_WHEN = (
    "Esa fecha ya pasó ({when}). Escriba una fecha y hora en el futuro, así: "
    "<code>{example}</code>"
)
QUEUED = "✅ Difusión #{id}: {count} en cola. Le aviso cuando termine."
SCHEDULED = "🕒 Difusión #{id} programada para el {when}: {count}."
CANCELLED = "Difusión cancelada; no se envió nada."
NOBODY = "Esa audiencia todavía no incluye a nadie. Elija otra."
EXPIRED = "Esta difusión ya no está en curso. Empiece de nuevo con /difundir."
REPORT = (
    "📊 <b>Difusión #{id}</b> — {status}\nEnviados: {enviado} · En cola: {pending} · "
    "Bloqueados: {bloqueado} · Fallidos: {fallido}"
)
UNCERTAIN = (
    "\nSin confirmar: {count}. Telegram no confirmó a tiempo si {verb}: pueden haber llegado, "
    "y no se reenvían para que nadie reciba el mensaje dos veces."
)
WITHDRAWN = "Difusión #{id} cancelada: {verb} {count} sin enviar."
NOT_FOUND = "No existe la difusión #{id}."
ALREADY_DONE = "La difusión #{id} ya terminó; no hay nada que retirar."
ALREADY_CANCELLED = "La difusión #{id} ya estaba cancelada; no hay nada que retirar."
NOT_RUNNING = "La difusión #{id} está «{status}»; no hay nada que retirar."
USAGE = (
    "Escriba el número de la difusión, así: <code>/difundir estado 3</code> "
    "o <code>/difundir cancelar 3</code>."
)


def _kb(rows: Sequence[Sequence[tuple[str, CallbackData]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(text, action) for text, action in row] for row in rows])


CANCEL = ("❌ Cancelar", BroadcastCancel())


def _audience_keyboard() -> InlineKeyboardMarkup:
    return _kb([
        [("👥 Todos", BroadcastAudience("todos")),
         ("🏘️ Por comuna", BroadcastAudience("comuna"))],
        [("🏷️ Por tema", BroadcastAudience("tema")),
         ("🧭 Líderes", BroadcastAudience("lideres"))],
        [("📅 Personas inscritas en un evento", BroadcastAudience("evento"))],
        [CANCEL],
    ])


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    if query is not None:
        with contextlib.suppress(BadRequest):  # a double tap: the screen is already right
            await query.edit_message_text(text, reply_markup=markup)


async def start_broadcast(update: Update, context: CabildoContext) -> None:
    """Start the wizard, or show a report (`/difundir estado N`) or cancel (`cancelar N`)."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    args = context.args or []
    if args and args[0].lower() in ("estado", "cancelar"):
        number = args[1].lstrip("#") if len(args) == 2 else ""
        if not number.isdigit() or len(number) > 9:
            await message.reply_text(USAGE)
            return
        await (_report if args[0].lower() == "estado" else _withdraw)(update, context, int(number))
        return
    async with context.db.session() as session:
        await set_state(
            session, chat_id=chat.id, user_id=user.id, state=FlowState(FLOW, "audiencia")
        )
    await message.reply_text(CHOOSE_AUDIENCE, reply_markup=_audience_keyboard())


async def _report(update: Update, context: CabildoContext, broadcast_id: int) -> None:
    message = update.effective_message
    async with context.db.session() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        counts = await outbox.status_counts(session, broadcast_id=broadcast_id)
    if message is None:
        return
    if broadcast is None:
        await message.reply_text(f"No existe la difusión #{broadcast_id}.")
        return
    await message.reply_text(report_text(broadcast, counts))


def report_text(broadcast: Broadcast, counts: dict[str, int]) -> str:
    """Return the delivery report of a broadcast (with the `incierto` rows, if any)."""
    text = REPORT.format(
        id=broadcast.id, status=broadcast.status, enviado=counts["enviado"],
        pending=counts["pendiente"] + counts["enviando"], bloqueado=counts["bloqueado"],
        fallido=counts["fallido"],
    )
    uncertain = counts.get(outbox.UNCERTAIN, 0)
    if uncertain:
        verb = "llegó" if uncertain == 1 else "llegaron"
        text += UNCERTAIN.format(count=number(uncertain, decimals=0), verb=verb)
    return text


async def _withdraw(update: Update, context: CabildoContext, broadcast_id: int) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    async with context.db.session() as session:
        result = await cancel_broadcast(session, broadcast_id=broadcast_id, actor_id=user.id)
    if result.cancelled:
        count = result.withdrawn
        text = WITHDRAWN.format(
            id=broadcast_id, verb="se retiró" if count == 1 else "se retiraron",
            count=plural(count, "mensaje", "mensajes"),
        )
    elif result.status is None:
        text = NOT_FOUND.format(id=broadcast_id)
    elif result.status == DONE:
        text = ALREADY_DONE.format(id=broadcast_id)
    elif result.status == CANCELLED_STATUS:
        text = ALREADY_CANCELLED.format(id=broadcast_id)
    else:
        text = NOT_RUNNING.format(id=broadcast_id, status=escape(result.status))
    await message.reply_text(text)


async def _save(update: Update, context: CabildoContext, state: FlowState) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.db.session() as session:
        await set_state(session, chat_id=chat.id, user_id=user.id, state=state)


async def _ask_text(update: Update, context: CabildoContext, data: dict[str, Any]) -> None:
    audience = Audience.from_dict(data["audience"])
    async with context.db.session() as session:
        count = await count_recipients(session, audience)
        description = await describe(session, audience)
    if count == 0:
        await _edit(update, NOBODY, _audience_keyboard())
        await _save(update, context, FlowState(FLOW, "audiencia"))
        return
    await _save(update, context, FlowState(FLOW, "texto", data))
    await _edit(update, ASK_TEXT.format(
        audience=escape(description), count=plural(count, "persona", "personas")
    ))


A = TypeVar("A", bound=CallbackData)


def _in_wizard(
    act: Callable[[Update, CabildoContext, A, FlowState], Awaitable[None]],
) -> Callable[[Update, CabildoContext, A], Awaitable[None]]:
    """Run a wizard button with the wizard's state; a button of a wizard that ended says so."""

    async def run(update: Update, context: CabildoContext, action: A) -> None:
        state = await flow_state(update, context, FLOW)
        if state is None:
            await _edit(update, EXPIRED)
            return
        await act(update, context, action, state)

    return run


async def cancel(
    update: Update, context: CabildoContext, _: BroadcastCancel, state: FlowState
) -> None:
    """Leave the wizard."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.db.session() as session:
        await clear_state(session, chat_id=chat.id, user_id=user.id)
    await _edit(update, CANCELLED)


async def choose_audience(
    update: Update, context: CabildoContext, action: BroadcastAudience, state: FlowState
) -> None:
    """Take the audience, or ask which comunas, topic or event."""
    await _choose_audience(update, context, action.kind, dict(state.data))


async def toggle_comuna(
    update: Update, context: CabildoContext, action: BroadcastComuna, state: FlowState
) -> None:
    """Tick or untick a comuna, or go on with those ticked."""
    await _toggle_comuna(update, context, action.comuna, dict(state.data))


async def choose_topic(
    update: Update, context: CabildoContext, action: BroadcastTopic, state: FlowState
) -> None:
    """Send to the people following a topic."""
    if action.topic not in TOPICS:
        await _edit(update, EXPIRED)
        return
    data = {**state.data, "audience": Audience("tema", (action.topic,)).as_dict()}
    await _ask_text(update, context, data)


async def choose_event(
    update: Update, context: CabildoContext, action: BroadcastEvent, state: FlowState
) -> None:
    """Send to the people registered for an event."""
    data = {**state.data, "audience": Audience("evento", (str(action.event),)).as_dict()}
    await _ask_text(update, context, data)


async def send_or_schedule(
    update: Update, context: CabildoContext, action: BroadcastSend | BroadcastSchedule,
    state: FlowState,
) -> None:
    """Send the previewed message now, or ask when."""
    data = dict(state.data)
    if state.step != "vista" or not data.get("text"):
        await _edit(update, EXPIRED)
    elif isinstance(action, BroadcastSend):
        await _send(update, context, data, None)
    else:
        await _save(update, context, FlowState(FLOW, "fecha", data))
        await _edit(update, ASK_WHEN.format(
            city=escape(context.settings.municipality_name), example=_example(context)
        ))


async def expired(update: Update, context: CabildoContext) -> None:
    """Answer a wizard button that is not one (an old or forged one)."""
    await _edit(update, EXPIRED)


async def _choose_audience(
    update: Update, context: CabildoContext, kind: str, data: dict[str, Any]
) -> None:
    if kind in ("todos", "lideres"):
        data["audience"] = Audience(kind).as_dict()
        await _ask_text(update, context, data)
    elif kind == "comuna":
        data["comunas"] = []
        await _save(update, context, FlowState(FLOW, "comunas", data))
        await _edit(update, CHOOSE_COMUNAS, await _comuna_keyboard(context, []))
    elif kind == "tema":
        rows: list[list[tuple[str, CallbackData]]] = [
            [(name, BroadcastTopic(key))] for key, name in TOPICS.items()]
        await _edit(update, CHOOSE_TOPIC, _kb([*rows, [CANCEL]]))
    elif kind == "evento":
        async with context.db.session() as session:
            events = await events_with_registrants(session, now=utcnow())
        if not events:
            await _edit(update, NO_EVENTS, _audience_keyboard())
            return
        rows = [
            [(f"{short_when(e.inicio, context)} · {clip(e.titulo, 40)} ({count})",
              BroadcastEvent(e.id or 0))]
            for e, count in events
        ]
        await _edit(update, CHOOSE_EVENT, _kb([*rows, [CANCEL]]))


async def _comuna_keyboard(context: CabildoContext, chosen: list[str]) -> InlineKeyboardMarkup:
    async with context.db.session() as session:
        comunas = await all_comunas(session)
    buttons = [
        (("✅ " if c.codigo in chosen else "") + f"{c.codigo} · {c.nombre}",
         BroadcastComuna(c.codigo))
        for c in comunas
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return _kb([*rows, [("Listo ▶️", BroadcastComuna("ok")), CANCEL]])


async def _toggle_comuna(
    update: Update, context: CabildoContext, code: str, data: dict[str, Any]
) -> None:
    chosen: list[str] = list(data.get("comunas", []))
    if code == "ok":
        if not chosen:
            await _edit(update, NO_COMUNA, await _comuna_keyboard(context, chosen))
            return
        data["audience"] = Audience("comuna", tuple(chosen)).as_dict()
        await _ask_text(update, context, data)
        return
    chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
    data["comunas"] = chosen
    await _save(update, context, FlowState(FLOW, "comunas", data))
    await _edit(update, CHOOSE_COMUNAS, await _comuna_keyboard(context, chosen))


def _example(context: CabildoContext) -> str:
    return (datetime.now(context.settings.tz) + timedelta(days=1)).strftime("%Y-%m-%d 08:00")


async def receive_text(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take the typed message (or date) of the wizard's current step."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    data = dict(state.data)
    if state.step == "texto":
        text = message.text_html  # keeps the staff's bold/italic, escapes everything else
        if len(text) > MAX_TEXT:
            await message.reply_text(TOO_LONG.format(length=len(text), limit=MAX_TEXT))
            return
        data["text"] = text
        audience = Audience.from_dict(data["audience"])
        async with context.db.session() as session:
            count = await count_recipients(session, audience)
            description = await describe(session, audience)
        await _save(update, context, FlowState(FLOW, "vista", data))
        await message.reply_text(
            PREVIEW.format(
                verb="recibirá" if count == 1 else "recibirán",
                count=plural(count, "persona", "personas"), audience=escape(description),
                text=text,
            ),
            reply_markup=_kb([
                [("✅ Enviar ahora", BroadcastSend()), ("🕒 Programar", BroadcastSchedule())],
                [CANCEL],
            ]),
        )
    elif state.step == "fecha":
        settings = context.settings
        try:
            when = parse_local_datetime(message.text.strip(), settings.tz)
        except CellError:
            await message.reply_text(BAD_WHEN.format(example=_example(context)))
            return
        if when <= utcnow():
            await message.reply_text(PAST_WHEN.format(
                when=local_datetime(when, settings.tz, settings.locale),
                example=_example(context),
            ))
            return
        await _send(update, context, data, when)
    else:
        await message.reply_text(EXPIRED)


async def _send(
    update: Update, context: CabildoContext, data: dict[str, Any], when: datetime | None
) -> None:
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    assert user is not None and chat is not None and message is not None
    async with context.db.session() as session:
        if not await clear_state(session, chat_id=chat.id, user_id=user.id):
            return  # another tap (perhaps on another instance) already sent it
        broadcast, count = await create_broadcast(
            session, created_by=user.id, audience=Audience.from_dict(data["audience"]),
            text=data["text"], scheduled_for=when,
        )
    messages = plural(count, "mensaje", "mensajes")
    if when is None:
        text = QUEUED.format(id=broadcast.id, count=messages)
    else:
        shown = local_datetime(when, context.settings.tz, context.settings.locale)
        text = SCHEDULED.format(id=broadcast.id, when=shown, count=messages)
    if update.callback_query is not None:
        await _edit(update, text)
    else:
        await message.reply_text(text)


def report_message(broadcast: Broadcast, counts: dict[str, int]) -> tuple[int, str] | None:
    """Return whom to tell that a broadcast finished, and what (not for the scheduler's own).

    The sender queues it in the outbox, so a 429 right after a large broadcast delays the
    report instead of losing it.
    """
    if broadcast.created_by <= 0:
        return None
    return broadcast.created_by, report_text(broadcast, counts)


TEXT_STEPS[FLOW] = receive_text
IDLE_NOTES[FLOW] = (
    "⌛ Pasaron más de 30 minutos, así que descarté la difusión que preparaba y no envié "
    "nada. Empiece de nuevo con /difundir"
)

HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    on_press(BroadcastCancel, _in_wizard(cancel)),
    on_press(BroadcastAudience, _in_wizard(choose_audience)),
    on_press(BroadcastComuna, _in_wizard(toggle_comuna)),
    on_press(BroadcastTopic, _in_wizard(choose_topic)),
    on_press(BroadcastEvent, _in_wizard(choose_event)),
    on_press(BroadcastSend, _in_wizard(send_or_schedule)),
    on_press(BroadcastSchedule, _in_wizard(send_or_schedule)),
    on_stale("staff:dif", expired),
]
