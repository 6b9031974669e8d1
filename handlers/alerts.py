"""`/alertas`: subscribe to comunas and topics; and the alerts that data changes cause.

Buttons (`handlers.callbacks`, `alr:`): `AlertTopic` and `AlertComuna` switch one topic's or
one comuna's alerts.
"""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.config import Settings
from bot.context import CabildoContext
from bot.formatting import local_date, money_short, number, percent, reported_percent
from handlers.callbacks import AlertComuna, AlertTopic, button, on_press
from handlers.event_card import is_corregimiento, place_name
from handlers.keyboards import back_to_menu
from handlers.privacy import ensure_consent
from storage import outbox
from storage.alerts import TOPICS, ItemChange, alerts_for_import, subscriptions_of, toggle
from storage.comunas import all_comunas, comuna_by_code
from storage.db import Database
from storage.importers import ImportResult

TOPIC_NAMES = {
    "obras": "🏗️ Obras", "eventos": "📅 Eventos", "contratacion": "📑 Contratación",
    "resumen": "🗞️ Resumen semanal", "encuestas": "📝 Encuestas",
}
INTRO = (
    "🔔 <b>Alertas</b>\nToque un tema o una comuna para activar (✅) o quitar sus alertas.\n"
    "Comunas activas: {comunas}."
)
ACTION = "recibir alertas"
FIELD_NAMES = {
    "estado": "estado", "avance_fisico": "avance físico", "avance": "logrado",
    "avance_financiero": "avance financiero", "valor_contrato": "valor del contrato",
    "fecha_inicio": "inicio", "fecha_fin_prevista": "fin previsto", "enlace_secop": "enlace",
    "descripcion": "descripción", "contratista": "contratista",
}
PERCENT_FIELDS = ("avance_fisico", "avance_financiero")
ALERT_TITLE = "🔔 <b>Cambios en lo que usted sigue</b>"
MAX_LINES = 15


async def _keyboard(context: CabildoContext, chat_id: int) -> tuple[str, InlineKeyboardMarkup]:
    async with context.db.session() as session:
        subs = await subscriptions_of(session, chat_id=chat_id)
        comunas = await all_comunas(session)
    topic_buttons = [
        button(("✅ " if ("tema", t) in subs else "") + TOPIC_NAMES[t], AlertTopic(t))
        for t in TOPICS
    ]
    comuna_buttons = [
        button(("✅ " if ("comuna", c.codigo) in subs else "") + place_name(c, short=True),
               AlertComuna(c.codigo))
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


async def toggle_alert(
    update: Update, context: CabildoContext, tap: AlertTopic | AlertComuna
) -> None:
    """Switch a topic or comuna subscription and redraw the toggles."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    kind, value = ("t", tap.topic) if isinstance(tap, AlertTopic) else ("c", tap.comuna)
    if not await ensure_consent(update, context, ACTION):
        return
    async with context.db.session() as session:
        valid = value in TOPICS if kind == "t" else (
            await comuna_by_code(session, value)
        ) is not None
        if valid:
            await toggle(session, chat_id=chat.id, kind="tema" if kind == "t" else "comuna",
                         value=value)
    text, keyboard = await _keyboard(context, chat.id)
    with contextlib.suppress(BadRequest):  # a double tap that ends where it started
        await query.edit_message_text(text, reply_markup=keyboard)


def change_value(field: str, value: object, locale: str) -> str:
    """Show one value of a changed field: pesos, a date, a percentage, or the text."""
    if value is None and field == "avance_fisico":
        return reported_percent(None, locale)  # a source that publishes none: never «0 %»
    if value is None or value == "":
        return "(vacío)"
    if field in PERCENT_FIELDS and isinstance(value, int | float | Decimal):
        return percent(value, locale)
    if isinstance(value, Decimal):
        return money_short(value, locale)
    if isinstance(value, date):
        return local_date(value, locale)
    if isinstance(value, int | float):
        return number(value, locale)
    return escape(str(value))


def describe_changes(changes: list[tuple[str, object, object]], locale: str) -> str:
    """Write one item's changed fields on one line: `estado A → B; fin previsto C → D`."""
    return "; ".join(
        f"{FIELD_NAMES.get(name, name.replace('_', ' '))} {change_value(name, old, locale)} → "
        f"{change_value(name, new, locale)}"
        for name, old, new in changes
    )


def alert_text(items: list[ItemChange], settings: Settings) -> str:
    """Write one alert message listing every change a chat should hear about, a line an item."""
    per_item: dict[tuple[str, str], list[ItemChange]] = {}
    for item in items:
        per_item.setdefault((item.kind, item.key), []).append(item)
    lines = [ALERT_TITLE]
    for changes in list(per_item.values())[:MAX_LINES]:
        first = changes[0]
        icon = "🏗️" if first.kind == "obra" else "🎯"
        name = first.name if len(first.name) <= 80 else first.name[:79] + "…"
        fields = describe_changes([(c.field, c.old, c.new) for c in changes], settings.locale)
        lines.append(f"{icon} {escape(name)}: {fields}")
    if len(per_item) > MAX_LINES:
        lines.append(f"… y {len(per_item) - MAX_LINES} cambios más.")
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
    CallbackQueryHandler(show_alerts, pattern=r"^menu:alertas$"),
    on_press(AlertTopic, toggle_alert),
    on_press(AlertComuna, toggle_alert),
]
