"""Webhook redelivery and polling after a crash: the same update_id is answered once.

Telegram sends an update again when our 200 did not reach it in time, and behind a load
balancer the copy may land on another instance. The copy is dropped before it is queued,
so it is never handled; a later update of the same chat, handled in order after where the
copy would have been, shows that nothing else came of it. In polling mode a bot killed
before it confirmed its offset is served the same batch again when it restarts.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot.config import Settings
from bot.localapi import LocalBotAPI
from storage import seen_updates
from storage.db import Database
from storage.seen_updates import SEEN, first_sighting
from storage.types import utcnow
from tests.utils.harness import polling_bot
from tests.utils.webhook import instances

HELP = "Cómo usar Cabildo"
MY_DATA = "No tengo ningún dato suyo guardado"


def _replies(api: LocalBotAPI, chat: int, words: str) -> int:
    return sum(1 for c in api.calls_to(chat, {"sendMessage"})
               if c.ok and words in c.params["text"])


async def test_the_same_update_delivered_twice_to_two_instances_is_answered_once(
    settings: Settings, api: LocalBotAPI
) -> None:
    async with instances(settings, api, count=2) as [first, second]:
        update = api.user(701).send_text("/mis_datos", enqueue=False)
        for instance in (first, first, second, second):  # every copy gets Telegram's 200
            assert await instance.post(update) == 200
        # A new update of the same chat on each instance is handled after where a copy
        # would be (one chat's updates are handled in order).
        await first.deliver(api.user(701).send_text("/ayuda", enqueue=False))
        await second.deliver(api.user(701).send_text("/ayuda", enqueue=False))
        await api.wait_for("sendMessage", chat_id=701, count=3)
        async with asyncio.timeout(15):
            while _replies(api, 701, HELP) < 2:
                await asyncio.sleep(0.01)
        assert _replies(api, 701, HELP) == 2
        assert _replies(api, 701, MY_DATA) == 1


async def test_a_restarted_polling_bot_fetching_its_last_batch_again_answers_it_once(
    settings: Settings, api: LocalBotAPI
) -> None:
    """After kill -9 the offset was never confirmed: Telegram serves those updates again."""
    batch = [api.user(702).send_text("/mis_datos", enqueue=False),
             api.user(703).send_text("/ayuda", enqueue=False)]
    async with polling_bot(settings, api, http=True):
        for update in batch:
            api.enqueue(update)
        await api.wait_for("sendMessage", chat_id=703)
        await api.wait_for("sendMessage", chat_id=702)
    # the restart: the same batch, then a new update
    async with polling_bot(settings, api, http=True):
        for update in batch:
            api.enqueue(update)
        api.user(702).send_text("/ayuda")
        async with asyncio.timeout(15):
            while _replies(api, 702, HELP) < 1:
                await asyncio.sleep(0.01)
    assert _replies(api, 702, MY_DATA) == 1
    assert _replies(api, 703, HELP) == 1


async def test_seen_updates_are_pruned_after_an_hour(db: Database) -> None:
    long_ago = utcnow() - timedelta(hours=2)
    async with db.session() as session:
        for update_id in range(1, 100):
            assert await first_sighting(session, update_id, now=long_ago)
        assert not await first_sighting(session, 5, now=long_ago + timedelta(minutes=30))
        # An hour later the same id is a different update (ids are recycled after a pause).
        assert await first_sighting(session, 7, now=utcnow())
        assert await first_sighting(session, seen_updates.PRUNE_EVERY * 3)
        conn = await session.connection()
        kept = (await conn.execute(select(func.count()).select_from(SEEN))).scalar_one()
    assert kept == 2  # update 7 seen again just now, and the one that pruned the rest
