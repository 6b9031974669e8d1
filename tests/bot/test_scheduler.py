"""The weekly summary: composed from the week's imports, sent once a week, restarts or not."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from bot.config import Settings, load_settings
from bot.localapi import LocalBotAPI
from bot.scheduler import last_due
from handlers import summary
from storage.audit import add_entry
from storage.db import Database
from storage.demo import load_demo
from storage.importers import import_bytes
from storage.models import Subscription, Work
from storage.summary import summary_sent
from tests.utils.harness import polling_bot

ADMIN = 1000
SUBSCRIBERS = [5101, 5102, -1005103]


def test_last_due_is_the_latest_past_occurrence() -> None:
    settings = Settings(weekly_summary_day=0, weekly_summary_time="08:00")
    tz = settings.tz
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=tz)
    assert last_due(monday_9, settings) == datetime(2026, 11, 23, 8, 0, tzinfo=tz)
    monday_7 = datetime(2026, 11, 23, 7, 0, tzinfo=tz)
    assert last_due(monday_7, settings) == datetime(2026, 11, 16, 8, 0, tzinfo=tz)
    sunday = datetime(2026, 11, 29, 23, 0, tzinfo=tz)
    assert last_due(sunday, settings) == datetime(2026, 11, 23, 8, 0, tzinfo=tz)


async def test_a_sunday_summary_approved_on_monday_counts_for_sundays_week(
    db: Database, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, weekly_summary_day=6, weekly_summary_time="20:00")
    async with db.session() as s:
        s.add(Subscription(chat_id=5101, kind="tema", value="resumen"))
        await s.commit()
    tz = settings.tz
    sunday_due = datetime(2026, 11, 29, 20, 0, tzinfo=tz)  # ISO week 48
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=tz)  # ISO week 49: approved late
    week, queued = await summary.send_summary(db, settings, now=monday, actor_id=ADMIN)
    assert (week, queued) == ("2026-W48", 1)
    async with db.session() as s:
        assert await summary_sent(s, week="2026-W48")
        # The next Sunday's summary (week 49) is still to send.
        assert not await summary_sent(s, week="2026-W49")
    next_sunday = sunday_due + timedelta(days=7, minutes=1)
    week, queued = await summary.send_summary(db, settings, now=next_sunday, actor_id=ADMIN)
    assert (week, queued) == ("2026-W49", 1)


async def _week_with_changes(db: Database, settings: Settings) -> Work:
    """Load the example data, then change one work's progress and status with an import."""
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
    return work


def _due_a_few_minutes_ago(settings: Settings, mode: str) -> Settings:
    due = datetime.now(settings.tz) - timedelta(minutes=5)
    return dataclasses.replace(
        settings, weekly_summary_day=due.weekday(), weekly_summary_time=due.strftime("%H:%M"),
        weekly_summary_mode=mode, schedule_grace_hours=1,
    )


async def test_auto_summary_goes_out_once_across_restarts(
    settings: Settings, db: Database
) -> None:
    work = await _week_with_changes(db, settings)
    config = _due_a_few_minutes_ago(settings, "auto")
    api = LocalBotAPI()
    async with polling_bot(config, api):
        calls = await api.wait_for("sendMessage", count=3)
    async with polling_bot(config, api):  # a restart within the grace period
        pass
    received = [c for c in api.calls if c.method == "sendMessage"]
    assert sorted(c.params["chat_id"] for c in received) == sorted(SUBSCRIBERS)
    text = calls[0].params["text"]
    assert "Resumen semanal de la gestión — Bucaramanga" in text
    assert f"{work.nombre[:40]}" in text
    assert "estado En ejecución → Terminada" in text
    assert "→ 100 %" in text


async def test_approval_mode_asks_staff_once_and_sends_once(
    settings: Settings, db: Database
) -> None:
    await _week_with_changes(db, settings)
    config = _due_a_few_minutes_ago(settings, "aprobacion")
    api = LocalBotAPI()
    async with polling_bot(config, api):
        [ask] = await api.wait_for("sendMessage", chat_id=ADMIN)
        assert ask.params["text"].startswith("🕒 Es hora del resumen semanal")
        admin = api.user(ADMIN)
        admin.tap("✅ Aprobar y enviar")
        [sent] = await api.wait_for("editMessageText", chat_id=ADMIN)
        assert "en cola para 3 personas" in sent.params["text"]
        for chat in SUBSCRIBERS:
            await api.wait_for("sendMessage", chat_id=chat)
        admin.send_text("/resumen")
        calls = await api.wait_for("sendMessage", chat_id=ADMIN, count=3)  # ask, report, preview
        [again] = [c for c in calls if "ya se envió el" in c.params["text"]]
        assert "reply_markup" not in again.params  # no second «Enviar» for a week already sent
    async with polling_bot(config, api):  # restart: no second approval request
        pass
    assert len([c for c in api.calls_to(ADMIN, ["sendMessage"])
                if c.params["text"].startswith("🕒")]) == 1
    for chat in SUBSCRIBERS:
        assert len(api.calls_to(chat, ["sendMessage"])) == 1


@pytest.mark.parametrize("value", ["lunes", "Miércoles", "DOMINGO"])
def test_summary_day_accepts_spanish_names(value: str) -> None:
    day = load_settings({"WEEKLY_SUMMARY_DAY": value}, env_file=None).weekly_summary_day
    assert day == {"lunes": 0, "Miércoles": 2, "DOMINGO": 6}[value]
