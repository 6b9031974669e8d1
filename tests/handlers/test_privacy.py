"""Personal data end to end: consent, what is kept, and deletion that keeps totals right."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, update
from sqlmodel import select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers.question_notices import answer
from storage import outbox
from storage.db import Database
from storage.models import (
    AuditEntry,
    Citizen,
    CitizenQuestion,
    Comuna,
    Event,
    PBRound,
    PBVote,
    Registration,
    Subscription,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
)
from storage.types import utcnow

PERSON, OTHER = 801, 802





async def _seed_person(db: Database) -> None:
    """Give PERSON and OTHER a footprint everywhere personal data can live."""
    async with db.session() as s:
        event = Event(clave="EV-1", titulo="Audiencia", tipo="audiencia pública", lugar="Teatro",
                      inicio=datetime.now(UTC) + timedelta(days=3))
        survey = Survey(slug="diagnostico", titulo="Diagnóstico")
        s.add_all([event, survey])
        await s.flush()
        question = SurveyQuestion(survey_id=survey.id or 0, position=1, kind="unica",
                                  text="¿Participó?", options=["Sí", "No"])
        s.add(question)
        await s.flush()
        for chat, answer in ((PERSON, "Sí"), (OTHER, "No")):
            s.add(Subscription(chat_id=chat, kind="comuna", value="4"))
            s.add(Registration(event_id=event.id or 0, chat_id=chat))
            s.add(CitizenQuestion(chat_id=chat, text="¿Cuándo terminan el parque?"))
            response = SurveyResponse(survey_id=survey.id or 0, respondent_key=str(chat),
                                      chat_id=chat, completed_at=datetime.now(UTC))
            s.add(response)
            await s.flush()
            s.add(SurveyAnswer(response_id=response.id or 0, question_id=question.id or 0,
                               value=answer))
        comuna = Comuna(codigo="4", nombre="Occidental")
        s.add(comuna)
        await s.flush()
        pb_round = PBRound(ronda="2027", comuna_id=comuna.id or 0, presupuesto=Decimal(1000),
                           updated_at=datetime.now(UTC))
        s.add(pb_round)
        await s.flush()
        s.add(PBVote(ronda="2027", round_id=pb_round.id or 0, chat_id=PERSON, project_ids=[],
                     created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
        await s.commit()


async def _answer_totals(db: Database) -> list[tuple[str, int]]:
    async with db.session() as s:
        rows = (await s.exec(
            select(SurveyAnswer.value, func.count()).group_by(SurveyAnswer.value)
        )).all()
    return sorted((str(v), int(n)) for v, n in rows)  # JSONB groups on PostgreSQL too


async def test_nothing_is_kept_before_the_first_contact(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(PERSON).send_text("/mis_datos")
    [reply] = await api.wait_for("sendMessage", chat_id=PERSON)
    assert reply.params["text"] == (
        "No tengo ningún dato suyo guardado, aparte de esta conversación."
    )


async def test_consent_is_asked_recorded_with_time_and_shown(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(PERSON)
    user.send_text("/privacidad")
    [notice] = await api.wait_for("sendMessage", chat_id=PERSON)
    assert "Ley 1581 de 2012" in notice.params["text"]
    user.tap("✅ Acepto")
    user.tap("✅ Acepto")  # double tap
    await api.wait_for("answerCallbackQuery", count=2)
    await api.wait_for("editMessageText", chat_id=PERSON)
    async with db.session() as s:
        [citizen] = (await s.exec(select(Citizen))).all()
    assert citizen.consent_at is not None
    user.send_text("/mis_datos")
    _, shown = await api.wait_for("sendMessage", chat_id=PERSON, count=2)
    assert "Aceptó el tratamiento de datos: " in shown.params["text"]
    assert "no ha aceptado" not in shown.params["text"]
    assert "Rol: sin permisos especiales" in shown.params["text"]  # words, not the role code


async def test_my_data_shows_roles_and_topics_in_words(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    now = datetime.now(UTC)
    async with db.session() as s:
        s.add(Citizen(telegram_id=PERSON, chat_id=PERSON, role="lider", consent_at=now,
                      created_at=now, last_seen_at=now))
        s.add(Subscription(chat_id=PERSON, kind="tema", value="contratacion"))
        await s.commit()
    api.user(PERSON).send_text("/mis_datos")
    [shown] = await api.wait_for("sendMessage", chat_id=PERSON)
    assert "Rol: líder comunal" in shown.params["text"]
    assert "Alertas: tema Contratación" in shown.params["text"]


async def test_delete_leaves_survey_totals_and_no_link_to_the_chat(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    await _seed_person(db)
    user = api.user(PERSON)
    user.send_text("/start")
    await api.wait_for("sendMessage", chat_id=PERSON)
    before = await _answer_totals(db)
    user.send_text("/mis_datos")
    _, data = await api.wait_for("sendMessage", chat_id=PERSON, count=2)
    assert "Alertas: comuna 4" in data.params["text"]
    assert "Encuestas respondidas (no anónimas): 1" in data.params["text"]

    user.send_text("/borrar_datos")
    *_, confirm = await api.wait_for("sendMessage", chat_id=PERSON, count=3)
    assert confirm.params["text"].startswith("¿Quiere borrar sus datos?")
    user.tap("🗑️ Sí, borrar")
    [done] = await api.wait_for("editMessageText", chat_id=PERSON)
    assert done.params["text"].startswith("Listo: borré sus datos")
    # What is left is said: the survey answer and the ballot, under a keyed mark only.
    user.send_text("/mis_datos")
    *_, after = await api.wait_for("sendMessage", chat_id=PERSON, count=4)
    assert after.params["text"] == (
        "No tengo ningún dato suyo guardado, aparte de esta conversación.\n\n"
        "🔐 1 respuesta a una encuesta y 1 voto en presupuesto participativo quedan sin su id "
        "de Telegram, solo con una marca cifrada para que no se cuenten dos veces.")
    api.user(OTHER).send_text("/mis_datos")  # the other person's marks are not theirs
    [other] = await api.wait_for("sendMessage", chat_id=OTHER)
    assert other.params["text"] == (
        "No tengo ningún dato suyo guardado, aparte de esta conversación.")

    assert await _answer_totals(db) == before == [("No", 1), ("Sí", 1)]
    async with db.session() as s:
        for model, column in ((Subscription, Subscription.chat_id),
                              (Registration, Registration.chat_id),
                              (CitizenQuestion, CitizenQuestion.chat_id),
                              (SurveyResponse, SurveyResponse.chat_id)):
            assert (await s.exec(select(model).where(column == PERSON))).all() == []
        keys = (await s.exec(select(SurveyResponse.respondent_key))).all()
        assert str(PERSON) not in keys and str(OTHER) in keys
        assert (await s.exec(select(Citizen).where(Citizen.telegram_id == PERSON))).all() == []
        assert len((await s.exec(select(Subscription))).all()) == 1  # the other person's
        assert len((await s.exec(select(CitizenQuestion))).all()) == 2  # questions stay
        [entry] = (await s.exec(select(AuditEntry))).all()
    assert (entry.action, entry.actor_id, entry.detail) == ("borrado_datos", None, {})


async def test_cancelled_deletion_keeps_everything(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    await _seed_person(db)
    user = api.user(PERSON)
    user.send_text("/borrar_datos")
    await api.wait_for("sendMessage", chat_id=PERSON)
    user.tap("Cancelar")
    [kept] = await api.wait_for("editMessageText", chat_id=PERSON)
    assert kept.params["text"] == "Sus datos no se borraron."
    async with db.session() as s:
        assert len((await s.exec(select(Subscription))).all()) == 2


async def test_my_data_names_admin_ids_admins_and_cancelled_registrations(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    now = datetime.now(UTC)
    admin = 1000  # in ADMIN_IDS, with no role in the table
    async with db.session() as s:
        s.add(Citizen(telegram_id=admin, chat_id=admin, consent_at=now, created_at=now,
                      last_seen_at=now))
        events = [Event(clave=f"e{i}", titulo=f"Taller {i}", tipo="taller", inicio=now,
                        lugar="Salón") for i in range(2)]
        s.add_all(events)
        await s.flush()
        s.add_all([Registration(event_id=events[0].id, chat_id=admin, status="confirmado",
                                created_at=now),
                   Registration(event_id=events[1].id, chat_id=admin, status="cancelado",
                                created_at=now)])
        await s.commit()
    api.user(admin).send_text("/mis_datos")
    [shown] = await api.wait_for("sendMessage", chat_id=admin)
    assert "Rol: administración del bot" in shown.params["text"]
    assert "Inscripciones a eventos: 2 (1 cancelada)" in shown.params["text"]


async def _recorded(db: Database, *, sent: int) -> dict[str, int]:
    """Wait until the outbox holds `sent` rows recorded as sent, and return its counts."""
    async with asyncio.timeout(15):
        while True:
            async with db.session() as s:
                counts = await outbox.status_counts(s)
            if counts["enviado"] >= sent and counts["enviando"] == 0:
                return counts
            await asyncio.sleep(0.02)


async def test_delete_withdraws_queued_messages_and_strips_sent_ones(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    """Nothing queued reaches the person after deleting; sent rows keep counts, not the chat."""
    await _seed_person(db)
    user = api.user(PERSON)
    user.send_text("/start")
    await api.wait_for("sendMessage", chat_id=PERSON)
    async with db.session() as s:
        [asked] = (await s.exec(
            select(CitizenQuestion).where(CitizenQuestion.chat_id == PERSON))).all()
        await answer(s, question_id=asked.id or 0, text="En diciembre.", actor_id=1)
    *_, answered = await api.wait_for("sendMessage", chat_id=PERSON, count=2)
    assert "¿Cuándo terminan el parque?" in answered.params["text"]
    # Telegram has the answer; the sender records it a moment later (settles are batched).
    assert (await _recorded(db, sent=1))["enviado"] == 1
    async with db.session() as s:
        await outbox.enqueue(s, chat_ids=[PERSON, OTHER], payload={"text": "Aviso de mañana"},
                             dedupe="aviso", not_before=utcnow() + timedelta(days=1))
        sent_before = (await outbox.status_counts(s))["enviado"]

    user.send_text("/borrar_datos")
    await api.wait_for("sendMessage", chat_id=PERSON, count=3)
    user.tap("🗑️ Sí, borrar")
    await api.wait_for("editMessageText", chat_id=PERSON)

    async with db.session() as s:  # the queued messages fall due now
        conn = await s.connection()
        await conn.execute(update(outbox.OUTBOX).values(not_before=utcnow()))
        await s.commit()
    await api.wait_for("sendMessage", chat_id=OTHER)
    assert not any("Aviso" in c.params.get("text", "") for c in api.calls_to(PERSON))
    await _recorded(db, sent=sent_before + 1)  # until the sender has recorded OTHER's message
    async with db.session() as s:
        conn = await s.connection()
        rows = (await conn.execute(select(outbox.OUTBOX))).mappings().all()
        counts = await outbox.status_counts(s)
        assert await outbox.queued_before(s, dedupe="aviso")
    assert [r for r in rows if r["chat_id"] == PERSON] == []
    assert not any("parque" in json.dumps(r["payload"]) for r in rows)
    assert not any(str(PERSON) in (r["dedupe_key"] or "") for r in rows)
    assert counts["enviado"] == sent_before + 1  # the answer still counts; plus OTHER's aviso
    assert counts["pendiente"] == 0
