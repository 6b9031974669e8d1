"""Blocking, groups the bot leaves or joins, and groups that change chat id: the stored side."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from storage import outbox
from storage.broadcasts import Audience, count_recipients, recipients
from storage.citizens import get_citizen, mark_bot_blocked, mark_bot_unblocked
from storage.db import Database
from storage.groups import forget_group, group_joined, link_group, move_group
from storage.models import AuditEntry, Citizen, OutboxMessage, Subscription
from storage.roles import set_role
from storage.types import utcnow
from tests.storage.helpers import seed_comunas

OLD, NEW = -4001, -1004001


async def _audit(db: Database, action: str) -> list[AuditEntry]:
    async with db.session() as s:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return list((await s.exec(query.order_by(col(AuditEntry.id)))).all())


async def test_block_and_unblock_follow_telegrams_dates_not_arrival_order(db: Database) -> None:
    now = utcnow().replace(microsecond=0)
    second = timedelta(seconds=1)
    async with db.session() as s:
        assert await mark_bot_unblocked(s, telegram_id=7, chat_id=7, at=now)
        assert await recipients(s, Audience("todos")) == [7]
        # A block from before the unblock, handled after it: stale, nothing changes.
        assert not await mark_bot_blocked(s, telegram_id=7, chat_id=7, at=now - second)
        assert await recipients(s, Audience("todos")) == [7]
        # In the same second as the last sighting it counts (Telegram dates are seconds).
        assert await mark_bot_blocked(s, telegram_id=7, chat_id=7, at=now)
        assert await mark_bot_blocked(s, telegram_id=7, chat_id=7, at=now + 9 * second)
        citizen = await get_citizen(s, telegram_id=7)
        assert citizen is not None and citizen.blocked_at == now  # the first date stays
        assert await recipients(s, Audience("todos")) == []
        assert not await mark_bot_unblocked(s, telegram_id=7, chat_id=7, at=now - second)
        assert await recipients(s, Audience("todos")) == []
        assert await mark_bot_unblocked(s, telegram_id=7, chat_id=7, at=now + second)
        assert await recipients(s, Audience("todos")) == [7]


async def test_unblocking_reaches_a_person_named_before_writing_and_a_refused_send(
    db: Database,
) -> None:
    await seed_comunas(db)
    async with db.session() as s:
        await set_role(s, actor_id=None, telegram_id=900010, role="lider", comuna="4")
        assert await recipients(s, Audience("lideres")) == []
        assert await mark_bot_unblocked(
            s, telegram_id=900010, chat_id=900010, at=utcnow() + timedelta(seconds=2)
        )
        assert await recipients(s, Audience("lideres")) == [900010]
        # The outbox meets a 403 later: an unblock dated before that refusal is stale.
        await outbox.enqueue(s, chat_ids=[900010], payload={"text": "hola"})
        [row] = await outbox.reserve(s, by="test", limit=1)
        assert await outbox.hand_over(s, [row.id], by="test") == {row.id}
        refused = utcnow()
        await outbox.settle(s, [outbox.Outcome(row.id, row.chat_id, outbox.BLOCKED)], by="test")
        assert not await mark_bot_unblocked(
            s, telegram_id=900010, chat_id=900010, at=refused - timedelta(seconds=5)
        )
        assert await recipients(s, Audience("lideres")) == []


async def test_a_group_the_bot_leaves_loses_its_links_once_and_comes_back_when_added(
    db: Database,
) -> None:
    await seed_comunas(db)
    async with db.session() as s:
        await link_group(s, group_id=OLD, actor_id=1, actor_role="staff", comuna="4")
        # Someone sent /start inside the group, so a row points at the group's chat.
        s.add(Citizen(telegram_id=55, chat_id=OLD))
        await s.commit()
        later = utcnow() + timedelta(seconds=3)
        assert await forget_group(s, group_id=OLD, actor_id=1, at=later) == ["4"]
        assert await forget_group(s, group_id=OLD, actor_id=1, at=later) == []
        assert await recipients(s, Audience("todos")) == []
        assert await group_joined(s, group_id=OLD, at=later + timedelta(seconds=1)) == []
        assert await recipients(s, Audience("todos")) == [OLD]
    [entry] = await _audit(db, "desvincular_grupo")
    assert entry.detail == {"grupo": OLD, "comunas": ["4"], "motivo": "el bot salió del grupo"}


async def test_moving_a_group_carries_links_rows_and_pending_messages_once(
    db: Database,
) -> None:
    await seed_comunas(db)
    async with db.session() as s:
        for comuna in ("4", "5"):
            await link_group(s, group_id=OLD, actor_id=1, actor_role="staff", comuna=comuna)
        await link_group(s, group_id=NEW, actor_id=1, actor_role="staff", comuna="4")
        s.add(Citizen(telegram_id=56, chat_id=OLD))
        await s.commit()
        await outbox.enqueue(s, chat_ids=[OLD], payload={"text": "alerta"}, dedupe="a")
        await outbox.enqueue(s, chat_ids=[NEW], payload={"text": "hola"},
                             dedupe="grupo_agregado:1")
        assert await move_group(s, old_id=OLD, new_id=NEW, actor_id=9) == ["4", "5"]
        assert await move_group(s, old_id=OLD, new_id=NEW, actor_id=9) == []
        links = (await s.exec(select(Subscription).order_by(col(Subscription.value)))).all()
        assert [(x.chat_id, x.value) for x in links] == [(NEW, "4"), (NEW, "5")]
        rows = (await s.exec(select(OutboxMessage))).all()
        assert [(r.chat_id, r.payload["text"]) for r in rows] == [(NEW, "alerta")]
        citizen = await get_citizen(s, telegram_id=56)
        assert citizen is not None and citizen.chat_id == NEW
    [entry] = await _audit(db, "migrar_grupo")
    assert (entry.actor_id, entry.detail) == (9, {"grupo": OLD, "nuevo": NEW,
                                                  "comunas": ["4", "5"]})


async def test_the_preview_count_is_the_number_of_people_a_broadcast_reaches(
    db: Database,
) -> None:
    # The preview counts in the database; the send lists the chats: a blocked follower of
    # a comuna, a blocked leader and a person following twice count as they are sent.
    await seed_comunas(db)
    now = utcnow()
    async with db.session() as s:
        for chat in (11, 12, 13, 14):
            assert await mark_bot_unblocked(s, telegram_id=chat, chat_id=chat, at=now)
        await set_role(s, actor_id=None, telegram_id=13, role="lider", comuna="4")
        await set_role(s, actor_id=None, telegram_id=14, role="lider", comuna="4")
        for chat, value in ((11, "4"), (11, "5"), (12, "4"), (14, "4")):
            s.add(Subscription(chat_id=chat, kind="comuna", value=value, created_at=now))
        s.add(Subscription(chat_id=99, kind="comuna", value="4", created_at=now))  # a group
        await s.commit()
        assert await mark_bot_blocked(s, telegram_id=12, chat_id=12, at=now + timedelta(seconds=1))
        assert await mark_bot_blocked(s, telegram_id=14, chat_id=14, at=now + timedelta(seconds=1))
        audiences = {
            Audience("todos"): [11, 13],
            Audience("lideres"): [13],
            Audience("comuna", ("4", "5")): [11, 99],
            Audience("nadie"): [],
        }
        for audience, reached in audiences.items():
            assert await recipients(s, audience) == reached
            assert await count_recipients(s, audience) == len(reached)
