"""Personal data: consent notice, `/mis_datos` and `/borrar_datos` (Ley 1581 de 2012)."""

from __future__ import annotations

import contextlib
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import CabildoContext
from bot.formatting import local_datetime
from handlers.keyboards import main_menu
from storage.privacy import delete_personal_data, give_consent, has_consent, personal_data

NOTICE = (
    "🔒 <b>Sus datos personales</b>\n\n"
    "Para {action}, la Alcaldía de {city} guarda su id de Telegram y lo que usted elija "
    "(comuna, temas, respuestas). Los usa solo para este servicio y no los comparte. "
    "Puede verlos con /mis_datos y borrarlos con /borrar_datos cuando quiera "
    "(Ley 1581 de 2012).{policy}\n\n¿Está de acuerdo?"
)
POLICY = '\n<a href="{url}">Política de tratamiento de datos</a>.'
ACCEPTED = "Gracias. Ya puede {action}."
DECLINED = "Entendido. Puede seguir consultando la información sin dar sus datos."
ALREADY_ACCEPTED = "Ya aceptó el tratamiento de sus datos. Véalos con /mis_datos."
NOTHING_KEPT = "No tengo ningún dato suyo guardado, aparte de esta conversación."
CONFIRM_DELETE = (
    "¿Seguro que quiere borrar sus datos? Se borran sus suscripciones, inscripciones a eventos "
    "y el vínculo con sus preguntas, respuestas a encuestas y votos (quedan anónimos en los "
    "totales). Esto no se puede deshacer."
)
DELETED = "Listo: borré sus datos. Si vuelve a escribir, empezamos de cero."
KEPT_DATA = "Sus datos no se borraron."
DEFAULT_ACTION = "usar las funciones personales"
KINDS = {"comuna": "comuna", "tema": "tema", "obra": "obra", "meta": "meta"}


def consent_keyboard() -> InlineKeyboardMarkup:
    """Return the accept/decline buttons of the consent notice."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("✅ Acepto", callback_data="priv:acepto"),
        InlineKeyboardButton("No, gracias", callback_data="priv:no"),
    ]])


async def ensure_consent(update: Update, context: CabildoContext, action: str) -> bool:
    """Return True if the person consented; otherwise show the notice and return False."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return False
    async with context.db.session() as session:
        if await has_consent(session, telegram_id=user.id):
            return True
    policy = context.settings.privacy_policy_url
    await message.reply_text(
        NOTICE.format(
            action=escape(action),
            city=escape(context.settings.municipality_name),
            policy=POLICY.format(url=escape(policy)) if policy else "",
        ),
        reply_markup=consent_keyboard(),
    )
    return False


async def consent_answer(update: Update, context: CabildoContext) -> None:
    """Record the answer to the consent notice."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    await query.answer()
    if query.data == "priv:acepto":
        async with context.db.session() as session:
            await give_consent(session, telegram_id=user.id, chat_id=chat.id)
        text = ACCEPTED.format(action=DEFAULT_ACTION)
    else:
        text = DECLINED
    with contextlib.suppress(BadRequest):  # a double tap: the notice already shows it
        await query.edit_message_text(text)


async def privacy(update: Update, context: CabildoContext) -> None:
    """Show the personal-data notice, or when the person already accepted it."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    if await ensure_consent(update, context, DEFAULT_ACTION):
        await message.reply_text(ALREADY_ACCEPTED)


async def my_data(update: Update, context: CabildoContext) -> None:
    """Show everything the bot keeps about the person."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    async with context.db.session() as session:
        data = await personal_data(session, telegram_id=user.id)
    if data is None:
        await message.reply_text(NOTHING_KEPT)
        return
    tz, locale = context.settings.tz, context.settings.locale
    consent = local_datetime(data.consent_at, tz, locale) if data.consent_at else "no ha aceptado"
    subs = ", ".join(f"{KINDS.get(k, k)} {escape(v)}" for k, v in data.subscriptions) or "ninguna"
    lines = [
        "🔒 <b>Lo que guardo sobre usted</b>",
        f"Id de Telegram: {data.telegram_id}",
        f"Rol: {data.role}",
        f"Nombre: {escape(data.first_name)}" if data.first_name else "Nombre: no lo guardo",
        f"Comuna: {escape(data.comuna)}" if data.comuna else "Comuna: no la ha indicado",
        f"Primer contacto: {local_datetime(data.created_at, tz, locale)}",
        f"Aceptó el tratamiento de datos: {consent}",
        f"Suscripciones: {subs}",
        f"Inscripciones a eventos: {data.registrations}",
        f"Preguntas enviadas: {data.questions}",
        f"Encuestas respondidas (no anónimas): {data.survey_responses}",
        f"Votos en presupuestos participativos: {data.ballots}",
        "",
        "Para borrarlo todo: /borrar_datos",
    ]
    await message.reply_text("\n".join(lines))


async def delete_data(update: Update, context: CabildoContext) -> None:
    """Ask for confirmation before deleting the person's data."""
    if update.effective_message is None:
        return
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton("🗑️ Sí, borrar", callback_data="priv:borrar"),
        InlineKeyboardButton("Cancelar", callback_data="priv:conservar"),
    ]])
    await update.effective_message.reply_text(CONFIRM_DELETE, reply_markup=keyboard)


async def delete_confirmed(update: Update, context: CabildoContext) -> None:
    """Delete the person's data after they confirmed, or keep it if they cancelled."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    text = KEPT_DATA
    if query.data == "priv:borrar":
        async with context.db.session() as session:
            await delete_personal_data(session, telegram_id=user.id)
        text = DELETED
    with contextlib.suppress(BadRequest):  # a double tap: done already, and harmless
        await query.edit_message_text(text, reply_markup=main_menu())


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("privacidad", privacy),
    CommandHandler("mis_datos", my_data),
    CommandHandler("borrar_datos", delete_data),
    CallbackQueryHandler(consent_answer, pattern=r"^priv:(acepto|no)$"),
    CallbackQueryHandler(delete_confirmed, pattern=r"^priv:(borrar|conservar)$"),
]
