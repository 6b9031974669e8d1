"""Staff and admin tools available so far: the panel and role changes.

Access is checked by `handlers.access` before these run; they assume the role is right.
"""

from __future__ import annotations

import io
from html import escape

from telegram import (
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import CabildoContext
from bot.formatting import plural
from handlers.access import current_role
from storage.roles import RoleError, set_role
from storage.stats import data_counts
from storage.works import places_csv, works_without_comuna

PANEL = (
    "🛠️ <b>Panel de funcionarios</b>\n\n"
    "Datos cargados: {metas} metas, {presupuesto} rubros de presupuesto, {obras} obras, "
    "{eventos} eventos, {contratacion} procesos, {informes} informes.\n{unplaced}\n"
    "<b>Diálogo</b>\n"
    "/preguntas — preguntas ciudadanas pendientes, las más apoyadas primero, por tema o "
    "dependencia, y el archivo para el moderador de la audiencia; "
    "/responder &lt;n&gt; &lt;texto&gt;, "
    "/duplicada &lt;n&gt; &lt;m&gt;, /publicar &lt;n&gt;\n"
    "/evento — crear un evento; cambiarlo, aplazarlo o cancelarlo; tomar asistencia\n"
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
UNPLACED = (
    "⚠️ <b>{count}</b>: no salen en el mapa ni en las listas por comuna (SECOP no dice "
    "dónde quedan). Descargue el archivo con el botón «📍 Obras sin comuna», escriba la "
    "comuna de cada una (y la dirección o las coordenadas si las sabe) y envíelo con el "
    "comentario <code>/importar ubicaciones</code>. Las filas que deje sin comuna quedan como "
    "estaban, y una nueva importación de SECOP no borra lo que escriba.\n"
)
PLACES_CAPTION = (
    "{count}. Escriba la comuna (número o nombre) en cada fila que sepa, y la dirección o la "
    "latitud y longitud si las tiene; la columna «nombre» es solo para reconocerlas. Envíe "
    "el archivo con el comentario <code>/importar ubicaciones</code>."
)
NONE_UNPLACED = "✅ Todas las obras tienen comuna."
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
        unplaced = len(await works_without_comuna(session))
    role = await current_role(update, context)
    buttons = [[InlineKeyboardButton("🗳️ Presupuestos participativos: resultados",
                                     callback_data="staff:pp:i")]]
    if unplaced:
        buttons.insert(0, [InlineKeyboardButton("📍 Obras sin comuna (CSV)",
                                                callback_data="staff:sinubicar")])
    await message.reply_text(
        PANEL.format(
            metas=counts.metas, presupuesto=counts.presupuesto, obras=counts.obras,
            eventos=counts.eventos, contratacion=counts.contratacion, informes=counts.informes,
            rol=ROL_LINE["admin" if role == "admin" else "staff"],
            unplaced=UNPLACED.format(count=plural(unplaced, "obra sin comuna",
                                                  "obras sin comuna")) if unplaced else "",
        ),
        reply_markup=InlineKeyboardMarkup(buttons),
    )


async def send_unplaced(update: Update, context: CabildoContext) -> None:
    """Send staff the CSV of works without comuna, to fill and import as `ubicaciones`."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    await query.answer()
    async with context.db.session() as session:
        works = await works_without_comuna(session)
    if not works:
        await context.bot.send_message(query.message.chat.id, NONE_UNPLACED)
        return
    await context.bot.send_document(
        query.message.chat.id,
        InputFile(io.BytesIO(places_csv(works)), filename="obras-sin-comuna.csv"),
        caption=PLACES_CAPTION.format(count=plural(len(works), "obra sin comuna",
                                                   "obras sin comuna")),
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
    scope = BotCommandScopeChat(chat_id)
    try:
        if staff:
            await context.bot.set_my_commands(context.bot_data.menus.staff, scope=scope)
        else:
            await context.bot.delete_my_commands(scope=scope)
    except TelegramError:
        # The person may never have opened the bot; the menu is set again next time.
        pass


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    # Staff only: the `staff:` prefix is checked by handlers.access before this runs.
    CallbackQueryHandler(send_unplaced, pattern=r"^staff:sinubicar$"),
]
