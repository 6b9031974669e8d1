"""`/alertas`: subscribe to comunas and topics; and the alerts that data changes cause."""

from __future__ import annotations

import contextlib
from html import escape

from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.config import Settings
from bot.context import CabildoContext
from bot.formatting import number
from handlers.events import is_corregimiento, place_name
from handlers.keyboards import back_to_menu
from handlers.privacy import ensure_consent
from storage import outbox
from storage.alerts import TOPICS, ItemChange, alerts_for_import, subscriptions_of, toggle
from storage.db import Database
from storage.importers import ImportResult
from storage.models import Comuna

TOPIC_NAMES = {
    "obras": "🏗️ Obras", "eventos": "📅 Eventos", "contratacion": "📑 Contratación",
    "resumen": "🗞️ Resumen semanal", "encuestas": "📝 Encuestas",
}
INTRO = (
    "🔔 <b>Alertas</b>\nToque un tema o una comuna para activar (✅) o quitar sus alertas.\n"
    "Comunas activas: {comunas}."
)
ACTION = "recibir alertas"
FIELD_NAMES = {"estado": "estado", "avance_fisico": "avance físico", "avance": "logrado"}
ALERT_TITLE = "🔔 <b>Cambios en lo que usted sigue</b>"
MAX_LINES = 15


async def _keyboard(context: CabildoContext, chat_id: int) -> tuple[str, InlineKeyboardMarkup]:
    async with context.db.session() as session:
        subs = await subscriptions_of(session, chat_id=chat_id)
        comunas = (await session.exec(select(Comuna).order_by(col(Comuna.id)))).all()
    topic_buttons = [
        InlineKeyboardButton(("✅ " if ("tema", t) in subs else "") + TOPIC_NAMES[t],
                             callback_data=f"alr:t:{t}")
        for t in TOPICS
    ]
    comuna_buttons = [
        InlineKeyboardButton(("✅ " if ("comuna", c.codigo) in subs else "")
                             + place_name(c, short=True),
                             callback_data=f"alr:c:{c.codigo}")
        for c in comunas
    ]
    rows = [topic_buttons[i : i + 2] for i in range(0, len(topic_buttons), 2)]
    rows += [comuna_buttons[i : i + 2] for i in range(0, len(comuna_buttons), 2)]
    rows += [list(row) for row in back_to_menu().inline_keyboard]
    active = [place_name(c, short=True) if is_corregimiento(c) else f"{c.codigo} {c.nombre}"
              for c in comunas if ("comuna", c.codigo) in subs]
    text = INTRO.format(comunas=escape(", ".join(active)) if active else "ninguna")
    return text, InlineKeyboardMarkup(rows)


async def show_alerts(update: Update, context: CabildoContext) -> None:
    """Show the person's subscriptions as toggles (after consent)."""
    chat = update.effective_chat
    if chat is None or update.effective_message is None:
        return
    if update.callback_query:
        await update.callback_query.answer()
    if not await ensure_consent(update, context, ACTION):
        return
    text, keyboard = await _keyboard(context, chat.id)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def toggle_alert(update: Update, context: CabildoContext) -> None:
    """Switch a topic or comuna subscription and redraw the toggles."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    await query.answer()
    _, kind, value = (query.data or "::").split(":", 2)
    if not await ensure_consent(update, context, ACTION):
        return
    async with context.db.session() as session:
        valid = value in TOPICS if kind == "t" else (
            await session.exec(select(Comuna).where(Comuna.codigo == value))
        ).first() is not None
        if valid:
            await toggle(session, chat_id=chat.id, kind="tema" if kind == "t" else "comuna",
                         value=value)
    text, keyboard = await _keyboard(context, chat.id)
    with contextlib.suppress(BadRequest):  # a double tap that ends where it started
        await query.edit_message_text(text, reply_markup=keyboard)


def _value(item: ItemChange, value: object, locale: str) -> str:
    if isinstance(value, int | float):
        shown = number(value, locale)
        return f"{shown} %" if item.field == "avance_fisico" else shown
    return escape(str(value))


def alert_text(items: list[ItemChange], settings: Settings) -> str:
    """Write one alert message listing every change a chat should hear about."""
    lines = [ALERT_TITLE]
    for item in items[:MAX_LINES]:
        icon = "🏗️" if item.kind == "obra" else "🎯"
        name = item.name if len(item.name) <= 80 else item.name[:79] + "…"
        lines.append(f"{icon} {escape(name)}: {FIELD_NAMES.get(item.field, item.field)} "
                     f"{_value(item, item.old, settings.locale)} → "
                     f"{_value(item, item.new, settings.locale)}")
    if len(items) > MAX_LINES:
        lines.append(f"… y {len(items) - MAX_LINES} cambios más.")
    lines.append("\nPara cambiar sus alertas: /alertas")
    return "\n".join(lines)


async def queue_change_alerts(
    db: Database, settings: Settings, result: ImportResult, *, import_ref: str
) -> int:
    """Queue one alert per affected chat for an import's changes; return how many."""
    async with db.session() as session:
        per_chat = await alerts_for_import(session, result)
        queued = 0
        for chat_id, items in per_chat.items():
            queued += await outbox.enqueue(
                session, chat_ids=[chat_id], payload={"text": alert_text(items, settings)},
                kind="alerta", dedupe=f"cambios:{import_ref}",
            )
    return queued


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("alertas", show_alerts),
    CallbackQueryHandler(show_alerts, pattern=r"^menu:alertas$"),
    CallbackQueryHandler(toggle_alert, pattern=r"^alr:[tc]:[A-Za-z0-9]{1,20}$"),
]
