"""The outbox sender's pace: its rate, a group's turns, rows handed over ahead of their slot."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from bisect import bisect_left
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot

from bot.localapi import LocalBotAPI, LocalRequest
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage
from tests.bot.delivery_support import _delivered, _drain_until_settled, _sender
from tests.bot.delivery_support import api as api  # a fixture: pytest looks for it here
from tests.bot.delivery_support import bot as bot  # a fixture: pytest looks for it here
from tests.utils.harness import TEST_TOKEN

# Transport faults: the bot talks to the fake Bot API over real HTTP here.
pytestmark = pytest.mark.http


class _SlowAnswers(LocalRequest):
    """Telegram takes each message at once and answers a second later."""

    def __init__(self, api: LocalBotAPI) -> None:
        super().__init__(api)
        self.arrived: list[float] = []

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            self.arrived.append(time.time())
        answer = await super().do_request(url, method, *args, **kwargs)
        await asyncio.sleep(1.0)
        return answer


async def test_a_sent_row_records_when_it_left_not_when_telegram_answered(
    api: LocalBotAPI, db: Database
) -> None:
    """The rate is the bot's promise at departure: `sent_at` is when the request left."""
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=[26_000], payload={"text": "Aviso"})
    request = _SlowAnswers(api)
    async with Bot(TEST_TOKEN, request=request) as slow_bot:
        await _sender(slow_bot, db).drain()
    async with db.session() as s:
        row = (await s.exec(select(OutboxMessage))).one()
    assert row.status == "enviado"
    assert row.sent_at is not None
    (arrived,) = request.arrived
    assert abs(row.sent_at.timestamp() - arrived) < 0.5  # not a second later, at the answer


async def test_a_slow_commit_leaves_few_rows_enviando_that_were_not_sent_yet(
    bot: Bot, api: LocalBotAPI, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Measured with real processes on SQLite: killed with 12 rows `enviando` never sent.

    Handing a row over took longer than a slot's tolerance, so each slot was missed and
    every worker waited for another one holding its row `enviando`; a crash then made
    them all `incierto` though they never left. (It also cut the rate to 0.63 of the
    setting.) Rows are now handed over just ahead of their slot, and a row whose slot
    passed goes back to the queue.
    """
    hand_over = outbox.hand_over

    async def slow_commit(session: AsyncSession, ids: object, **kwargs: object) -> set[int]:
        await asyncio.sleep(0.06)
        return await hand_over(session, ids, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "hand_over", slow_commit)
    people = list(range(25_000, 25_300))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=people, payload={"text": "Aviso"})
    task = asyncio.create_task(_sender(bot, db, rate_per_second=50).drain())
    waiting_unsent = []
    async with asyncio.timeout(60):
        while len(_delivered(api)) < 120:
            async with db.session() as s:
                in_flight = (await s.exec(select(OutboxMessage.chat_id).where(
                    OutboxMessage.status == "enviando"))).all()
            delivered = _delivered(api)
            waiting_unsent.append(sum(1 for chat in in_flight if not delivered[chat]))
            await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # At 50 a second, handed over about 0.15 s ahead: a handful of rows (it was 14, with
    # every one of the 32 workers holding a row at times). The median, not the mean: on a
    # machine busy with the rest of the suite, a stall of the sender's loop piles up rows
    # for a moment (the mean once reached 8.5, with half the samples at 6 or less).
    assert statistics.median(waiting_unsent) <= 8, str(waiting_unsent)


async def test_two_senders_with_slow_commits_never_start_more_than_the_rate_in_a_second(
    bot: Bot, api: LocalBotAPI, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows handed over ahead of their slot still leave only at their slot."""
    hand_over = outbox.hand_over

    async def slow_commit(session: AsyncSession, ids: object, **kwargs: object) -> set[int]:
        await asyncio.sleep(0.03)
        return await hand_over(session, ids, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "hand_over", slow_commit)
    rate, people = 20, list(range(26_000, 26_090))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=people, payload={"text": "Aviso"})
    departures: list[float] = []
    senders = [_sender(bot, db, rate_per_second=rate, name=f"instancia-{i}", idle_seconds=0.01)
               for i in range(2)]
    for sender in senders:
        deliver = sender._deliver

        async def timed(row: outbox.Claimed, deliver: object = deliver) -> int:
            departures.append(asyncio.get_running_loop().time())
            return await deliver(row)  # type: ignore[operator, no-any-return]

        monkeypatch.setattr(sender, "_deliver", timed)
    stop = asyncio.Event()
    running = [asyncio.create_task(sender.run(stop)) for sender in senders]
    await api.wait_for("sendMessage", count=len(people), timeout=30)
    stop.set()
    await asyncio.gather(*running)

    departures.sort()
    busiest = max(bisect_left(departures, at + 1.0) - i for i, at in enumerate(departures))
    assert busiest <= rate
    assert _delivered(api) == Counter(dict.fromkeys(people, 1))


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
    # Drained as the sender's loop drains: on a loaded machine a group's row can miss its
    # turn and go back to the queue for the next one (seen on 2 busy cores).
    await _drain_until_settled(_sender(bot, db, group_per_minute=240), db)

    sends = [c for c in api.calls if c.method == "sendMessage" and c.ok]
    to_group = [c.at for c in sends if c.params["chat_id"] == group]
    to_people = [c.at for c in sends if c.params["chat_id"] != group]
    assert len(to_group) == 3 and len(to_people) == 10
    gaps = [b - a for a, b in pairwise(to_group)]
    assert min(gaps) >= 0.24  # never two inside one interval: no burst into a group
    assert max(to_people) < to_group[-1]  # people did not wait for the group's pace


async def test_two_instances_sending_to_one_group_keep_its_pace_together(
    bot: Bot, api: LocalBotAPI, db: Database
) -> None:
    """Each instance kept 20 a minute into a group alone: two together sent it 40."""
    group = -100888
    async with db.session() as s:
        for n in range(6):
            await outbox.enqueue(s, chat_ids=[group], payload={"text": f"Aviso {n}"},
                                 dedupe=f"g{n}")
    # 240 a minute = one every 0.25 s (the real setting is 20 a minute: one every 3 s).
    senders = [_sender(bot, db, group_per_minute=240, name=f"instancia-{i}", batch_size=1,
                       concurrency=2, idle_seconds=0.01) for i in range(2)]
    stop = asyncio.Event()
    running = [asyncio.create_task(sender.run(stop)) for sender in senders]
    await api.wait_for("sendMessage", count=6, timeout=20)
    stop.set()
    await asyncio.gather(*running)

    sends = sorted(c.at for c in api.calls if c.method == "sendMessage" and c.ok)
    assert len(sends) == 6
    async with db.session() as s:
        rows = (await s.exec(select(OutboxMessage))).all()
    assert {r.claimed_by for r in rows} == {"instancia-0", "instancia-1"}  # both sent
    # The group's turns are shared: six requests take five turns, whoever sends them,
    # each leaving at most a third of a turn late (so no minute of 20 holds a 21st).
    assert sends[-1] - sends[0] >= 5 * 0.25
    assert min(b - a for a, b in pairwise(sends)) >= 0.25 * (1 - 1 / 3)


async def test_a_reservation_that_lapses_in_the_senders_hands_is_not_sent_twice(
    bot: Bot, api: LocalBotAPI, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen under load: a row waiting for its slot outlived its reservation, the same sender
    reserved it again, and both copies were handed over in one commit and sent."""
    monkeypatch.setattr(outbox, "RESERVE_LEASE", timedelta(milliseconds=30))
    hand_over = outbox.hand_over

    async def slow_commit(session: AsyncSession, ids: object, **kwargs: object) -> set[int]:
        await asyncio.sleep(0.06)  # a busy machine: hand-overs pile up into one commit
        return await hand_over(session, ids, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "hand_over", slow_commit)
    people = list(range(32_000, 32_080))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=people, payload={"text": "Aviso"})
    sender = _sender(bot, db, rate_per_second=100, batch_size=8, concurrency=16)
    counts = await _drain_until_settled(sender, db)

    assert counts["enviado"] == len(people)
    assert _delivered(api) == dict.fromkeys(people, 1)
