"""The weekly management summary: composed from the week's changes, previewed and approved.

`/resumen` (staff) shows this week's summary with a button to send it to everyone
subscribed to the topic "resumen". The scheduler (`bot.scheduler`) either sends it by itself
or asks staff to approve it, depending on WEEKLY_SUMMARY_MODE. However often it is approved,
each person gets one summary per week (outbox dedupe key `resumen:<semana>`).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from html import escape
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.config import Settings
from bot.context import CabildoContext
from bot.formatting import local_date, local_datetime, money, number
from storage.broadcasts import Audience, create_broadcast, recipients
from storage.db import Database
from storage.roles import staff_ids
from storage.summary import FieldChange, WeekData, iso_week, week_data

AUDIENCE = Audience("tema", ("resumen",))
TITLE = "🗞️ <b>Resumen semanal de la gestión — {city}</b>\nSemana del {start} al {end}."
NOTHING = "Esta semana no hubo cambios en los datos publicados."
PREVIEW = "Así se verá el resumen ({count} suscritos):\n\n{text}"
SENT = "✅ Resumen de la semana {week} en cola para {count} personas."
ALREADY = "El resumen de la semana {week} ya se había enviado; no se repite."
APPROVAL = "🕒 Es hora del resumen semanal. Revíselo y apruébelo:\n\n{text}"
MAX_ITEMS = 6
FIELD_NAMES = {"estado": "estado", "avance_fisico": "avance físico", "avance": "logrado"}


def _value(change: FieldChange, value: Any, locale: str) -> str:
    if change.field == "avance_fisico" and isinstance(value, int | float):
        return f"{number(value, locale)} %"
    if isinstance(value, int | float):
        return number(value, locale)
    return escape(str(value))


def _short(text: str, limit: int = 70) -> str:
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


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
        more = len(data.works) + len(data.new_works) - 2 * MAX_ITEMS
        if more > 0:
            lines.append(f"• y {more} cambios más en /obras")
    if data.goals:
        lines += ["", f"🎯 <b>Metas del plan</b>: {len(data.goals)} metas actualizadas"]
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
    return "\n".join(lines)[:4000]


async def current_summary(db: Database, settings: Settings, now: datetime) -> tuple[str, int]:
    """Return this week's summary text and how many subscribers it would reach."""
    async with db.session() as session:
        data = await week_data(session, end=now)
        count = len(await recipients(session, AUDIENCE))
    return compose(data, settings), count


async def send_summary(
    db: Database, settings: Settings, *, now: datetime, actor_id: int
) -> tuple[str, int]:
    """Queue this week's summary for the subscribers; return the week and how many queued."""
    week = iso_week(now.astimezone(settings.tz))
    text, _ = await current_summary(db, settings, now)
    async with db.session() as session:
        _, queued = await create_broadcast(
            session, created_by=actor_id, audience=AUDIENCE, text=text,
            dedupe=f"resumen:{week}", tag={"resumen": week},
        )
    return week, queued


def _approve_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("✅ Enviar a los suscritos", callback_data="staff:res:ok"),
    ]])


async def preview(update: Update, context: CabildoContext) -> None:
    """Show staff this week's summary with a button to send it."""
    message = update.effective_message
    if message is None:
        return
    now = datetime.now(context.settings.tz)
    text, count = await current_summary(context.db, context.settings, now)
    await message.reply_text(PREVIEW.format(count=count, text=text),
                             reply_markup=_approve_keyboard())


async def approve(update: Update, context: CabildoContext) -> None:
    """Send this week's summary (once per week, however many times it is approved)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    now = datetime.now(context.settings.tz)
    week, queued = await send_summary(context.db, context.settings, now=now, actor_id=user.id)
    text = SENT.format(week=week, count=queued) if queued else ALREADY.format(week=week)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text)


async def ask_approval(bot: Bot, db: Database, settings: Settings, now: datetime) -> None:
    """Send staff the summary to approve (WEEKLY_SUMMARY_MODE=aprobacion)."""
    text, _ = await current_summary(db, settings, now)
    async with db.session() as session:
        staff = set(await staff_ids(session)) | set(settings.admin_ids)
    for chat_id in sorted(staff):
        with contextlib.suppress(TelegramError):  # one unreachable staff member is not fatal
            await bot.send_message(chat_id, APPROVAL.format(text=text),
                                   reply_markup=_approve_keyboard())


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("resumen", preview),
    CallbackQueryHandler(approve, pattern=r"^staff:res:ok$"),
]
