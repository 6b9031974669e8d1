"""The outbox sender: every recipient settled exactly once, nothing delivered twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlmodel import col, select
from telegram import Bot

from bot.config import Settings
from bot.delivery import OutboxSender
from bot.localapi import LocalBotAPI, LocalRequest
from storage import outbox
from storage.db import Database
from storage.models import Citizen, OutboxMessage
from tests.utils.harness import TEST_TOKEN, polling_bot

N = 2000


@pytest.fixture
def api() -> LocalBotAPI:
    return LocalBotAPI()


@pytest.fixture
async def bot(api: LocalBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TEST_TOKEN, request=LocalRequest(api)) as bot:
        yield bot


def _sender(bot: Bot, db: Database, **kwargs: object) -> OutboxSender:
    options: dict[str, object] = {"rate_per_second": 5000, "backoff_base": 0.01,
                                  "batch_size": 200, "concurrency": 32}
    options.update(kwargs)
    return OutboxSender(bot, db, **options)  # type: ignore[arg-type]


def _delivered(api: LocalBotAPI) -> Counter[int]:
    return Counter(c.params["chat_id"] for c in api.calls if c.method == "sendMessage" and c.ok)


async def test_broadcast_with_floods_blocks_and_timeouts_settles_everyone_once(
    bot: Bot, api: LocalBotAPI, db: Database
) -> None:
    chats = list(range(10_000, 10_000 + N))
    async with db.session() as s:
        s.add_all(Citizen(telegram_id=c, chat_id=c) for c in chats[:100])
        await s.commit()
        assert await outbox.enqueue(s, chat_ids=chats, payload={"text": "Audiencia el martes"},
                                    dedupe="b1") == N
        # Queuing the same broadcast again adds nothing.
        assert await outbox.enqueue(s, chat_ids=chats, payload={"text": "x"}, dedupe="b1") == 0
    api.fail("sendMessage", "retry_after", times=2, retry_after=1)
    for chat in chats[:40]:
        api.fail("sendMessage", "forbidden", chat_id=chat)
    for chat in chats[40:70]:
        api.fail("sendMessage", "timeout", chat_id=chat)  # once: the retry goes through
    for chat in chats[70:75]:
        api.fail("sendMessage", "server_error", chat_id=chat, times=10)  # never recovers
    api.fail("sendMessage", "bad_request", chat_id=chats[75],
             description="Bad Request: chat not found")

    sender = _sender(bot, db)
    for _ in range(20):
        await sender.drain()
        async with db.session() as s:
            counts = await outbox.status_counts(s)
        if counts["pendiente"] == 0:
            break
        await asyncio.sleep(0.1)  # rows waiting for their retry time

    assert counts == {"pendiente": 0, "enviando": 0, "enviado": N - 46, "fallido": 5,
                      "bloqueado": 41}
    delivered = _delivered(api)
    assert max(delivered.values()) == 1
    assert len(delivered) == N - 46
    async with db.session() as s:
        blocked = (
            await s.exec(select(Citizen).where(col(Citizen.blocked_at).is_not(None)))
        ).all()
        rows = (
            await s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chats[0]))
        ).all()
    assert len(blocked) == 41 and rows[0].status == "bloqueado"
    # A blocked citizen gets nothing new queued.
    async with db.session() as s:
        assert await outbox.enqueue(s, chat_ids=chats[:50], payload={"text": "otro"}) == 10


async def test_a_sender_killed_halfway_and_restarted_sends_the_rest_once(
    bot: Bot, api: LocalBotAPI, db: Database
) -> None:
    chats = list(range(20_000, 20_000 + 600))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=chats, payload={"text": "Recordatorio"})
    first = _sender(bot, db, rate_per_second=2000, batch_size=20, concurrency=4)
    task = asyncio.create_task(first.drain())
    while len(_delivered(api)) < 200:
        await asyncio.sleep(0.005)
    task.cancel()  # the process dies mid-broadcast
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.session() as s:
        interrupted = await outbox.settle_interrupted(s, older_than=timedelta(0))
    second = _sender(bot, db)
    await second.drain()

    delivered = _delivered(api)
    assert max(delivered.values()) == 1
    async with db.session() as s:
        counts = await outbox.status_counts(s)
    assert counts["pendiente"] == counts["enviando"] == 0
    assert counts["enviado"] + counts["fallido"] == 600
    assert counts["fallido"] == interrupted
    # Rows in flight at the crash may or may not have reached Telegram: they are settled as
    # failed ("interrumpido") and never resent, so nobody gets the message twice.
    assert counts["enviado"] <= len(delivered) <= counts["enviado"] + interrupted


async def test_the_running_bot_drains_the_outbox_over_http(
    settings: Settings, db: Database
) -> None:
    api = LocalBotAPI()
    async with polling_bot(settings, api):
        async with db.session() as s:
            await outbox.enqueue(
                s, chat_ids=[31, 32, -1001234], payload={"text": "Feria el sábado"}
            )
        calls = await api.wait_for("sendMessage", count=3)
    assert sorted(c.params["chat_id"] for c in calls) == [-1001234, 31, 32]
    assert all(c.params["text"] == "Feria el sábado" for c in calls)


async def test_a_group_gets_evenly_spaced_messages_while_private_chats_are_not_held_up(
    bot: Bot, api: LocalBotAPI, db: Database
) -> None:
    group, people = -100777, list(range(40_000, 40_010))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=[group], payload={"text": "Aviso 1"}, dedupe="g1")
        await outbox.enqueue(s, chat_ids=[group], payload={"text": "Aviso 2"}, dedupe="g2")
        await outbox.enqueue(s, chat_ids=[group], payload={"text": "Aviso 3"}, dedupe="g3")
        await outbox.enqueue(s, chat_ids=people, payload={"text": "Aviso"})
    # 240 a minute = one every 0.25 s (the real setting is 20 a minute: one every 3 s).
    await _sender(bot, db, group_per_minute=240).drain()

    sends = [c for c in api.calls if c.method == "sendMessage" and c.ok]
    to_group = [c.at for c in sends if c.params["chat_id"] == group]
    to_people = [c.at for c in sends if c.params["chat_id"] != group]
    assert len(to_group) == 3 and len(to_people) == 10
    gaps = [b - a for a, b in pairwise(to_group)]
    assert min(gaps) >= 0.24  # never two inside one interval: no burst into a group
    assert max(to_people) < to_group[-1]  # people did not wait for the group's pace


async def test_a_malformed_message_fails_alone_and_the_rest_of_its_batch_is_settled(
    bot: Bot, api: LocalBotAPI, db: Database
) -> None:
    chats = list(range(30_000, 30_010))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=chats, payload={"text": "Aviso"})
        await outbox.enqueue(s, chat_ids=[30_999], payload={"texto": "sin el campo text"})
    await _sender(bot, db).drain()

    assert sorted(_delivered(api)) == chats
    async with db.session() as s:
        rows = {r.chat_id: r for r in (await s.exec(select(OutboxMessage))).all()}
    assert all(rows[c].status == "enviado" for c in chats)
    assert rows[30_999].status == "fallido"
    assert rows[30_999].last_error == "no se pudo preparar: KeyError"
