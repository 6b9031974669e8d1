"""Staff and admin tools available so far: the panel and role changes.

Access is checked by `handlers.access` before these run; they assume the role is right.
"""

from __future__ import annotations

from html import escape

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler

from bot.context import CabildoContext
from handlers.access import current_role
from storage.roles import RoleError, set_role
from storage.stats import data_counts

STAFF_COMMANDS = [
    BotCommand("panel", "Panel de funcionarios"),
    BotCommand("preguntas", "Preguntas ciudadanas por responder"),
    BotCommand("responder", "Responder: /responder <n> <texto>"),
    BotCommand("evento", "Crear o cambiar un evento"),
    BotCommand("difundir", "Enviar un mensaje a una audiencia"),
    BotCommand("resultados", "Resultados de una encuesta"),
    BotCommand("resumen", "Ver y aprobar el resumen semanal"),
    BotCommand("importar", "Cargar datos desde un archivo"),
    BotCommand("estado", "Estado del bot: envíos, tareas y personas"),
    BotCommand("rol", "Dar un rol: /rol <id> <rol> [comuna]"),
]
PANEL = (
    "🛠️ <b>Panel de funcionarios</b>\n\n"
    "Datos cargados: {metas} metas, {presupuesto} rubros de presupuesto, {obras} obras, "
    "{eventos} eventos, {contratacion} procesos, {informes} informes.\n\n"
    "<b>Diálogo</b>\n"
    "/preguntas — preguntas ciudadanas pendientes; /responder &lt;n&gt; &lt;texto&gt;, "
    "/duplicada &lt;n&gt; &lt;m&gt;, /publicar &lt;n&gt;\n"
    "/evento — crear un evento o cambiar fecha, lugar o cupos de uno\n"
    "/resultados — resultados de las encuestas, con gráfica y archivo CSV\n\n"
    "<b>Difusión</b>\n"
    "/difundir — mensaje a todas las personas, o por comuna, tema, líderes o evento\n"
    "/resumen — ver y aprobar el resumen semanal\n\n"
    "<b>Datos y permisos</b>\n"
    "/importar &lt;tipo&gt; — en el comentario de un archivo CSV o XLSX (una encuesta en JSON "
    "o YAML): cargar datos (todo o nada)\n"
    "/estado — si los mensajes salen, si las tareas programadas corren y a quién llega el bot\n"
    "{rol}"
)
ROL_LINE = {
    "admin": "/rol &lt;id&gt; &lt;rol&gt; [comuna] — dar un rol (ciudadano, líder, staff, "
             "admin); un líder necesita su comuna.",
    "staff": "/rol &lt;id&gt; lider &lt;comuna&gt; — nombrar a un líder de su comuna; "
             "/rol &lt;id&gt; ciudadano — quitarle ese rol.",
}
ROLE_NAMES = {"ciudadano": "ciudadano", "lider": "líder", "staff": "staff", "admin": "admin"}
ROL_USAGE = (
    "Escriba: /rol &lt;id de Telegram&gt; &lt;rol&gt; [comuna]\n"
    "Ejemplos: <code>/rol 123456789 staff</code> · <code>/rol 123456789 lider 4</code>"
)
ROL_DONE = "Listo: la persona {id} ahora tiene el rol <b>{role}</b>{comuna} (antes: {old})."


async def panel(update: Update, context: CabildoContext) -> None:
    """Show staff what is loaded and which tools they have."""
    message = update.effective_message
    if message is None:
        return
    async with context.db.session() as session:
        counts = await data_counts(session)
    role = await current_role(update, context)
    await message.reply_text(
        PANEL.format(
            metas=counts.metas, presupuesto=counts.presupuesto, obras=counts.obras,
            eventos=counts.eventos, contratacion=counts.contratacion, informes=counts.informes,
            rol=ROL_LINE["admin" if role == "admin" else "staff"],
        ),
        reply_markup=InlineKeyboardMarkup([
            [InlineKeyboardButton("🗳️ Presupuestos participativos: resultados",
                                  callback_data="staff:pp:i")],
        ]),
    )


async def grant_role(update: Update, context: CabildoContext) -> None:
    """Give a person a role (`/rol <id> <rol> [comuna]`) and update their command menu."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    args = context.args or []
    if len(args) < 2 or not args[0].lstrip("-").isdigit():
        await message.reply_text(ROL_USAGE)
        return
    target, role = int(args[0]), args[1].lower()
    role = {"líder": "lider", "funcionario": "staff", "administrador": "admin"}.get(role, role)
    actor_role = await current_role(update, context)
    try:
        async with context.db.session() as session:
            change = await set_role(
                session, actor_id=user.id, actor_role=actor_role, telegram_id=target,
                role=role, comuna=args[2] if len(args) > 2 else None,
                admin_ids=context.settings.admin_ids,
            )
    except RoleError as exc:
        await message.reply_text(escape(str(exc)))
        return
    await _update_command_menu(context, target, staff=role in ("staff", "admin"))
    comuna = f" en la comuna {change.comuna}" if change.comuna else ""
    await message.reply_text(
        ROL_DONE.format(id=target, role=ROLE_NAMES.get(change.new, change.new), comuna=comuna,
                        old=ROLE_NAMES.get(change.old, change.old))
    )


async def _update_command_menu(context: CabildoContext, chat_id: int, *, staff: bool) -> None:
    """Show staff commands in a staff member's own chat menu, and only there."""
    from bot.app import CITIZEN_COMMANDS  # the citizen list lives with the app's wiring

    scope = BotCommandScopeChat(chat_id)
    try:
        if staff:
            await context.bot.set_my_commands([*CITIZEN_COMMANDS, *STAFF_COMMANDS], scope=scope)
        else:
            await context.bot.delete_my_commands(scope=scope)
    except TelegramError:
        # The person may never have opened the bot; the menu is set again next time.
        pass


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("panel", panel),
    CommandHandler("rol", grant_role),
]
