"""Deleting one's data keeps a keyed pseudonym, so nobody can vote or answer twice with it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage import questions as q
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_bytes, import_file
from storage.models import CitizenQuestion, PBProject, PBVote, SurveyAnswer, SurveyResponse
from storage.participation import ballot_of, save_ballot
from storage.participation_results import round_results
from storage.privacy import delete_personal_data, give_consent, personal_data
from storage.survey_answers import position, record_answer, start_response
from storage.survey_results import survey_results
from storage.surveys import surveys_for
from storage.types import utcnow
from tests.storage.helpers import csv_bytes
from tests.storage.test_participation import NOW, _load, _projects, _round_id, _vote
from tests.storage.test_surveys import _answer_all, _survey

PERSON, OTHER = 4401, 4402


async def _forget(db: Database, person: int = PERSON) -> None:
    async with db.session() as s:
        await delete_personal_data(s, telegram_id=person)


async def _ballots(db: Database) -> list[PBVote]:
    async with db.session() as s:
        return list((await s.exec(select(PBVote).order_by(col(PBVote.id)))).all())


async def test_voting_again_after_deleting_replaces_the_ballot_that_still_counted(
    db: Database,
) -> None:
    await _load(db)
    rid = await _round_id(db, "P4-1")
    projects = await _projects(db)
    async with db.session() as s:
        await give_consent(s, telegram_id=PERSON, chat_id=PERSON)
    assert await _vote(db, rid, PERSON, "P4-1") == "guardado"
    assert await _vote(db, rid, OTHER, "P4-1") == "guardado"
    await _forget(db)

    [mine, _] = await _ballots(db)
    assert mine.chat_id is None and mine.voter_key and str(PERSON) not in mine.voter_key
    async with db.session() as s:
        results = await round_results(s, round_id=rid, now=NOW)
        assert await personal_data(s, telegram_id=PERSON) is None
    assert results is not None and results.ballots == 2  # the unlinked ballot still counts
    assert (results.projects[0].project.codigo, results.projects[0].votes) == ("P4-1", 2)

    # The same person comes back and votes again in the same round: it replaces, not adds.
    async with db.session() as s:
        await give_consent(s, telegram_id=PERSON, chat_id=PERSON)
        again = await ballot_of(s, ronda="2027", chat_id=PERSON)
        assert again is not None and again.id == mine.id  # they are told they already voted
    assert await _vote(db, rid, PERSON, "P4-2", "P4-3") == "guardado"
    ballots = await _ballots(db)
    assert [(b.id, b.chat_id) for b in ballots] == [(mine.id, PERSON), (ballots[1].id, OTHER)]
    assert ballots[0].project_ids == sorted([projects["P4-2"].id, projects["P4-3"].id])
    async with db.session() as s:
        results = await round_results(s, round_id=rid, now=NOW)
    assert results is not None and results.ballots == 2
    assert {r.project.codigo: r.votes for r in results.projects} == {
        "P4-1": 1, "P4-2": 1, "P4-3": 1
    }

    # Deleting again and voting in another comuna of the same ronda still replaces it.
    await _forget(db)
    rid12 = await _round_id(db, "P12-1")
    async with db.session() as s:
        moved = await save_ballot(s, round_id=rid12, chat_id=PERSON,
                                  project_ids=[projects["P12-2"].id or 0], now=NOW)
    assert moved.saved and moved.replaced_round_id == rid
    ballots = await _ballots(db)
    assert [(b.id, b.round_id, b.chat_id) for b in ballots] == [
        (mine.id, rid12, PERSON), (ballots[1].id, rid, OTHER)
    ]


async def test_a_ballot_cast_before_keys_existed_is_keyed_when_its_voter_deletes(
    db: Database,
) -> None:
    await _load(db)
    rid = await _round_id(db, "P4-1")
    assert await _vote(db, rid, PERSON, "P4-1") == "guardado"
    async with db.session() as s:  # as a row written before migration 0003 could be
        [ballot] = (await s.exec(select(PBVote))).all()
        ballot.voter_key = None
        s.add(ballot)
        await s.commit()
    await _forget(db)
    assert await _vote(db, rid, PERSON, "P4-2") == "guardado"
    [ballot] = await _ballots(db)
    assert ballot.chat_id == PERSON and ballot.voter_key


async def test_two_ballots_of_one_person_at_once_leave_one_and_raise_nothing(
    db: Database,
) -> None:
    await _load(db)
    rid = await _round_id(db, "P4-1")
    projects = await _projects(db)

    async def vote(codes: tuple[str, ...]) -> str:
        async with db.session() as s:
            outcome = await save_ballot(s, round_id=rid, chat_id=PERSON, now=NOW,
                                        project_ids=[projects[c].id or 0 for c in codes])
            assert outcome.total > 0  # read after a possible rollback: no lazy load
            return outcome.status

    for attempt in range(5):  # the race is not deterministic: try it a few times
        picks = [("P4-1",), ("P4-2", "P4-3"), ("P4-3",), ("P4-1", "P4-3")]
        statuses = await asyncio.gather(*(vote(p) for p in picks))
        assert statuses == ["guardado"] * 4
        [ballot] = await _ballots(db)
        assert ballot.chat_id == PERSON
        if attempt == 2:
            await _forget(db)  # and with the ballot unlinked in between


async def test_the_daily_question_limit_survives_deleting_ones_data(db: Database) -> None:
    now = utcnow()  # the deletion runs on the real clock
    t0 = now - timedelta(hours=20)
    async with db.session() as s:
        old = await q.ask(s, chat_id=PERSON, topic="obras", text="Una pregunta de anteayer",
                          now=now - timedelta(days=2))
        for i in range(q.DAILY_LIMIT):
            await q.ask(s, chat_id=PERSON, topic="obras", text=f"Pregunta número {i} de hoy",
                        now=t0 + timedelta(minutes=i))
    await _forget(db)
    async with db.session() as s:
        rows = (await s.exec(select(CitizenQuestion).order_by(col(CitizenQuestion.id)))).all()
        assert [r.chat_id for r in rows] == [None] * 6  # unlinked; the questions stay
        assert rows[0].id == old.id and rows[0].asker_key is None  # older than 24 h: no key
        assert all(r.asker_key and str(PERSON) not in r.asker_key for r in rows[1:])
        with pytest.raises(q.RateLimited) as limited:
            await q.ask(s, chat_id=PERSON, topic="obras", text="La sexta pregunta de hoy",
                        now=now)
        assert limited.value.retry_at == t0 + q.WINDOW
        assert (await q.questions_of(s, chat_id=PERSON)).total == 0  # none shown as theirs
        # Another person is not limited, and the person is free again after 24 hours.
        await q.ask(s, chat_id=OTHER, topic="obras", text="Otra persona pregunta", now=now)
        later = t0 + q.WINDOW + timedelta(minutes=1)
        asked = await q.ask(s, chat_id=PERSON, topic="obras", text="Al día siguiente",
                            now=later)
        assert asked.chat_id == PERSON
        # Any later deletion drops the keys that no limit needs any more.
        assert await q.forget_asker(s, chat_id=OTHER, now=now + timedelta(days=2)) == 1
        await s.commit()
        keyed = (await s.exec(
            select(CitizenQuestion.id).where(col(CitizenQuestion.asker_key).is_not(None))
        )).all()
    assert keyed == [asked.id]  # still linked to its chat, like any current question


async def test_a_named_survey_answered_then_deleted_stays_answered_and_counted_once(
    db: Database,
) -> None:
    survey = await _survey(db, slug="percepcion")
    await _answer_all(db, survey, PERSON, [1, 3, "Bien"])
    await _answer_all(db, survey, OTHER, [0])  # halfway
    async with db.session() as s:
        before = await survey_results(s, survey=survey)
        response = (await s.exec(
            select(SurveyResponse).where(SurveyResponse.chat_id == PERSON)
        )).one()
        key = response.respondent_key
    assert (before.completed, before.in_progress) == (1, 1)
    await _forget(db)
    await _forget(db, OTHER)
    async with db.session() as s:
        rows = (await s.exec(select(SurveyResponse))).all()
        # The completed response stays, unlinked, under the same key; the halfway one is gone.
        assert [(r.id, r.chat_id, r.respondent_key) for r in rows] == [(response.id, None, key)]
        assert len((await s.exec(select(SurveyAnswer))).all()) == 3
        after = await survey_results(s, survey=survey)
        assert (after.completed, after.in_progress) == (1, 0)
        assert [qr.counts for qr in after.questions] == [qr.counts for qr in before.questions]
        # Coming back, the person finds it answered and cannot answer it again.
        [status] = await surveys_for(s, telegram_id=PERSON, chat_id=PERSON)
        assert status.state == "respondida"
        assert (await position(s, survey=survey, chat_id=PERSON)).done
        again = await start_response(s, survey=survey, telegram_id=PERSON, chat_id=PERSON)
        assert again.id == response.id
        stale = await record_answer(s, survey=survey, chat_id=PERSON, position_number=1, raw=0)
        assert stale.status == "stale"
        # The other person, whose response was halfway, may start over.
        [status] = await surveys_for(s, telegram_id=OTHER, chat_id=OTHER)
        assert status.state == "nueva"
    async with db.session() as s:
        assert len((await s.exec(select(SurveyResponse))).all()) == 1
        assert (await survey_results(s, survey=survey)).completed == 1


# --- end to end, through the bot ----------------------------------------------------

USER = 4410
PB_HEADER = ["ronda", "comuna", "presupuesto_comuna", "codigo", "proyecto", "costo", "abre",
             "cierra"]


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    now = utcnow().astimezone(settings.tz)
    window = [(now - timedelta(days=2)).strftime("%Y-%m-%d %H:%M"),
              (now + timedelta(days=20)).strftime("%Y-%m-%d %H:%M")]
    rows = [["2027", "4", "1.000.000", "P4-1", "Parque La Joya", "600.000", *window],
            ["2027", "4", "1.000.000", "P4-3", "Huertas", "200.000", *window]]
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        await import_bytes(s, "presupuesto_participativo", csv_bytes([PB_HEADER, *rows]),
                           "pp.csv", tz=settings.tz)
        await give_consent(s, telegram_id=USER, chat_id=USER)


async def _next(api: LocalBotAPI, method: str) -> Any:
    """Wait for the next call of `method` to USER and return its params."""
    done = len(api.calls_to(USER, [method]))
    return (await api.wait_for(method, chat_id=USER, count=done + 1))[-1].params


async def test_a_citizen_who_deleted_their_data_votes_again_and_still_has_one_ballot(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(USER)
    user.send_text("/presupuestos")
    await _next(api, "sendMessage")
    user.tap("🟢 4 · Occidental")
    await _next(api, "editMessageText")
    user.tap("⬜ Parque La Joya · $ 600.000")
    await _next(api, "editMessageText")
    user.tap("✅ Votar")
    assert "Su voto quedó guardado" in (await _next(api, "editMessageText"))["text"]

    user.send_text("/borrar_datos")
    await _next(api, "sendMessage")
    user.tap("🗑️ Sí, borrar")
    assert (await _next(api, "editMessageText"))["text"].startswith("Listo: borré sus datos")
    [ballot] = await _ballots(db)
    assert ballot.chat_id is None

    # Back again: told that a ballot of theirs counts, and voting again replaces it.
    user.send_text("/presupuestos")
    index = await _next(api, "sendMessage")
    assert "Ya votó en la comuna 4 · Occidental" in index["text"]
    user.tap("🟢 4 · Occidental")
    basket = await _next(api, "editMessageText")
    assert "Si vota de nuevo, lo reemplaza" in basket["text"]
    user.tap("☑️ Parque La Joya · $ 600.000")  # unmark it
    await _next(api, "editMessageText")
    user.tap("⬜ Huertas · $ 200.000")
    await _next(api, "editMessageText")
    basket_id = api.messages(USER)[-1]["message_id"]
    user.tap("✅ Votar")  # consent was deleted too: the notice first
    assert "Sus datos personales" in (await _next(api, "sendMessage"))["text"]
    user.tap("✅ Acepto")
    await _next(api, "editMessageText")
    user.tap("✅ Votar", message_id=basket_id)
    assert "Su voto quedó guardado" in (await _next(api, "editMessageText"))["text"]

    [again] = await _ballots(db)
    async with db.session() as s:
        huertas = (await s.exec(select(PBProject).where(PBProject.codigo == "P4-3"))).one()
        results = await round_results(s, round_id=again.round_id, now=utcnow())
    assert (again.id, again.chat_id, again.project_ids) == (ballot.id, USER, [huertas.id])
    assert results is not None and results.ballots == 1
    assert {r.project.codigo: r.votes for r in results.projects} == {"P4-1": 0, "P4-3": 1}


async def test_a_named_survey_answered_before_deleting_is_still_answered_in_the_bot(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, slug="percepcion")
    await _answer_all(db, survey, USER, [1, 3, "Bien"])
    user = api.user(USER)
    user.send_text("/borrar_datos")
    await _next(api, "sendMessage")
    user.tap("🗑️ Sí, borrar")
    assert (await _next(api, "editMessageText"))["text"].startswith("Listo: borré sus datos")

    user.send_text("/encuestas")
    listing = await _next(api, "sendMessage")
    [button] = [b for row in listing["reply_markup"]["inline_keyboard"] for b in row
                if "Prueba" in b["text"]]
    assert button["text"].startswith("✅")
    user.tap(button["text"])
    opened = await _next(api, "editMessageText")
    assert "Ya respondió esta encuesta" in opened["text"]
    async with db.session() as s:
        results = await survey_results(s, survey=survey)
        [response] = (await s.exec(select(SurveyResponse))).all()
    assert (results.completed, results.in_progress, response.chat_id) == (1, 0, None)
