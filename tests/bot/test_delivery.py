"""The outbox sender: every recipient settled exactly once, nothing delivered twice.

The fault tests reproduce what was measured against the real processes: a sender killed
mid-broadcast, sends Telegram accepts but answers after the read timeout, refused
connections and 5xx before acceptance, and the database going away while settling.
The sender's pace (its rate, a group's turns, rows handed over ahead of their slot) is
tested in test_delivery_pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.localapi import LocalBotAPI, LocalBotAPIServer, LocalRequest
from handlers.broadcast import report_message
from storage import outbox
from storage.broadcasts import Audience, create_broadcast
from storage.db import Database
from storage.models import Citizen, OutboxMessage
from storage.types import utcnow
from tests.bot.delivery_support import _delivered, _drain_until_settled, _sender
from tests.bot.delivery_support import api as api  # a fixture: pytest looks for it here
from tests.bot.delivery_support import bot as bot  # a fixture: pytest looks for it here
from tests.utils.harness import TEST_TOKEN, polling_bot

# Transport faults: the bot talks to the fake Bot API over real HTTP here.
pytestmark = pytest.mark.http


N = 2000
ADMIN = 1000


async def _after_the_lease(db: Database) -> outbox.Swept:
    """Run the minute sweep as it runs once a dead sender's leases have run out."""
    async with db.session() as s:
        return await outbox.sweep(s, now=utcnow() + outbox.SEND_LEASE + timedelta(seconds=1))


@pytest.mark.slow
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
        api.fail("sendMessage", "timeout", chat_id=chat)  # no answer: it may have arrived
    for chat in chats[70:75]:
        api.fail("sendMessage", "server_error", chat_id=chat, times=10)  # never recovers
    api.fail("sendMessage", "bad_request", chat_id=chats[75],
             description="Bad Request: chat not found")
    for chat in chats[76:86]:
        api.fail("sendMessage", "connect_error", chat_id=chat)  # once: the retry goes through
    for chat in chats[86:96]:
        api.fail("sendMessage", "server_error", chat_id=chat)  # once: the retry goes through

    counts = await _drain_until_settled(_sender(bot, db), db)

    assert counts == {"pendiente": 0, "enviando": 0, "enviado": N - 76, "fallido": 5,
                      "bloqueado": 41, "incierto": 30}
    delivered = _delivered(api)
    assert max(delivered.values()) == 1
    assert len(delivered) == N - 76
    # A timeout is never retried: one request each, whatever became of it.
    assert all(len(api.calls_to(chat, ["sendMessage"])) == 1 for chat in chats[40:70])
    assert all(len(api.calls_to(chat, ["sendMessage"])) == 5 for chat in chats[70:75])
    async with db.session() as s:
        blocked = (
            await s.exec(select(Citizen).where(col(Citizen.blocked_at).is_not(None)))
        ).all()
        rows = {r.chat_id: r for r in (await s.exec(select(OutboxMessage))).all()}
    assert len(blocked) == 41 and rows[chats[0]].status == "bloqueado"
    assert (rows[chats[40]].last_error or "").startswith(
        "Telegram no respondió a tiempo: pudo llegar"
    )
    # A blocked citizen gets nothing new queued.
    async with db.session() as s:
        assert await outbox.enqueue(s, chat_ids=chats[:50], payload={"text": "otro"}) == 10


@pytest.mark.slow
@pytest.mark.parametrize("killed_after", [1, 137, 400])
async def test_a_sender_killed_mid_broadcast_leaves_each_person_one_message_or_a_record(
    bot: Bot, api: LocalBotAPI, db: Database, killed_after: int
) -> None:
    """Measured: killed at 1,537 of 3,000, 62 people got nothing and 100 rows stayed stuck."""
    people = list(range(20_000, 20_000 + 600))
    async with db.session() as s:
        s.add_all(Citizen(telegram_id=p, chat_id=p) for p in people)
        await s.commit()
        broadcast, _ = await create_broadcast(
            s, created_by=ADMIN, audience=Audience("todos"), text="Recordatorio"
        )
    first = _sender(bot, db, rate_per_second=2000, batch_size=20, concurrency=4)
    task = asyncio.create_task(first.drain())
    async with asyncio.timeout(60):  # a stuck sender fails the test instead of hanging it
        while len(_delivered(api)) < killed_after:
            if task.done():  # a drain ends when nothing is due yet: the bot drains again
                task.result()
                task = asyncio.create_task(first.drain())
            await asyncio.sleep(0.001)
    task.cancel()  # the process dies mid-broadcast: nothing of it runs any more
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.session() as s:
        stuck = await outbox.status_counts(s)
    assert stuck["enviando"] <= 4  # only what was in flight: one row per concurrent send

    swept = await _after_the_lease(db)  # the restarted bot's minute sweep
    second = _sender(bot, db, report=report_message)
    await second.drain()
    await second.report_finished()
    await second.drain()  # the author's report goes through the outbox too

    delivered = _delivered(api)
    async with db.session() as s:
        rows = {r.chat_id: r for r in (await s.exec(
            select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast.id)
        )).all()}
        counts = await outbox.status_counts(s, broadcast_id=broadcast.id)
    assert max(delivered.values()) == 1  # never twice
    for person in people:  # never nothing without a record
        assert rows[person].status in ("enviado", "incierto"), rows[person]
        if rows[person].status == "enviado":
            assert delivered[person] == 1
    # In flight at the crash. (Cancelling a task is not quite kill -9: a settle already on
    # its way to the database may still land, even after the sweep.)
    assert counts["incierto"] <= swept.uncertain <= 4
    assert counts["enviado"] + counts["incierto"] == 600
    [report] = [c for c in api.calls_to(ADMIN, ["sendMessage"]) if c.ok]
    assert f"Difusión #{broadcast.id}</b> — terminada" in report.params["text"]
    assert f"Enviados: {counts['enviado']} " in report.params["text"]
    if counts["incierto"]:
        assert f"Sin confirmar: {counts['incierto']}." in report.params["text"]


async def test_reserved_rows_of_a_dead_sender_go_back_to_the_queue_not_to_incierto(
    bot: Bot, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=range(50_000, 50_020), payload={"text": "Aviso"})
        held = await outbox.reserve(s, by="instancia-muerta", limit=20)
    assert len(held) == 20
    await _sender(bot, db).drain()  # another instance: they are not its to take yet
    assert _delivered(api) == Counter()

    assert await _after_the_lease(db) == outbox.Swept(released=20, uncertain=0)
    await _sender(bot, db).drain()
    assert sorted(_delivered(api).values()) == [1] * 20


async def test_twenty_sends_accepted_but_answered_late_arrive_once_and_are_incierto(
    api: LocalBotAPI, db: Database
) -> None:
    """Measured: an answer after PTB's read timeout sent the same broadcast five times."""
    people = list(range(60_000, 60_020))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=people, payload={"text": "Audiencia pública"})
    api.fail("sendMessage", "slow_accept", times=20)
    api.slow_accept_delay = 0.6
    async with LocalBotAPIServer(api) as server:
        request = HTTPXRequest(connection_pool_size=32, read_timeout=0.3)
        async with Bot(TEST_TOKEN, base_url=f"{server.url}/bot", request=request) as real:
            sender = _sender(real, db)
            counts = await _drain_until_settled(sender, db)
            await _after_the_lease(db)
            await sender.drain()

    assert counts == {**dict.fromkeys(outbox.STATUSES, 0), "incierto": 20}
    assert _delivered(api) == Counter(dict.fromkeys(people, 1))  # 20 messages, 0 twice
    async with db.session() as s:
        rows = (await s.exec(select(OutboxMessage))).all()
    assert {r.status for r in rows} == {"incierto"}


async def test_connection_refused_and_5xx_over_http_are_retried_and_arrive_once(
    api: LocalBotAPI, db: Database
) -> None:
    people = list(range(61_000, 61_010))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=people, payload={"text": "Feria"})
    api.fail("sendMessage", "server_error", times=5)
    api.fail("sendMessage", "connect_error", times=5)  # 503 over HTTP
    async with (
        LocalBotAPIServer(api) as server,
        Bot(TEST_TOKEN, base_url=f"{server.url}/bot") as real,
    ):
        counts = await _drain_until_settled(_sender(real, db), db)
    assert counts["enviado"] == 10
    assert _delivered(api) == Counter(dict.fromkeys(people, 1))


async def test_the_running_bot_drains_the_outbox_over_http(
    settings: Settings, db: Database
) -> None:
    api = LocalBotAPI()
    async with polling_bot(settings, api, http=True):
        async with db.session() as s:
            await outbox.enqueue(
                s, chat_ids=[31, 32, -1001234], payload={"text": "Feria el sábado"}
            )
        calls = await api.wait_for("sendMessage", count=3)
    assert sorted(c.params["chat_id"] for c in calls) == [-1001234, 31, 32]
    assert all(c.params["text"] == "Feria el sábado" for c in calls)


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


class _Flaky(Database):
    """The test database, unreachable while `down` is set (as PostgreSQL stopped would be)."""

    down = False

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if self.down:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused"))
        async with super().session() as session:
            yield session


async def _outage_after(api: LocalBotAPI, flaky: _Flaky, sends: int, seconds: float) -> None:
    while len(_delivered(api)) < sends:
        await asyncio.sleep(0.001)
    flaky.down = True
    await asyncio.sleep(seconds)
    flaky.down = False


async def test_a_database_outage_while_settling_strands_nothing_and_is_logged_once(
    bot: Bot, api: LocalBotAPI, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Measured: PostgreSQL stopped for 20 s left 100 rows `enviando` for good."""
    people = list(range(70_000, 70_150))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=people, payload={"text": "Audiencia"})
    flaky = _Flaky(db.url)
    sender = _sender(bot, flaky, rate_per_second=300, batch_size=10, concurrency=8,
                     idle_seconds=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    with caplog.at_level(logging.INFO):
        await _outage_after(api, flaky, sends=40, seconds=0.8)
        for _ in range(200):
            async with db.session() as s:
                counts = await outbox.status_counts(s)
            if counts["enviado"] == len(people):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await running
    await flaky.dispose()

    assert counts == {**dict.fromkeys(outbox.STATUSES, 0), "enviado": len(people)}
    assert _delivered(api) == Counter(dict.fromkeys(people, 1))
    outage_lines = [r for r in caplog.records if r.name == "cabildo.outages"]
    assert [r.levelname for r in outage_lines] == ["ERROR", "WARNING"]  # down; back
    assert "ConnectionRefusedError" in outage_lines[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]  # no traceback per failure


async def test_a_sender_that_dies_during_an_outage_leaves_its_rows_incierto_not_stuck(
    bot: Bot, api: LocalBotAPI, db: Database
) -> None:
    people = list(range(71_000, 71_100))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=people, payload={"text": "Audiencia"})
    flaky = _Flaky(db.url)
    sender = _sender(bot, flaky, rate_per_second=300, batch_size=10, concurrency=8)
    draining = asyncio.create_task(sender.drain())
    while len(_delivered(api)) < 30:
        await asyncio.sleep(0.001)
    flaky.down = True  # sends in flight cannot be settled...
    await asyncio.sleep(0.3)
    draining.cancel()  # ...and the process dies before the database is back
    with contextlib.suppress(asyncio.CancelledError, OperationalError):
        await draining  # (it may have given up already: nothing can be handed over)
    await flaky.dispose()

    swept = await _after_the_lease(db)
    await _sender(bot, db).drain()
    async with db.session() as s:
        rows = {r.chat_id: r for r in (await s.exec(select(OutboxMessage))).all()}
        counts = await outbox.status_counts(s)
    delivered = _delivered(api)
    assert counts["pendiente"] == counts["enviando"] == 0  # nothing stranded
    assert max(delivered.values()) == 1
    assert counts["incierto"] == swept.uncertain <= 8  # those in flight when it died
    for person in people:
        assert rows[person].status in ("enviado", "incierto")
        if rows[person].status == "enviado":
            assert delivered[person] == 1


class _Garbled(LocalRequest):
    """Telegram carries the message out, then its answer cannot be read (a proxy's page)."""

    def __init__(self, api: LocalBotAPI, chats: set[int]) -> None:
        super().__init__(api)
        self.chats = chats

    async def do_request(self, url: str, method: str, request_data: Any = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(url, method, request_data, *args, **kwargs)
        params = request_data.parameters if request_data is not None else {}
        if url.endswith("/sendMessage") and params.get("chat_id") in self.chats:
            return 200, b"<html>502 Bad Gateway</html>"
        return status, body


async def test_an_answer_that_cannot_be_read_is_uncertain_and_never_sent_again(
    api: LocalBotAPI, db: Database
) -> None:
    """The request left and Telegram carried it out: resending would make it twice."""
    chats = list(range(31_000, 31_006))
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=chats, payload={"text": "Aviso"})
    async with Bot(TEST_TOKEN, request=_Garbled(api, {31_001, 31_004})) as garbled:
        counts = await _drain_until_settled(_sender(garbled, db), db)

    assert counts["enviado"] == 4 and counts["incierto"] == 2
    assert _delivered(api) == dict.fromkeys(chats, 1)  # each exactly once
    async with db.session() as s:
        row = (await s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == 31_001))).one()
    assert row.status == "incierto"
    assert (row.last_error or "").startswith("la respuesta de Telegram no se pudo leer")


async def test_a_row_is_marked_enviando_durably_before_telegram_gets_it(
    api: LocalBotAPI, bot: Bot, db: Database
) -> None:
    """On SQLite (synchronous=NORMAL) a power cut may undo the last commits; undoing the
    hand-over would put a sent row back in the queue, so that commit waits for the disk."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL commits durably anyway")
    marks: list[tuple[bool, int]] = []  # (the transaction handed rows over, synchronous)

    def statement(conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        if sql.startswith("UPDATE outboxmessage SET status=") and params[0] == "enviando":
            conn.info["handing over"] = True

    def seen(conn: Any) -> None:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous")
        marks.append((conn.info.pop("handing over", False), cursor.fetchone()[0]))
        cursor.close()

    event.listen(db.engine.sync_engine, "before_cursor_execute", statement)
    event.listen(db.engine.sync_engine, "commit", seen)
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=[27_000, 27_001], payload={"text": "Aviso"})
    assert (await _drain_until_settled(_sender(bot, db), db))["enviado"] == 2
    assert sum(_delivered(api).values()) == 2
    handed_over = [level for handing, level in marks if handing]
    assert handed_over and set(handed_over) == {2}  # FULL
    assert {level for handing, level in marks if not handing} == {1}  # NORMAL for the rest
