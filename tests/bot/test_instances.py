"""Two bot instances on one database and one Bot API: each message once, each job once.

The instances run in webhook mode (no Updater), each with its own database handle and
outbox sender, as two processes behind a load balancer would; updates reach them as POSTs
to their web apps, alternating between instances.
"""

from __future__ import annotations

import asyncio
import dataclasses
from bisect import bisect_left
from collections import Counter
from datetime import UTC, datetime, timedelta, tzinfo

import pytest
from sqlalchemy import insert
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoContext
from bot.localapi import LocalBotAPI
from bot.scheduler import SUMMARY_JOB, SWEEP_JOB, run_sweep, run_weekly_summary
from storage.audit import add_entry
from storage.broadcasts import Audience, create_broadcast
from storage.db import Database
from storage.demo import SAMPLE_DIR, load_demo
from storage.importers import import_bytes, import_file
from storage.models import (
    AuditEntry,
    Broadcast,
    Citizen,
    JobRun,
    OutboxMessage,
    Subscription,
    SurveyAnswer,
    SurveyResponse,
    Work,
)
from storage.types import utcnow
from tests.utils.webhook import Instance, instance_token, instances

ADMIN = 1000
RECIPIENTS = 5000
SUBSCRIBERS = [5101, 5102, -1005103]
COMUNA_4 = [4001, 4002, -1004004]
COMUNA_12 = [1201, 1202]


def _sends_by_chat(api: LocalBotAPI) -> Counter[int]:
    return Counter(c.params["chat_id"] for c in api.calls if c.method == "sendMessage" and c.ok)


@pytest.mark.slow
async def test_a_broadcast_to_5000_people_drained_by_two_instances_arrives_once_each(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    people = list(range(20_001, 20_001 + RECIPIENTS))
    async with db.session() as session:
        conn = await session.connection()
        await conn.execute(insert(Citizen.__table__), [  # type: ignore[attr-defined]
            {"telegram_id": p, "chat_id": p, "role": "ciudadano", "created_at": utcnow(),
             "last_seen_at": utcnow()} for p in people
        ])
        await session.commit()
    fast = dataclasses.replace(settings, outbox_rate_per_second=1000)
    async with instances(fast, api, http=False):
        async with db.session() as session:
            _, queued = await create_broadcast(
                session, created_by=ADMIN, audience=Audience("todos"), text="Audiencia pública hoy"
            )
        assert queued == RECIPIENTS
        await api.wait_for("sendMessage", count=RECIPIENTS, timeout=180)
        [report] = await api.wait_for("sendMessage", chat_id=ADMIN, timeout=30)
    sends = _sends_by_chat(api)
    assert {chat: n for chat, n in sends.items() if chat != ADMIN} == dict.fromkeys(people, 1)
    assert "Enviados: 5000" in report.params["text"]
    assert sends[ADMIN] == 1  # one delivery report, not one per instance
    by_instance = Counter(c.token for c in api.calls if c.method == "sendMessage")
    assert by_instance[instance_token(0)] > 0 and by_instance[instance_token(1)] > 0
    async with db.session() as session:
        statuses = Counter(
            (await session.exec(select(OutboxMessage.status))).all()
        )
        reports = (await session.exec(
            select(OutboxMessage).where(OutboxMessage.chat_id == ADMIN)
        )).all()
    assert statuses == {"enviado": RECIPIENTS + 1}  # and the report, through the outbox
    assert [r.broadcast_id for r in reports] == [None]


async def test_two_instances_together_never_pass_the_bot_rate(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    """Measured: two instances at the default 25 a second sent 49.9 a second together."""
    rate, people = 20, list(range(30_001, 30_121))
    async with db.session() as session:
        conn = await session.connection()
        await conn.execute(insert(Citizen.__table__), [  # type: ignore[attr-defined]
            {"telegram_id": p, "chat_id": p, "role": "ciudadano", "created_at": utcnow(),
             "last_seen_at": utcnow()} for p in people
        ])
        await session.commit()
    limited = dataclasses.replace(settings, outbox_rate_per_second=rate)
    # In-process, so a call is recorded as it leaves (`bot.pace` bounds when requests leave);
    # over real HTTP on a loaded 2-core machine, transit jitter of a few tens of ms could
    # put a 21st arrival into one second.
    async with instances(limited, api, http=False):
        async with db.session() as session:
            await create_broadcast(
                session, created_by=ADMIN, audience=Audience("todos"), text="Feria de servicios"
            )
        await api.wait_for("sendMessage", count=len(people), timeout=60)
    # (The author's report may follow at once; it is one more request under the same rate.)
    requests = sorted(c.at for c in api.calls if c.method == "sendMessage")
    # The most requests Telegram received in any one second, by the fake API's own clock.
    busiest = max(bisect_left(requests, at + 1.0) - i for i, at in enumerate(requests))
    assert busiest <= rate
    by_instance = Counter(c.token for c in api.calls if c.method == "sendMessage")
    assert by_instance[instance_token(0)] > 0 and by_instance[instance_token(1)] > 0
    sends = _sends_by_chat(api)
    sends.pop(ADMIN, None)  # the author's report, when it came before the bots stopped
    assert sends == Counter(dict.fromkeys(people, 1))


async def _week_with_changes(db: Database, settings: Settings) -> None:
    """Load the example data, subscribe three chats, and import a change to one work."""
    async with db.session() as s:
        await load_demo(s, tz=settings.tz)
        work = (await s.exec(select(Work).where(Work.estado == "En ejecución"))).first()
        assert work is not None
        for chat in SUBSCRIBERS:
            s.add(Subscription(chat_id=chat, kind="tema", value="resumen"))
        await s.commit()
        csv = ("codigo,nombre,comuna,estado,avance_fisico\n"
               f"{work.codigo},{work.nombre},{work.comuna_id},Terminada,100\n")
        result = await import_bytes(s, "obras", csv.encode(), "obras.csv", tz=settings.tz)
        add_entry(s, actor_id=ADMIN, action="importar", detail=result.audit_detail("obras.csv"))
        await s.commit()


def _due_an_hour_ago(settings: Settings, mode: str) -> Settings:
    due = datetime.now(settings.tz) - timedelta(hours=1)
    return dataclasses.replace(
        settings, weekly_summary_day=due.weekday(), weekly_summary_time=due.strftime("%H:%M"),
        weekly_summary_mode=mode,
    )


async def _fire_on_both(one: Instance, two: Instance) -> None:
    """Run the weekly summary job on both instances at the same moment, twice each."""
    contexts = [CabildoContext(application=i.app) for i in (one, two, one, two)]
    await asyncio.gather(*(run_weekly_summary(c) for c in contexts))


async def test_weekly_summary_fired_on_two_instances_at_once_goes_out_once(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    await _week_with_changes(db, settings)
    config = _due_an_hour_ago(settings, "auto")
    async with instances(config, api) as [one, two]:
        await _fire_on_both(one, two)
        for chat in SUBSCRIBERS:
            [message] = await api.wait_for("sendMessage", chat_id=chat)
            assert "Resumen semanal de la gestión — Bucaramanga" in message.params["text"]
            assert "estado En ejecución → Terminada" in message.params["text"]
    sends = _sends_by_chat(api)
    assert [sends[chat] for chat in SUBSCRIBERS] == [1, 1, 1]
    async with db.session() as session:
        summaries = [b for b in (await session.exec(select(Broadcast))).all()
                     if "resumen" in b.audience]
        [run] = (await session.exec(select(JobRun).where(JobRun.job == SUMMARY_JOB))).all()
    assert len(summaries) == 1
    assert run.period_key == summaries[0].audience["resumen"]
    assert run.claimed_by in {one.app.bot_data.instance, two.app.bot_data.instance}


async def test_approval_request_goes_once_and_is_approved_on_the_other_instance(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    await _week_with_changes(db, settings)
    config = _due_an_hour_ago(settings, "aprobacion")
    async with instances(config, api) as [one, two]:
        await _fire_on_both(one, two)
        [ask] = await api.wait_for("sendMessage", chat_id=ADMIN)
        assert ask.params["text"].startswith("🕒 Es hora del resumen semanal")
        sender = one if ask.token == one.token else two
        other = two if sender is one else one
        await other.deliver(api.user(ADMIN).tap("✅ Aprobar y enviar", enqueue=False))
        [done] = await api.wait_for("editMessageText", chat_id=ADMIN)
        assert "en cola para 3 personas" in done.params["text"]
        for chat in SUBSCRIBERS:
            await api.wait_for("sendMessage", chat_id=chat)
        await _fire_on_both(one, two)  # the job again later this week: nothing more
    asks = [c for c in api.calls_to(ADMIN, ["sendMessage"]) if c.params["text"].startswith("🕒")]
    assert len(asks) == 1
    assert [_sends_by_chat(api)[chat] for chat in SUBSCRIBERS] == [1, 1, 1]
    async with db.session() as session:
        requested = (await session.exec(
            select(AuditEntry).where(AuditEntry.action == "resumen_solicitado")
        )).all()
    assert len(requested) == 1


async def test_broadcast_wizard_answered_alternately_on_two_instances_completes(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        for chat in COMUNA_4:
            s.add(Subscription(chat_id=chat, kind="comuna", value="4"))
        for chat in COMUNA_12:
            s.add(Subscription(chat_id=chat, kind="comuna", value="12"))
        await s.commit()
    admin = api.user(ADMIN)
    async with instances(settings, api) as [one, two]:
        await one.deliver(admin.send_text("/difundir", enqueue=False))
        await api.wait_for("sendMessage", chat_id=ADMIN)
        await two.deliver(admin.tap("🏘️ Por comuna", enqueue=False))
        await api.wait_for("editMessageText", chat_id=ADMIN)
        await one.deliver(admin.tap("4 · Occidental", enqueue=False))
        await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
        await two.deliver(admin.tap("Listo ▶️", enqueue=False))
        [*_, ask] = await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
        assert "Occidental (3 personas)" in ask.params["text"]
        await one.deliver(admin.send_text("Cabildo abierto el jueves <6 p. m.>", enqueue=False))
        _, preview = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
        assert "así lo recibirán 3 personas" in preview.params["text"]
        await two.deliver(admin.tap("✅ Enviar ahora", enqueue=False))
        for chat in COMUNA_4:
            [received] = await api.wait_for("sendMessage", chat_id=chat)
            assert received.params["text"] == "Cabildo abierto el jueves &lt;6 p. m.&gt;"
        [*_, report] = await api.wait_for("sendMessage", chat_id=ADMIN, count=3)
        assert "Enviados: 3" in report.params["text"]
    steps = [c.token for c in api.calls_to(ADMIN, ["sendMessage", "editMessageText"])]
    assert set(steps) == {one.token, two.token}  # both instances answered parts of the flow
    for chat in COMUNA_12:
        assert api.calls_to(chat, ["sendMessage"]) == []
    async with db.session() as s:
        rows = (await s.exec(select(OutboxMessage).order_by(col(OutboxMessage.chat_id)))).all()
    assert sorted(r.chat_id for r in rows) == sorted([*COMUNA_4, ADMIN])  # with the report


async def test_a_double_tap_landing_on_both_instances_sends_once(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        for chat in COMUNA_4:
            s.add(Subscription(chat_id=chat, kind="comuna", value="4"))
        await s.commit()
    admin = api.user(ADMIN)
    async with instances(settings, api) as [one, two]:
        await one.deliver(admin.send_text("/difundir", enqueue=False))
        await api.wait_for("sendMessage", chat_id=ADMIN)
        await two.deliver(admin.tap("🏘️ Por comuna", enqueue=False))
        await api.wait_for("editMessageText", chat_id=ADMIN)
        await one.deliver(admin.tap("4 · Occidental", enqueue=False))
        await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
        await two.deliver(admin.tap("Listo ▶️", enqueue=False))
        await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
        await one.deliver(admin.send_text("Cabildo abierto el jueves", enqueue=False))
        await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
        first = admin.tap("✅ Enviar ahora", enqueue=False)
        second = admin.tap("✅ Enviar ahora", enqueue=False)
        await asyncio.gather(one.deliver(first), two.deliver(second))
        await api.wait_for("answerCallbackQuery", count=5)
        for chat in COMUNA_4:
            await api.wait_for("sendMessage", chat_id=chat)
    async with db.session() as s:
        broadcasts = (await s.exec(select(Broadcast))).all()
    assert len(broadcasts) == 1
    assert [_sends_by_chat(api)[chat] for chat in COMUNA_4] == [1, 1, 1]


async def test_the_minute_sweep_fired_on_both_instances_runs_once_per_minute(
    settings: Settings, api: LocalBotAPI, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    minute = datetime(2026, 11, 25, 13, 7, 12, tzinfo=UTC)

    class Clock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Clock:
            return cls.fromtimestamp(minute.timestamp(), tz)

    swept: list[datetime] = []

    async def sweep(db: Database, settings: Settings, now: datetime) -> int:
        swept.append(now)
        return 0

    monkeypatch.setattr("bot.scheduler.datetime", Clock)
    monkeypatch.setattr("handlers.reminders.sweep", sweep)
    async with instances(settings, api) as [one, two]:
        contexts = [CabildoContext(application=i.app) for i in (one, two, two, one)]
        await asyncio.gather(*(run_sweep(c) for c in contexts))
        assert len(swept) == 1
        minute += timedelta(minutes=1)
        await asyncio.gather(*(run_sweep(c) for c in contexts))
    assert len(swept) == 2
    async with db.session() as session:
        runs = (await session.exec(select(JobRun).where(JobRun.job == SWEEP_JOB))).all()
    assert sorted(r.period_key for r in runs) == ["2026-11-25T13:07", "2026-11-25T13:08"]


SURVEY = """
slug: parque-alterno
titulo: El parque de su barrio
anonima: true
preguntas:
  - tipo: unica
    texto: ¿Visita el parque?
    opciones: [Sí, "No"]
    saltar: {"No": 3}
  - tipo: multiple
    texto: ¿Qué usa?
    opciones: [Canchas, Senderos, Juegos]
    maximo: 2
  - tipo: escala
    texto: Califique el parque
"""


async def test_a_survey_answered_alternately_on_two_instances_completes(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await import_bytes(s, "encuesta", SURVEY.encode(), "parque.yaml", tz=settings.tz)
    person = api.user(7601)

    async def edits(count: int) -> str:
        calls = await api.wait_for("editMessageText", chat_id=7601, count=count)
        return str(calls[-1].params["text"])

    async with instances(settings, api) as [one, two]:
        await one.deliver(person.send_text("/start encuesta_parque-alterno", enqueue=False))
        await api.wait_for("sendMessage", chat_id=7601)
        await two.deliver(person.tap("▶️ Empezar", enqueue=False))
        assert "¿Visita el parque?" in await edits(1)
        await one.deliver(person.tap("Sí", enqueue=False))
        await api.wait_for("sendMessage", chat_id=7601, count=2)
        await two.deliver(person.tap("▫️ Canchas", enqueue=False))
        await api.wait_for("editMessageReplyMarkup", chat_id=7601, count=1)
        await one.deliver(person.tap("▫️ Juegos", enqueue=False))
        await api.wait_for("editMessageReplyMarkup", chat_id=7601, count=2)
        await two.deliver(person.tap("Listo ▶️ (2/2)", enqueue=False))
        await api.wait_for("sendMessage", chat_id=7601, count=3)
        await one.deliver(person.tap("4", enqueue=False))
        await api.wait_for("sendMessage", chat_id=7601, count=5)  # thanks, results note
    async with db.session() as s:
        [response] = (await s.exec(select(SurveyResponse))).all()
        answers = (await s.exec(select(SurveyAnswer).order_by(col(SurveyAnswer.question_id))))
        values = [a.value for a in answers.all()]
    assert response.completed_at is not None and response.chat_id is None
    assert values == ["Sí", ["Canchas", "Juegos"], 4]
    steps = {c.token for c in api.calls_to(7601, ["sendMessage", "editMessageText"])}
    assert steps == {one.token, two.token}
