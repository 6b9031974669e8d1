"""`/resumen`: preview and approval of the weekly summary — sent once a week, nothing more."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers.summary import MAX_LENGTH, compose, queue_summary
from storage.db import Database
from storage.models import AuditEntry, Broadcast, Event, OutboxMessage, Subscription
from storage.summary import FieldChange, WeekData, summary_week

ADMIN, OTHER_STAFF = 1000, 1001
SUBSCRIBER = 5201
BUTTON = "✅ Aprobar y enviar"


@pytest.fixture
async def seed(db: Database) -> None:
    async with db.session() as s:
        s.add(Subscription(chat_id=SUBSCRIBER, kind="tema", value="resumen"))
        await s.commit()


async def _rows(db: Database) -> tuple[list[Broadcast], list[AuditEntry], list[OutboxMessage]]:
    async with db.session() as s:
        broadcasts = list((await s.exec(select(Broadcast))).all())
        audit = list((await s.exec(
            select(AuditEntry).where(AuditEntry.action == "difusion")
        )).all())
        # The summary's messages (the author's delivery report is queued apart).
        outbox = list((await s.exec(
            select(OutboxMessage).where(col(OutboxMessage.broadcast_id).is_not(None))
        )).all())
    return broadcasts, audit, outbox


async def test_summary_goes_once_and_a_second_approval_creates_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    # The week the summary is due in: on Monday before its hour, still the last one (read
    # before and after the approval: a run can cross that hour in between).
    def due_week() -> str:
        return summary_week(datetime.now(settings.tz), tz=settings.tz,
                            weekday=settings.weekly_summary_day, at=settings.weekly_summary_time)

    weeks = [due_week()]
    admin = api.user(ADMIN)
    admin.send_text("/resumen")
    [preview] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert preview.params["text"].startswith("Así se verá el resumen (1 persona con esta alerta):")
    admin.tap(BUTTON)
    forged = admin.tap(BUTTON, enqueue=False)  # a double tap on the same message
    [sent] = await api.wait_for("editMessageText", chat_id=ADMIN)
    weeks.append(due_week())
    week = next((w for w in weeks
                 if sent.params["text"] == f"✅ Resumen de la semana {w} en cola para 1 persona."),
                None)
    assert week is not None, sent.params["text"]
    [received] = await api.wait_for("sendMessage", chat_id=SUBSCRIBER)
    assert "Resumen semanal de la gestión" in received.params["text"]
    [_, report] = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert "Enviados: 1" in report.params["text"]

    api.enqueue(forged)
    [*_, again] = await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    assert again.params["text"] == (
        f"El resumen de la semana {week} ya se había enviado; no se repite."
    )
    admin.send_text("/resumen")
    [*_, second] = await api.wait_for("sendMessage", chat_id=ADMIN, count=3)
    assert second.params["text"].startswith(
        f"✅ El resumen de la semana {week} ya se envió el "
    )
    assert "Esto fue lo que se envió:\n\n" in second.params["text"]
    assert received.params["text"] in second.params["text"]
    assert "reply_markup" not in second.params

    broadcasts, audit, outbox = await _rows(db)
    assert [b.audience.get("resumen") for b in broadcasts] == [week]
    assert [a.detail["destinatarios"] for a in audit] == [1]
    assert [m.chat_id for m in outbox] == [SUBSCRIBER]
    reports = [c for c in api.calls_to(ADMIN, ["sendMessage"])
               if c.params["text"].startswith("📊")]
    assert len(reports) == 1
    assert len(api.calls_to(SUBSCRIBER, ["sendMessage"])) == 1


async def test_with_no_subscribers_the_preview_says_so_and_offers_only_a_way_out(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        for row in (await s.exec(select(Subscription))).all():
            await s.delete(row)
        await s.commit()
    admin = api.user(ADMIN)
    admin.send_text("/resumen")
    [preview] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert preview.params["text"].startswith(
        "Todavía nadie sigue el resumen semanal, así que no hay a quién enviarlo. Cualquiera "
        "lo activa en /alertas («Resumen semanal»). Así se vería:\n\n🗞️ <b>Resumen semanal"
    )
    buttons = [b["text"] for row in preview.params["reply_markup"]["inline_keyboard"]
               for b in row]
    assert buttons == ["✖️ Cerrar"]
    admin.tap("✖️ Cerrar")
    [closed] = await api.wait_for("editMessageText", chat_id=ADMIN)
    assert closed.params["text"] == "Listo, no envié el resumen."
    # An approval from an older message (the staff approval request) still sends nothing.
    query = {"id": "77", "from": admin.as_dict(), "message": api.messages(ADMIN)[-1],
             "chat_instance": "ci", "data": "staff:res:ok"}
    api.enqueue({"update_id": api.new_update_id(), "callback_query": query})
    [_, answer] = await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    assert answer.params["text"] == (
        "Todavía nadie sigue el resumen semanal; no se envió nada."
    )
    assert await _rows(db) == ([], [], [])


async def test_two_staff_approving_at_once_send_one_summary(
    db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        s.add(Subscription(chat_id=SUBSCRIBER, kind="tema", value="resumen"))
        await s.commit()
    now = datetime.now(settings.tz)
    outcomes = await asyncio.gather(
        *(queue_summary(db, settings, now=now, actor_id=who)
          for who in (ADMIN, OTHER_STAFF, ADMIN, OTHER_STAFF))
    )
    assert sorted(o.queued for o in outcomes) == [0, 0, 0, 1]
    assert len([o for o in outcomes if o.broadcast is not None]) == 1
    broadcasts, audit, outbox = await _rows(db)
    assert (len(broadcasts), len(audit), len(outbox)) == (1, 1, 1)


def test_counts_agree_in_number_and_long_titles_are_clipped(
    settings: Settings,
) -> None:
    end = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    one_goal = WeekData(
        start=end - timedelta(days=7), end=end,
        goals=[FieldChange("M1", "Meta de vías", "avance", 10, 20)],
    )
    assert "🎯 <b>Metas del plan</b>: 1 meta actualizada" in compose(one_goal, settings)
    works = [FieldChange(f"O{i}", f"Obra {i}", "estado", "Contratada", "En ejecución")
             for i in range(7)]
    seven = WeekData(start=end - timedelta(days=7), end=end, works=works)
    assert "• y 1 cambio más en /obras" in compose(seven, settings)
    title = "Taller <de> cocreación del parque lineal de la quebrada La Iglesia, etapa 2"
    many = WeekData(
        start=end - timedelta(days=7), end=end,
        works=[FieldChange(f"O{i}", title, "estado", "A", "B") for i in range(200)],
        events=[Event(clave=str(i), titulo=title, tipo="taller", inicio=end, lugar="X")
                for i in range(200)],
    )
    text = compose(many, settings)
    assert len(text) <= MAX_LENGTH
    assert "• y 194 cambios más en /obras" in text
    clipped = "Taller &lt;de&gt; cocreación del parque lineal de la quebrada La Iglesia…"
    assert f"• {clipped}: estado A → B" in text
