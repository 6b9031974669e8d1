"""The weekly management summary: composed from the week's changes, previewed and approved.

`/resumen` (staff) shows this week's summary with a button to send it to everyone
subscribed to the topic "resumen" and one to close it; with nobody subscribed it says so and
offers only «Cerrar». The scheduler (`bot.scheduler`) either sends it by itself
or asks staff to approve it, depending on WEEKLY_SUMMARY_MODE. However often it is approved,
the week's summary is broadcast once (a `resumen-enviado` job claim per ISO week, taken in
the same transaction as the broadcast) and each person gets it once (outbox dedupe key
`resumen:<semana>`). Once sent, `/resumen` shows when and what, without a send button.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.config import Settings
from bot.context import CabildoContext
from bot.formatting import (
    clip,
    local_date,
    local_datetime,
    money,
    number,
    plural,
    reported_percent,
)
from storage import outbox
from storage.broadcasts import Audience, count_recipients, create_broadcast
from storage.db import Database
from storage.models import Broadcast
from storage.roles import staff_ids
from storage.summary import (
    FieldChange,
    WeekData,
    claim_week,
    sent_summary,
    summary_week,
    week_data,
)

AUDIENCE = Audience("tema", ("resumen",))
TITLE = "🗞️ <b>Resumen semanal de la gestión — {city}</b>\nSemana del {start} al {end}."
NOTHING = "Esta semana no hubo cambios en los datos publicados."
PREVIEW = "Así se verá el resumen ({count}):\n\n{text}"
SENT = "✅ Resumen de la semana {week} en cola para {count}."
ALREADY = "El resumen de la semana {week} ya se había enviado; no se repite."
ALREADY_SENT = (
    "✅ El resumen de la semana {week} ya se envió el {when}; sale una sola vez por semana. "
    "Esto fue lo que se envió:\n\n{text}"
)
NO_SUBSCRIBERS = "Todavía nadie sigue el resumen semanal; no se envió nada."
NOBODY_PREVIEW = (
    "Todavía nadie sigue el resumen semanal, así que no hay a quién enviarlo. Cualquiera lo "
    "activa en /alertas («Resumen semanal»). Así se vería:\n\n{text}"
)
CLOSE = "✖️ Cerrar"
CLOSED = "Listo, no envié el resumen."
APPROVAL = "🕒 Es hora del resumen semanal. Revíselo y apruébelo:\n\n{text}"
MAX_ITEMS = 6
MESSAGE_LIMIT = 4096  # Telegram's limit for one message
MAX_LENGTH = 3800  # leaves room for the preview's or the approval request's first line
FIELD_NAMES = {"estado": "estado", "avance_fisico": "avance físico", "avance": "logrado"}


def _value(change: FieldChange, value: Any, locale: str) -> str:
    if change.field == "avance_fisico" and value is None:
        return reported_percent(None, locale)
    if change.field == "avance_fisico" and isinstance(value, int | float):
        return f"{number(value, locale)} %"
    if isinstance(value, int | float):
        return number(value, locale)
    return escape(str(value))


def _short(text: str, limit: int = 70) -> str:
    return escape(clip(text, limit))


def compose(data: WeekData, settings: Settings) -> str:
    """Write the week's summary in plain language, within one message."""
    tz, locale = settings.tz, settings.locale
    lines = [TITLE.format(city=escape(settings.municipality_name),
                          start=local_date(data.start.astimezone(tz).date(), locale),
                          end=local_date(data.end.astimezone(tz).date(), locale))]
    if data.empty:
        return "\n".join([*lines, "", NOTHING])
    if data.works or data.new_works:
        lines += ["", "🏗️ <b>Obras</b>"]
        for c in data.works[:MAX_ITEMS]:
            lines.append(f"• {_short(c.name)}: {FIELD_NAMES.get(c.field, c.field)} "
                         f"{_value(c, c.old, locale)} → {_value(c, c.new, locale)}")
        lines += [f"• Nueva: {_short(w.nombre)}" for w in data.new_works[:MAX_ITEMS]]
        more = (len(data.works) - min(len(data.works), MAX_ITEMS)
                + len(data.new_works) - min(len(data.new_works), MAX_ITEMS))
        if more > 0:
            lines.append(f"• y {plural(more, 'cambio más', 'cambios más')} en /obras")
    if data.goals:
        updated = plural(len(data.goals), "meta actualizada", "metas actualizadas")
        lines += ["", f"🎯 <b>Metas del plan</b>: {updated}"]
        for c in data.goals[:3]:
            lines.append(f"• {_short(c.name)}: {_value(c, c.old, locale)} → "
                         f"{_value(c, c.new, locale)}")
    if data.new_processes:
        lines += ["", "📑 <b>Nuevos procesos de contratación</b>"]
        for p in data.new_processes[:MAX_ITEMS]:
            lines.append(f"• {_short(p.objeto)} ({escape(p.modalidad)}, {money(p.valor, locale)})")
    if data.events:
        lines += ["", "📅 <b>Próximos eventos</b>"]
        for e in data.events[:MAX_ITEMS]:
            lines.append(f"• {_short(e.titulo)} — {local_datetime(e.inicio, tz, locale)}")
    while len("\n".join(lines)) > MAX_LENGTH and len(lines) > 2:  # whole lines: HTML stays valid
        lines[-2:] = ["…"]
    return "\n".join(lines)


async def current_summary(db: Database, settings: Settings, now: datetime) -> tuple[str, int]:
    """Return this week's summary text and how many subscribers it would reach."""
    async with db.session() as session:
        data = await week_data(session, end=now)
        count = await count_recipients(session, AUDIENCE)
    return compose(data, settings), count


@dataclass(frozen=True)
class Outcome:
    """What approving the summary did: the week, and the broadcast made (None if none)."""

    week: str
    broadcast: Broadcast | None
    queued: int = 0
    subscribers: int = 0


async def queue_summary(
    db: Database, settings: Settings, *, now: datetime, actor_id: int
) -> Outcome:
    """Queue this week's summary, at most once per week; return what was done.

    Nothing is created (no broadcast, no audit entry, no report) if the week already went
    out, nobody is subscribed, or another approval (a double tap) got there first.
    """
    week = _week(now, settings)
    text, count = await current_summary(db, settings, now)
    if count == 0:
        return Outcome(week, None)
    async with db.session() as session:
        if not await claim_week(session, week=week, by=f"{actor_id}"):
            return Outcome(week, None, subscribers=count)
        broadcast, queued = await create_broadcast(
            session, created_by=actor_id, audience=AUDIENCE, text=text,
            dedupe=f"resumen:{week}", tag={"resumen": week},
        )
    return Outcome(week, broadcast, queued, count)


async def send_summary(
    db: Database, settings: Settings, *, now: datetime, actor_id: int
) -> tuple[str, int]:
    """Queue this week's summary for the subscribers; return the week and how many queued."""
    outcome = await queue_summary(db, settings, now=now, actor_id=actor_id)
    return outcome.week, outcome.queued


def _week(now: datetime, settings: Settings) -> str:
    """Return the summary's week: that of the latest due moment (as the scheduler counts)."""
    return summary_week(now, tz=settings.tz, weekday=settings.weekly_summary_day,
                        at=settings.weekly_summary_time)


def _approve_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("✅ Aprobar y enviar", callback_data="staff:res:ok"),
        InlineKeyboardButton(CLOSE, callback_data="staff:res:x"),
    ]])


async def preview(update: Update, context: CabildoContext) -> None:
    """Show staff this week's summary with a button to send it."""
    message = update.effective_message
    if message is None:
        return
    settings = context.settings
    now = datetime.now(settings.tz)
    week = _week(now, settings)
    async with context.db.session() as session:
        sent = await sent_summary(session, week=week)
    if sent is not None:
        when = local_datetime(sent.created_at, settings.tz, settings.locale)
        text = ALREADY_SENT.format(week=week, when=when, text=sent.text)
        if len(text) > MESSAGE_LIMIT:  # an old, longer summary: say when, not what
            text = text[: text.index("Esto fue")].rstrip()
        await message.reply_text(text)
        return
    text, count = await current_summary(context.db, settings, now)
    if count == 0:  # nothing to approve: say so, and offer only a way out
        await message.reply_text(NOBODY_PREVIEW.format(text=text), reply_markup=(
            InlineKeyboardMarkup([[InlineKeyboardButton(CLOSE, callback_data="staff:res:x")]])))
        return
    await message.reply_text(
        PREVIEW.format(count=plural(count, "persona con esta alerta",
                                    "personas con esta alerta"), text=text),
        reply_markup=_approve_keyboard(),
    )


async def close(update: Update, context: CabildoContext) -> None:
    """Close the summary's preview without sending anything."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(CLOSED)


async def approve(update: Update, context: CabildoContext) -> None:
    """Send this week's summary (once per week, however many times it is approved)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    now = datetime.now(context.settings.tz)
    outcome = await queue_summary(context.db, context.settings, now=now, actor_id=user.id)
    if outcome.broadcast is not None:
        text = SENT.format(week=outcome.week,
                           count=plural(outcome.queued, "persona", "personas"))
    elif outcome.subscribers == 0:
        text = NO_SUBSCRIBERS
    else:
        text = ALREADY.format(week=outcome.week)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text)


async def ask_approval(db: Database, settings: Settings, now: datetime, *, week: str) -> None:
    """Queue for staff the summary to approve (WEEKLY_SUMMARY_MODE=aprobacion), once a week."""
    text, _ = await current_summary(db, settings, now)
    async with db.session() as session:
        staff = set(await staff_ids(session)) | set(settings.admin_ids)
        await outbox.enqueue(
            session, chat_ids=sorted(staff),
            payload={"text": APPROVAL.format(text=text),
                     "reply_markup": _approve_keyboard().to_dict()},
            dedupe=f"resumen-aprobacion:{week}",
        )


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(approve, pattern=r"^staff:res:ok$"),
    CallbackQueryHandler(close, pattern=r"^staff:res:x$"),
]
