"""`/estado` and `cabildo estado`: staff see whether messages go out and jobs run."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.cli import main
from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import local_datetime
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.models import Citizen, CitizenQuestion, JobRun, OutboxMessage, Subscription
from storage.types import utcnow

ADMIN, CITIZEN = 1000, 8801


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No weekly-summary catch-up at start: its approval request would be one more message."""
    return dataclasses.replace(settings, schedule_grace_hours=0)


async def _a_busy_day(
    db: Database, *, sweep_ago: timedelta, queued_ago: timedelta,
    handed_ago: timedelta = timedelta(seconds=20),
) -> None:
    now = utcnow()

    def message(chat: int, status: str, **extra: object) -> OutboxMessage:
        return OutboxMessage(chat_id=chat, status=status, payload={"text": "hola"},
                             not_before=now - queued_ago, created_at=now - queued_ago,
                             **extra)  # type: ignore[arg-type]

    async with db.session() as s:
        s.add_all([
            Citizen(telegram_id=1, chat_id=1, role="lider", consent_at=now,
                    created_at=now, last_seen_at=now),
            Citizen(telegram_id=2, chat_id=2, consent_at=now, created_at=now, last_seen_at=now),
            Citizen(telegram_id=3, chat_id=3, blocked_at=now, created_at=now, last_seen_at=now),
            Citizen(telegram_id=4, chat_id=4, role="staff", created_at=now, last_seen_at=now),
            Subscription(chat_id=-100, kind="comuna", value="4", created_at=now),
            Subscription(chat_id=-100, kind="comuna", value="5", created_at=now),
            # Held by another instance, so the running bot's own sender leaves them queued.
            message(1, "pendiente", claimed_by="web-3:7:ef", lease_until=now + timedelta(hours=1)),
            message(2, "pendiente", claimed_by="web-3:7:ef", lease_until=now + timedelta(hours=1)),
            message(2, "enviado", sent_at=now - timedelta(hours=2)),
            message(1, "enviado", sent_at=now - handed_ago, claimed_at=now - handed_ago),
            message(2, "enviado", sent_at=now - timedelta(days=3)),  # older than a day
            message(3, "bloqueado", claimed_at=now - timedelta(hours=1)),
            message(4, "fallido", claimed_at=now - timedelta(hours=1), last_error="Timed out"),
            message(4, "fallido", claimed_at=now - timedelta(hours=3), last_error="Timed out"),
            JobRun(job="recordatorios", period_key="2026-11-25T08:00", claimed_by="web-1:12:ab",
                   claimed_at=now - sweep_ago - timedelta(minutes=1)),
            JobRun(job="recordatorios", period_key="2026-11-25T08:01", claimed_by="web-2:40:cd",
                   claimed_at=now - sweep_ago),
            JobRun(job="resumen-semanal", period_key="2026-W48", claimed_by="web-1:12:ab",
                   claimed_at=now - timedelta(days=2)),
            CitizenQuestion(chat_id=2, text="¿Cuándo abren el parque?",
                            created_at=now - timedelta(days=3)),
            CitizenQuestion(chat_id=2, text="¿Y la ciclorruta?", status="respondida",
                            created_at=now - timedelta(days=4)),
        ])
        await s.commit()


async def test_staff_see_the_queue_the_jobs_and_the_people(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    await _a_busy_day(db, sweep_ago=timedelta(seconds=40), queued_ago=timedelta(minutes=2))
    api.user(ADMIN).send_text("/estado")
    [reply] = await api.wait_for("sendMessage", chat_id=ADMIN)
    text = reply.params["text"]
    assert "base de datos " + ("SQLite" if db.is_sqlite else "PostgreSQL") in text
    assert "📤 <b>Envíos</b>: 2 en cola (el primero espera desde hace 2 minutos); 0 enviándose." \
        in text
    assert ("Últimas 24 horas: 2 enviados, 2 fallidos, 1 a alguien que bloqueó el bot."
            in text)
    assert "Motivos de fallo (24 h): «Timed out» ×2." in text
    sweep_at = local_datetime(utcnow() - timedelta(seconds=40), settings.tz)
    assert f"· avisos y recordatorios: hace 40 segundos ({sweep_at}), en web-2:40:cd" in text \
        or "· avisos y recordatorios: hace 41 segundos" in text
    assert "· resumen semanal: hace 2 días (" in text and "), en web-1:12:ab" in text
    assert ("👥 <b>Personas</b>: 4 personas con el bot; 2 aceptaron el aviso de datos; "
            "1 bloqueó el bot o no se le puede escribir. 1 líder, 2 funcionarios o "
            "administradores; 1 grupo vinculado.") in text  # ADMIN_IDS counts too
    assert "❓ <b>Preguntas sin responder</b>: 1 (la más antigua es del " in text
    assert text.endswith("✅ Todo en orden.")


async def test_a_stalled_scheduler_and_an_old_queue_are_flagged(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    await _a_busy_day(db, sweep_ago=timedelta(minutes=42), queued_ago=timedelta(hours=2),
                      handed_ago=timedelta(minutes=50))
    api.user(ADMIN).send_text("/estado")
    [reply] = await api.wait_for("sendMessage", chat_id=ADMIN)
    text = reply.params["text"]
    assert "⚠️ Los avisos y recordatorios no corren desde hace 42 minutos" in text
    assert "⚠️ Hay mensajes esperando desde hace 2 horas" in text
    assert "⚠️ Hay mensajes por enviar y ninguno ha salido desde hace 50 minutos" in text
    assert "Todo en orden" not in text


async def test_rows_stuck_in_flight_and_uncertain_ones_are_reported(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    """Measured: /estado said «Todo en orden» with 100 rows stuck `enviando`."""
    await _a_busy_day(db, sweep_ago=timedelta(seconds=10), queued_ago=timedelta(seconds=30))
    now = utcnow()
    async with db.session() as s:
        s.add_all([
            OutboxMessage(chat_id=chat, status=status, payload={"text": "x"},
                          claimed_by="muerta", claimed_at=now - timedelta(minutes=2),
                          lease_until=now - timedelta(minutes=1), not_before=now,
                          created_at=now)
            for chat, status in ((11, "enviando"), (12, "enviando"), (13, "incierto"))
        ])
        await s.commit()
    api.user(ADMIN).send_text("/estado")
    [reply] = await api.wait_for("sendMessage", chat_id=ADMIN)
    text = reply.params["text"]
    assert "1 sin confirmar (pudieron llegar; no se reenvían), 1 a alguien que bloqueó" in text
    assert ("⚠️ 2 mensajes llevan «enviándose» más de lo normal: la instancia que los enviaba "
            "se detuvo.") in text
    assert "Todo en orden" not in text


async def test_citizens_cannot_see_the_state(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.user(CITIZEN).send_text("/estado")
    [reply] = await api.wait_for("sendMessage", chat_id=CITIZEN)
    assert "Estado de Cabildo" not in reply.params["text"]


def test_the_operator_gets_the_same_state_as_plain_text(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["estado"]) == 3  # a warning: nothing has run yet
    out = capsys.readouterr().out
    assert out.startswith("🩺 Estado de Cabildo · versión ")
    assert "<b>" not in out
    assert "📤 Envíos: 0 en cola; 0 enviándose." in out
    assert "⏱️ Tareas programadas: todavía no han corrido." in out
    assert "👥 Personas: 0 personas con el bot" in out
    assert "⚠️ Las tareas programadas no han corrido nunca" in out
    assert "Todo en orden" not in out


async def test_failure_reasons_are_escaped_in_the_message(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    now = utcnow()
    async with db.session() as s:
        s.add(OutboxMessage(chat_id=5, status="fallido", payload={"text": "x"}, not_before=now,
                            created_at=now, claimed_at=now,
                            last_error="Bad Request: <unknown> tag & co"))
        await s.commit()
    api.user(ADMIN).send_text("/estado")
    [reply] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert "«Bad Request: &lt;unknown&gt; tag &amp; co» ×1" in reply.params["text"]
