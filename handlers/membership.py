"""The bot's own membership: blocked or unblocked by a person, added to or removed from groups.

Telegram tells the bot (`my_chat_member` updates) when its status in a chat changes:
- a person blocks the bot: their row is marked `blocked_at`, so no audience, alert or
  broadcast counts them (nothing can be sent to say so); unblocking clears the mark at
  once (or creates the row). No message on unblock: Telegram shows the person «Reiniciar»,
  which sends /start and its welcome anyway;
- the bot is added to a group or supergroup (not promoted, not already linked): one short
  note through the outbox, a few seconds later, says what it does there and how a leader
  or staff member links it with /vincular; the same update twice queues it once;
- the bot is removed from (or leaves) a group: the group's links made until then are
  dropped, and audited when there were any; nothing is sent, it could not be.
When a group becomes a supergroup its chat id changes: the service message in the old chat
(`migrate_to_chat_id`) and the one in the new chat (`migrate_from_chat_id`) each move the
links to the new id (audited); whichever comes second finds nothing left to move. Telegram
also says the bot "joined" the new supergroup: the move withdraws that note if still queued.

Updates can come twice or out of order (several instances behind one webhook): every step
compares Telegram's dates with what is stored, and repeating one changes nothing. When in
doubt a person stays reachable: a wrong guess costs one refused message, after which the
outbox marks them blocked, whereas a wrong block would silently drop their alerts.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape

from telegram import ChatMember, ChatMemberRestricted, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, ChatMemberHandler, MessageHandler, filters

from bot.context import CabildoContext
from storage.citizens import mark_bot_blocked, mark_bot_unblocked
from storage.groups import WELCOME_DEDUPE, forget_group, group_joined, move_group
from storage.outbox import enqueue
from storage.types import utcnow

ADDED_TO_GROUP = (
    "👋 Hola. Soy <b>Cabildo</b>, el canal de rendición de cuentas de la Alcaldía de {city}.\n\n"
    "En este grupo puedo enviar las alertas de una comuna: cambios en sus obras, eventos y "
    "avisos. Para activarlas, quien administre el grupo y sea líder comunal o trabaje en la "
    "Alcaldía envía aquí /vincular (desde la Alcaldía, con la comuna: /vincular 4). "
    "Para dejar de recibirlas: /desvincular\n\n"
    "Las consultas se hacen por chat privado: @{bot}"
)
# The note waits a moment in the outbox: when a group becomes a supergroup, Telegram also
# says the bot was "added" to the new chat, and the move of its links withdraws the note.
WELCOME_DELAY = timedelta(seconds=5)
GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)
PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def _present(member: ChatMember) -> bool:
    """Tell whether this status means the bot is in the chat (and, in private, not blocked)."""
    if isinstance(member, ChatMemberRestricted):
        return member.is_member
    return member.status in PRESENT


async def follow_membership(update: Update, context: CabildoContext) -> None:
    """Record that a person blocked or unblocked the bot, or that a group added or removed it."""
    change = update.my_chat_member
    if change is None:
        return
    chat, at = change.chat, change.date
    was, now = _present(change.old_chat_member), _present(change.new_chat_member)
    if chat.type == ChatType.PRIVATE:
        async with context.db.session() as session:
            if now:
                await mark_bot_unblocked(session, telegram_id=chat.id, chat_id=chat.id, at=at)
            else:
                await mark_bot_blocked(session, telegram_id=chat.id, chat_id=chat.id, at=at)
        return
    if chat.type not in GROUP_TYPES:
        return  # channels: the bot has nothing to do there
    actor = change.from_user.id if change.from_user and not change.from_user.is_bot else None
    async with context.db.session() as session:
        if not now:
            await forget_group(session, group_id=chat.id, actor_id=actor, at=at)
            return
        linked = await group_joined(session, group_id=chat.id, at=at)
        if not was and not linked:
            text = ADDED_TO_GROUP.format(
                city=escape(context.settings.municipality_name), bot=context.bot.username
            )
            await enqueue(
                session, chat_ids=[chat.id], payload={"text": text},
                dedupe=f"{WELCOME_DEDUPE}:{int(at.timestamp())}",
                not_before=utcnow() + WELCOME_DELAY,
            )


async def follow_migration(update: Update, context: CabildoContext) -> None:
    """Move a group's links to its new chat id when it becomes a supergroup."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    sender = message.from_user
    actor = sender.id if sender and not sender.is_bot else None
    async with context.db.session() as session:
        await move_group(session, old_id=old, new_id=new, actor_id=actor)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    ChatMemberHandler(follow_membership, ChatMemberHandler.MY_CHAT_MEMBER),
    MessageHandler(filters.StatusUpdate.MIGRATE, follow_migration),
]
