"""`/evento`'s changes to an event: date and time, place, places or title; «⏸️ Aplazar» (a new
date and a reason) and «🚫 Cancelar evento» (a reason).

A change of date or place, a postponement and a cancellation are queued at once, through
the outbox, for everyone told about the event and its registrants
(`handlers.reminders.tell_change`, whose dedupe keys make a second tap, or the minute's
sweep, send nothing more). The last step of each clears the wizard's state first, so a
double tap acts once.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from telegram import Update

from bot.context import CabildoContext
from handlers.callbacks import (
    CallbackData,
    StaffEventCallOff,
    StaffEventCallOffConfirm,
    StaffEventField,
    StaffEventPostpone,
    StaffEventPostponeConfirm,
)
from handlers.event_admin.common import (
    ASK_PLACES,
    ASK_START,
    BACK_ROW,
    BAD_PLACES,
    GONE,
    MAX_REASON,
    MAX_TITLE,
    at,
    bad_date,
    clear_step,
    date_example,
    edit,
    kb,
    parse_when,
    people_text,
    save_step,
    say,
    step_data,
)
from handlers.events import notify_promoted
from handlers.reminders import tell_change
from storage.events import cancel_event, edit_event, event_by_id, is_called_off, postpone_event
from storage.reminders import followers
from storage.types import utcnow

ASK_FIELD = {
    "inicio": ASK_START,
    "lugar": "Escriba el nuevo lugar.",
    "capacidad": ASK_PLACES,
    "titulo": "Escriba el nuevo título (máximo {limit} caracteres).",
}
SAVED = "✅ Guardado. {more}"
SAVED_NOTICE = "Se avisa del cambio a {people} (inscritas o que recibieron el anuncio)."
SAVED_NOBODY = "Nadie ha recibido el anuncio ni se ha inscrito todavía: no hay a quién avisar."
SAVED_PROMOTED_ONE = "1 persona de la lista de espera obtuvo cupo y recibe aviso."
SAVED_PROMOTED = "{count} personas de la lista de espera obtuvieron cupo y reciben aviso."
ASK_CANCEL_REASON = (
    "🚫 <b>Cancelar «{title}»</b> ({when})\nEscriba el motivo, en pocas palabras (máximo "
    "{limit} caracteres): se lo diremos a quienes se inscribieron o recibieron el anuncio."
)
CONFIRM_CANCEL = (
    "¿Cancelar el evento <b>{title}</b> del {when}?\nMotivo: {reason}\n"
    "Se avisará una sola vez a {people}."
)
DONE_CANCEL = "🚫 Evento #{id} cancelado. {notice}"
ALREADY_CANCELLED = "Ese evento ya estaba cancelado; no se avisó otra vez."
CANCELLED_NO_CHANGE = "Ese evento está cancelado: ya no se puede cambiar."
ASK_POSTPONE_DATE = (
    "⏸️ <b>Aplazar «{title}»</b> (hoy: {when})\nEscriba la nueva fecha y hora (hora de "
    "{city}), así: <code>{example}</code>"
)
SAME_DATE = "Esa es la fecha que ya tiene. Escriba otra, así: <code>{example}</code>"
ASK_POSTPONE_REASON = (
    "Escriba el motivo del aplazamiento, en pocas palabras (máximo {limit} caracteres)."
)
CONFIRM_POSTPONE = (
    "¿Aplazar <b>{title}</b>?\nDel {before} al {after}.\nMotivo: {reason}\n"
    "Se avisará una sola vez a {people}, con el nuevo archivo de calendario."
)
DONE_POSTPONE = "⏸️ Evento #{id} aplazado al {when}. {notice}"
NOT_POSTPONED = "No se aplazó: el evento ya tiene esa fecha o fue cancelado."
NOTICE_SENT = "Se avisa a {people}."
NOTICE_NOBODY = "Nadie se había inscrito ni recibido el anuncio: no hubo a quién avisar."


async def start_call_off(update: Update, context: CabildoContext, tap: StaffEventCallOff) -> None:
    """Ask the reason for cancelling an event."""
    event_id = tap.event
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
    if event is None:
        await edit(update, GONE)
        return
    if is_called_off(event):
        await edit(update, ALREADY_CANCELLED)
        return
    await save_step(update, context, "cancelar", {"id": event_id})
    await edit(update, ASK_CANCEL_REASON.format(
        title=escape(event.titulo), when=at(event.inicio, context), limit=MAX_REASON,
    ), kb([BACK_ROW]))


async def start_postpone(update: Update, context: CabildoContext, tap: StaffEventPostpone) -> None:
    """Ask the new date of an event to postpone."""
    event_id = tap.event
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
    if event is None or is_called_off(event):
        await edit(update, GONE if event is None else ALREADY_CANCELLED)
        return
    await save_step(update, context, "aplazar", {"id": event_id})
    await edit(update, ASK_POSTPONE_DATE.format(
        title=escape(event.titulo), when=at(event.inicio, context),
        city=escape(context.settings.municipality_name), example=date_example(context),
    ), kb([BACK_ROW]))


async def confirm(
    update: Update, context: CabildoContext, step: str, data: dict[str, Any]
) -> None:
    """Ask staff to confirm a cancellation or a postponement, saying who will be told."""
    async with context.db.session() as session:
        event = await event_by_id(session, int(data["id"]))
        people = len(await followers(session, event)) if event else 0
    if event is None:
        await clear_step(update, context)
        await say(update, GONE)
        return
    await save_step(update, context, step, data)
    reason = escape(data["motivo"])
    if step == "cancelar_ok":
        text = CONFIRM_CANCEL.format(title=escape(event.titulo), when=at(event.inicio, context),
                                     reason=reason, people=people_text(people))
        yes: tuple[str, CallbackData] = ("🚫 Sí, cancelar el evento", StaffEventCallOffConfirm())
    else:
        text = CONFIRM_POSTPONE.format(
            title=escape(event.titulo), before=at(event.inicio, context),
            after=at(datetime.fromisoformat(data["inicio"]), context), reason=reason,
            people=people_text(people),
        )
        yes = ("⏸️ Sí, aplazar", StaffEventPostponeConfirm())
    await say(update, text, kb([[yes], BACK_ROW]))


async def _finish(update: Update, context: CabildoContext, data: dict[str, Any],
                  postpone: bool) -> None:
    """Cancel or postpone the event and queue the notice: once, however many taps."""
    user = update.effective_user
    assert user is not None
    if not await clear_step(update, context):
        return  # a double tap (perhaps on another instance) already did it
    event_id = int(data["id"])
    async with context.db.session() as session:
        if postpone:
            event = await postpone_event(
                session, event_id=event_id, start=datetime.fromisoformat(data["inicio"]),
                reason=data["motivo"], actor_id=user.id,
            )
        else:
            event = await cancel_event(
                session, event_id=event_id, reason=data["motivo"], actor_id=user.id
            )
        told = await tell_change(session, context.settings, event, changed=True) if event else 0
    if event is None:
        await edit(update, NOT_POSTPONED if postpone else ALREADY_CANCELLED)
        return
    notice = NOTICE_SENT.format(people=people_text(told)) if told else NOTICE_NOBODY
    if postpone:
        await edit(update, DONE_POSTPONE.format(
            id=event_id, when=at(event.inicio, context), notice=notice))
    else:
        await edit(update, DONE_CANCEL.format(id=event_id, notice=notice))


async def postpone_date(
    update: Update, context: CabildoContext, data: dict[str, Any], text: str
) -> None:
    """Take the typed new date of a postponement, then ask the reason."""
    message = update.effective_message
    assert message is not None
    when = parse_when(text, context)
    if when is None or when <= utcnow():
        await message.reply_text(bad_date(when, context))
        return
    async with context.db.session() as session:
        event = await event_by_id(session, int(data["id"]))
    if event is None:
        await clear_step(update, context)
        await message.reply_text(GONE)
        return
    if when == event.inicio:
        await message.reply_text(SAME_DATE.format(example=date_example(context)))
        return
    await save_step(update, context, "aplazar_motivo", {**data, "inicio": when.isoformat()})
    await message.reply_text(ASK_POSTPONE_REASON.format(limit=MAX_REASON))


async def apply_edit(
    update: Update, context: CabildoContext, data: dict[str, Any], text: str
) -> None:
    """Save the typed new value of a field; a new date or place is told to everyone."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    field = data["campo"]
    value: Any = text
    if field == "inicio":
        value = parse_when(text, context)
        if value is None or value <= utcnow():
            await message.reply_text(bad_date(value, context))
            return
    elif field == "capacidad":
        if not text.isdigit() or int(text) > 100_000:
            await message.reply_text(BAD_PLACES)
            return
        value = int(text) or None
    told = 0
    async with context.db.session() as session:
        event = await event_by_id(session, int(data["id"]))
        if event is None or is_called_off(event):
            await clear_step(update, context)
            await message.reply_text(GONE if event is None else CANCELLED_NO_CHANGE)
            return
        moved = await edit_event(session, event=event, field=field, value=value, actor_id=user.id)
        if field in ("inicio", "lugar"):
            told = await tell_change(session, context.settings, event, changed=True)
    await clear_step(update, context)
    if moved:
        await notify_promoted(context.db, context.settings, event, moved)
    if field in ("inicio", "lugar"):
        more = SAVED_NOTICE.format(people=people_text(told)) if told else SAVED_NOBODY
    elif len(moved) == 1:
        more = SAVED_PROMOTED_ONE
    else:
        more = SAVED_PROMOTED.format(count=len(moved)) if moved else ""
    await message.reply_text(SAVED.format(more=more).strip())


async def ask_field(update: Update, context: CabildoContext, tap: StaffEventField) -> None:
    """Ask the new value of one field of an event."""
    await save_step(update, context, "editar", {"id": tap.event, "campo": tap.field})
    await edit(update, ASK_FIELD[tap.field].format(
        limit=MAX_TITLE, city=escape(context.settings.municipality_name),
        example=date_example(context),
    ))


async def finish_confirmed(update: Update, context: CabildoContext, *, postpone: bool) -> None:
    """Cancel or postpone the event, as confirmed, and tell everyone once."""
    data = await step_data(update, context, "aplazar_ok" if postpone else "cancelar_ok")
    if data is not None:
        await _finish(update, context, data, postpone)
