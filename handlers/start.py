"""Welcome, main menu, help and cancel: the bot's front door."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import CabildoContext
from handlers import events, goals, participation, question_browse, surveys, works
from handlers.answers import outside_lines
from handlers.flows import TOPIC_FLOW
from handlers.keyboards import back_to_menu, main_menu
from storage.citizens import touch_citizen
from storage.conversations import clear_state, get_state

WELCOME = (
    "👋 Hola{name}. Soy <b>Cabildo</b>, el canal de rendición de cuentas de la "
    "Alcaldía de {city}.\n\n"
    "Aquí puede ver cómo van las metas del plan de desarrollo, el presupuesto y las obras, "
    "conocer la agenda de eventos y enviar sus preguntas.\n\n"
    "Elija una opción:"
)
MENU = "¿Qué quiere consultar? Elija una opción:"
HELP = (
    "ℹ️ <b>Cómo usar Cabildo</b>\n\n"
    "Escriba su pregunta como se la haría a una persona: «¿cuánto avance tiene el puente "
    "de…?», «¿quién es el contratista del colegio…?», «¿cuándo es la audiencia?», «¿qué "
    "significa apropiación?». También puede tocar un botón del menú o escribir un comando:\n"
    "{commands}\n\n"
    "{contacts}\n\n"
    "Datos de {city}. Sus datos personales se tratan según la Ley 1581 de 2012."
)

# What a deep link names, for the note when it opens nothing (deleted item, mistyped link).
LINK_NOUNS = {
    "meta": "esa meta", "obra": "esa obra", "evento": "ese evento", "encuesta": "esa encuesta",
    "pregunta": "esa respuesta publicada", "pp": "esa votación de presupuestos participativos",
}
LINK_GONE = "🔗 No encontré {what}: el enlace puede estar vencido o mal copiado."
LINK_UNKNOWN = "🔗 No reconozco ese enlace."
# Goal and work codes are upper-case; a link retyped in lower case still opens them.
UPPER_CODES = {"meta", "obra"}
IN_A_GROUP = (
    "En los grupos solo envío las alertas de una comuna (quien administra el grupo las activa "
    "con /vincular). Para consultar metas, obras, presupuesto o eventos, escríbame en privado: "
    "@{bot}"
)
CANCELLED = "Listo, cancelé lo que estaba haciendo."
NOTHING_TO_CANCEL = "No hay nada en curso para cancelar."
def help_text(context: CabildoContext) -> str:
    """Return the help, with where to go for what is not accountability (from settings)."""
    contacts = "\n".join(line for pointer in ("pqrsd", "tramites", "emergencias")
                         for line in outside_lines(pointer, context))
    return HELP.format(city=escape(context.settings.municipality_name),
                       commands=context.bot_data.menus.help,
                       contacts=contacts)


async def start(update: Update, context: CabildoContext) -> None:
    """Greet the person, remember their chat, and show the main menu or a deep-linked item."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None or message is None:
        return
    if chat.type != chat.PRIVATE:
        # The person's row keeps their private chat: alerts and answers must not go here.
        await message.reply_text(IN_A_GROUP.format(bot=context.bot.username))
        return
    async with context.db.session() as session:
        await touch_citizen(session, telegram_id=user.id, chat_id=chat.id)
    payload = context.args[0] if context.args else ""
    prefix, _, key = payload.partition("_")
    opener = DEEP_LINKS.get(prefix)
    if opener is not None and key:
        if await opener(update, context, key):
            return
        if prefix in UPPER_CODES and key != key.upper() and await opener(
            update, context, key.upper()
        ):
            return
    if payload:
        noun = LINK_NOUNS.get(prefix)
        await message.reply_text(LINK_GONE.format(what=noun) if noun else LINK_UNKNOWN)
    name = f", {escape(user.first_name)}" if user.first_name else ""
    await message.reply_text(
        WELCOME.format(name=name, city=escape(context.settings.municipality_name)),
        reply_markup=main_menu(),
    )


async def menu(update: Update, context: CabildoContext) -> None:
    """Show the main menu."""
    if update.effective_message:
        await update.effective_message.reply_text(MENU, reply_markup=main_menu())


async def help_command(update: Update, context: CabildoContext) -> None:
    """Explain in plain language what the bot does."""
    if update.effective_message:
        await update.effective_message.reply_text(
            help_text(context),
            reply_markup=back_to_menu(),
        )


async def cancel(update: Update, context: CabildoContext) -> None:
    """Leave whatever multi-step flow the person is in."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None or message is None:
        return
    async with context.db.session() as session:
        state = await get_state(session, chat_id=chat.id, user_id=user.id)
        await clear_state(session, chat_id=chat.id, user_id=user.id)
    # The subject of the last answer is no flow the person started: nothing to cancel.
    had_flow = state is not None and state.flow != TOPIC_FLOW
    await message.reply_text(CANCELLED if had_flow else NOTHING_TO_CANCEL, reply_markup=main_menu())


async def menu_button(update: Update, context: CabildoContext) -> None:
    """Show the main menu again, or the help, from a button."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    area = (query.data or "").removeprefix("menu:")
    message = update.effective_message
    if message is None:
        return
    if area == "inicio":
        await message.reply_text(MENU, reply_markup=main_menu())
    else:
        await message.reply_text(
            help_text(context),
            reply_markup=back_to_menu(),
        )


# `/start <prefix>_<key>` opens that item (links shared from an item's "Compartir" button).
DEEP_LINKS: dict[str, Callable[[Update, CabildoContext, str], Awaitable[bool]]] = {
    "meta": goals.open_goal,
    "obra": works.open_work,
    "evento": events.open_event,
    "encuesta": surveys.open_survey,
    "pregunta": question_browse.open_question,
    "pp": participation.open_comuna_link,
}

HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(menu_button, pattern=r"^menu:(inicio|ayuda)$"),
]
