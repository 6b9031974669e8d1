"""`/vincular` and `/desvincular` in a junta's group: comuna alerts for the whole group.

Only leaders and staff get here (`handlers.access`); in addition the person must be an
administrator of the group in Telegram, and a leader may only link their own comuna.
"""

from __future__ import annotations

from html import escape

from telegram import ChatMember, Update

from bot.context import CabildoContext
from handlers.access import current_role
from storage.groups import LinkError, link_group, unlink_group

ONLY_IN_GROUPS = "Use este comando dentro del grupo de su junta, después de agregar el bot."
ONLY_ADMINS = "Solo quien administra el grupo puede vincularlo a una comuna."
LINKED = (
    "✅ Este grupo recibirá las alertas de la comuna {code} - {name}. "
    "Para dejar de recibirlas: /desvincular"
)
UNLINKED = "Listo: este grupo ya no recibirá alertas de comunas."
ADMIN_STATUSES = (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


async def _may_manage_group(update: Update, context: CabildoContext) -> bool:
    """Tell whether this is a group and the sender administers it; explain if not."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None:
        return False
    if chat.type not in (chat.GROUP, chat.SUPERGROUP):
        await message.reply_text(ONLY_IN_GROUPS)
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    if member.status not in ADMIN_STATUSES:
        await message.reply_text(ONLY_ADMINS)
        return False
    return True


async def link(update: Update, context: CabildoContext) -> None:
    """Link this group to a comuna (the leader's own, or the one staff name)."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None:
        return
    if not await _may_manage_group(update, context):
        return
    role = await current_role(update, context)
    try:
        async with context.db.session() as session:
            comuna = await link_group(
                session, group_id=chat.id, actor_id=user.id, actor_role=role,
                comuna=context.args[0] if context.args else None,
            )
    except LinkError as exc:
        await message.reply_text(escape(str(exc)))
        return
    await message.reply_text(LINKED.format(code=comuna.codigo, name=escape(comuna.nombre)))


async def unlink(update: Update, context: CabildoContext) -> None:
    """Stop comuna alerts for this group."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None:
        return
    if not await _may_manage_group(update, context):
        return
    async with context.db.session() as session:
        await unlink_group(session, group_id=chat.id, actor_id=user.id)
    await message.reply_text(UNLINKED)

