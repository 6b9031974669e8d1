"""Answering surveys: skip paths, one response per person, anonymity, results and export."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from handlers.survey_invitations import announce, invite
from storage.db import Database
from storage.importers import import_bytes
from storage.models import (
    AppSecret,
    Citizen,
    Event,
    OutboxMessage,
    Subscription,
    Survey,
    SurveyAnswer,
    SurveyResponse,
)
from storage.pseudonyms import survey_secret
from storage.survey_answers import position, record_answer, save_ticks, start_response
from storage.survey_results import export_rows, survey_results
from storage.survey_rules import AnswerRefused
from storage.surveys import event_to_wait_for, respondent_key, survey_by_slug, surveys_for
from storage.types import utcnow
from tests.storage.helpers import TZ, seed_comunas

DEF = """
slug: {slug}
titulo: Prueba
anonima: {anon}
preguntas:
  - tipo: unica
    texto: ¿Participó?
    opciones: [Sí, No]
    saltar: {{No: 3}}
  - tipo: multiple
    texto: ¿En cuáles?
    opciones: [Audiencia, Feria, Visita]
    maximo: 2
  - tipo: escala
    texto: ¿Qué tan clara es la información?
  - tipo: texto
    texto: Comentarios
    max_caracteres: 20
"""


async def _survey(
    db: Database, slug: str = "prueba", anon: bool = False, extra: str = ""
) -> Survey:
    text = DEF.format(slug=slug, anon=str(anon).lower()).replace("anonima:", extra + "anonima:")
    async with db.session() as s:
        await import_bytes(s, "encuesta", text.encode(), "p.yaml", tz=TZ)
        survey = await survey_by_slug(s, slug)
    assert survey is not None
    return survey


async def _answer_all(db: Database, survey: Survey, chat: int, answers: list[object]) -> None:
    async with db.session() as s:
        await start_response(s, survey=survey, telegram_id=chat, chat_id=chat)
        for raw in answers:
            where = await position(s, survey=survey, chat_id=chat)
            assert where.question is not None
            recorded = await record_answer(s, survey=survey, chat_id=chat,
                                           position_number=where.question.position, raw=raw)
            assert recorded.status == "ok"


async def test_a_no_skips_the_follow_up_and_the_path_is_derived_from_answers(
    db: Database,
) -> None:
    survey = await _survey(db)
    async with db.session() as s:
        await start_response(s, survey=survey, telegram_id=1, chat_id=1)
        assert (await position(s, survey=survey, chat_id=1)).question.position == 1  # type: ignore[union-attr]
        recorded = await record_answer(s, survey=survey, chat_id=1, position_number=1, raw=1)
        assert recorded.position is not None and recorded.position.question is not None
        assert recorded.position.question.position == 3
        # A fresh look at the database agrees: no cursor is stored anywhere.
        where = await position(s, survey=survey, chat_id=1)
        assert where.question is not None and where.question.position == 3
        # The skipped question cannot be answered, and an old button is refused.
        stale = await record_answer(s, survey=survey, chat_id=1, position_number=2, raw=[0])
        assert stale.status == "stale"
        again = await record_answer(s, survey=survey, chat_id=1, position_number=1, raw=0)
        assert again.status == "stale"
        await record_answer(s, survey=survey, chat_id=1, position_number=3, raw=4)
        done = await record_answer(s, survey=survey, chat_id=1, position_number=4, raw="Bien")
        assert done.position is not None and done.position.done
        answers = (await s.exec(select(SurveyAnswer))).all()
    assert sorted(str(a.value) for a in answers) == ["4", "Bien", "No"]


async def test_answers_that_do_not_fit_change_nothing(db: Database) -> None:
    survey = await _survey(db)
    async with db.session() as s:
        await start_response(s, survey=survey, telegram_id=1, chat_id=1)
        with pytest.raises(AnswerRefused, match="Esa opción no existe"):
            await record_answer(s, survey=survey, chat_id=1, position_number=1, raw=5)
        await record_answer(s, survey=survey, chat_id=1, position_number=1, raw=0)
        with pytest.raises(AnswerRefused, match="Puede marcar hasta 2 opciones"):
            await record_answer(s, survey=survey, chat_id=1, position_number=2, raw=[0, 1, 2])
        await record_answer(s, survey=survey, chat_id=1, position_number=2, raw=[2, 0])
        with pytest.raises(AnswerRefused, match="Elija un valor de 1 a 5"):
            await record_answer(s, survey=survey, chat_id=1, position_number=3, raw=6)
        await record_answer(s, survey=survey, chat_id=1, position_number=3, raw=5)
        with pytest.raises(AnswerRefused, match="tiene 21 caracteres; el máximo es 20"):
            await record_answer(s, survey=survey, chat_id=1, position_number=4, raw="x" * 21)
        answers = (await s.exec(select(SurveyAnswer))).all()
    assert [a.value for a in answers] == ["Sí", ["Audiencia", "Visita"], 5]


async def test_one_response_per_person_is_enforced_by_the_database(db: Database) -> None:
    survey = await _survey(db)
    async with db.session() as s:
        first = await start_response(s, survey=survey, telegram_id=1, chat_id=1)
        second = await start_response(s, survey=survey, telegram_id=1, chat_id=1)
        assert first.id == second.id
        assert first.chat_id == 1 and first.respondent_key.startswith("h:")  # a named survey
        s.add(SurveyResponse(survey_id=survey.id or 0, respondent_key=first.respondent_key,
                             chat_id=1))
        with pytest.raises(IntegrityError):
            await s.commit()


async def test_anonymous_responses_keep_no_chat_id_yet_resume_and_refuse_twice(
    db: Database,
) -> None:
    survey = await _survey(db, anon=True)
    chat = 987654321
    await _answer_all(db, survey, chat, [0, [1]])
    async with db.session() as s:
        [response] = (await s.exec(select(SurveyResponse))).all()
        assert response.chat_id is None
        assert str(chat) not in response.respondent_key
        assert response.respondent_key.startswith("h:") and len(response.respondent_key) == 66
        assert response.started_at.hour == 0 and response.started_at.minute == 0
        # The same person finds the same response again (resume) …
        where = await position(s, survey=survey, chat_id=chat)
        assert where.response is not None and where.response.id == response.id
        assert where.question is not None and where.question.position == 3
        # … and another person gets another key.
        other = await start_response(s, survey=survey, telegram_id=5, chat_id=5)
        assert other.respondent_key != response.respondent_key
        secrets = (await s.exec(select(AppSecret))).all()
    assert [x.name for x in secrets] == ["survey_hmac"]
    await _answer_all(db, survey, chat, [3, "ok"])
    async with db.session() as s:
        refused = await record_answer(s, survey=survey, chat_id=chat, position_number=1, raw=0)
        assert refused.status == "stale"
        header, rows = await export_rows(s, survey=survey, tz=TZ)
    assert "chat_id" not in header
    assert all(str(chat) not in str(row) for row in rows)


async def test_closed_surveys_take_no_answers(db: Database) -> None:
    survey = await _survey(db)
    async with db.session() as s:
        await start_response(s, survey=survey, telegram_id=1, chat_id=1)
        late = utcnow() + timedelta(days=1)
        survey.cierra = utcnow()
        s.add(survey)
        await s.commit()
        recorded = await record_answer(s, survey=survey, chat_id=1, position_number=1, raw=0,
                                       now=late)
        assert recorded.status == "closed"
        assert await surveys_for(s, telegram_id=1, chat_id=1) == []


async def test_comuna_surveys_reach_their_comuna_and_people_of_unknown_comuna(
    db: Database,
) -> None:
    await seed_comunas(db)
    await _survey(db, "general")
    await _survey(db, "solo-4", extra="comuna: 4\n")
    async with db.session() as s:
        s.add(Subscription(chat_id=40, kind="comuna", value="4"))
        s.add(Subscription(chat_id=12, kind="comuna", value="12"))
        await s.commit()

        async def slugs(chat: int) -> list[str]:
            return [x.survey.slug for x in await surveys_for(s, telegram_id=chat, chat_id=chat)]

        assert await slugs(40) == ["general", "solo-4"]
        assert await slugs(12) == ["general"]
        assert await slugs(99) == ["general", "solo-4"]  # comuna unknown
        citizen = Citizen(telegram_id=12, chat_id=12, comuna_id=(await survey_by_slug(
            s, "solo-4")).comuna_id)  # type: ignore[union-attr]
        s.add(citizen)
        await s.commit()
        assert await slugs(12) == ["general", "solo-4"]


async def test_the_list_tells_each_survey_new_under_way_or_answered(db: Database) -> None:
    """One person, four open surveys (two anonymous): what they did in each, and nothing of
    what someone else did."""
    done, going = await _survey(db, "hecha"), await _survey(db, "a-medias", anon=True)
    await _survey(db, "nueva")
    other = await _survey(db, "de-otro", anon=True)
    await _answer_all(db, done, 7, [1, 2, "fin"])
    await _answer_all(db, going, 7, [0])
    await _answer_all(db, other, 8, [1, 2, "fin"])
    async with db.session() as s:
        states = {x.survey.slug: x.state for x in await surveys_for(s, telegram_id=7, chat_id=7)}
    assert states == {"hecha": "respondida", "a-medias": "en_curso", "nueva": "nueva",
                      "de-otro": "nueva"}


async def test_results_count_completed_responses_only(db: Database) -> None:
    survey = await _survey(db)
    await _answer_all(db, survey, 1, [0, [0, 1], 5, "uno"])
    await _answer_all(db, survey, 2, [0, [1], 4, "dos"])
    await _answer_all(db, survey, 3, [1, 2, "tres"])
    await _answer_all(db, survey, 4, [0])  # still in progress
    async with db.session() as s:
        results = await survey_results(s, survey=survey)
        header, rows = await export_rows(s, survey=survey, tz=TZ)
    assert (results.completed, results.in_progress) == (3, 1)
    first, multi, scale, text = results.questions
    assert first.counts == [("Sí", 2), ("No", 1)] and first.answered == 3
    assert round(first.percent(2), 1) == 66.7
    assert multi.counts == [("Audiencia", 1), ("Feria", 2), ("Visita", 0)]
    assert multi.answered == 2 and multi.percent(2) == 100.0
    assert scale.counts == [("1", 0), ("2", 1), ("3", 0), ("4", 1), ("5", 1)]
    assert scale.average == pytest.approx(11 / 3)
    assert text.answered == 3 and text.counts == []
    assert header[:6] == ["respuesta", "estado", "inicio", "fin", "chat_id", "comuna"]
    assert [r[4] for r in rows] == [1, 2, 3, 4]
    assert rows[0][6:] == ["Sí", "Audiencia; Feria", 5, "uno"]
    assert rows[2][6:] == ["No", None, 2, "tres"]
    assert rows[3][1] == "en curso"


async def test_announce_reaches_topic_followers_of_the_right_comuna_once(db: Database) -> None:
    await seed_comunas(db)
    survey = await _survey(db, "solo-4", extra="comuna: 4\n")
    async with db.session() as s:
        for chat in (40, 12, 99, 7):
            if chat != 7:
                s.add(Subscription(chat_id=chat, kind="tema", value="encuestas"))
        s.add(Subscription(chat_id=40, kind="comuna", value="4"))
        s.add(Subscription(chat_id=12, kind="comuna", value="12"))
        s.add(Subscription(chat_id=7, kind="comuna", value="4"))  # not following the topic
        await s.commit()
        assert await announce(s, survey=survey) == 2
        assert await announce(s, survey=survey) == 0
        rows = (await s.exec(select(OutboxMessage))).all()
    assert sorted(r.chat_id for r in rows) == [40, 99]
    button = rows[0].payload["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "📝 Responder la encuesta", "callback_data": "enc:o:solo-4"}


async def test_invitations_skip_people_who_already_answered(db: Database) -> None:
    survey = await _survey(db, anon=True)
    await _answer_all(db, survey, 1, [1, 3, "listo"])
    await _answer_all(db, survey, 2, [0])  # halfway: still invited
    async with db.session() as s:
        assert await invite(s, survey=survey, chat_ids=[1, 2, 3], dedupe="audiencia-7") == 2
        rows = (await s.exec(select(OutboxMessage))).all()
    assert sorted(r.chat_id for r in rows) == [2, 3]


async def test_the_anonymity_key_is_created_once_when_many_start_together(db: Database) -> None:
    await _survey(db, slug="anonima", anon=True)

    async def one(chat: int) -> tuple[bytes, str]:
        async with db.session() as s:
            survey = await survey_by_slug(s, "anonima")
            assert survey is not None
            secret = await survey_secret(s)
            # The survey loaded before must still be usable after the key was created.
            return secret, await respondent_key(s, survey=survey, chat_id=chat)

    results = await asyncio.gather(*(one(8000 + i) for i in range(8)))
    assert len({secret for secret, _ in results}) == 1
    assert len({key for _, key in results}) == 8


async def test_an_event_evaluation_is_offered_once_its_event_is_over(db: Database) -> None:
    await _survey(db, "general")
    evaluation = await _survey(db, "evaluacion")
    start = utcnow() + timedelta(days=3)
    async with db.session() as s:
        s.add(Event(clave="audiencia|1", titulo="Audiencia pública", tipo="audiencia pública",
                    lugar="Teatro Santander",
                    inicio=start, fin=start + timedelta(hours=3), encuesta="evaluacion"))
        await s.commit()

        async def offered(now: datetime) -> list[str]:
            return [x.survey.slug for x in await surveys_for(s, telegram_id=1, chat_id=1,
                                                             now=now)]

        assert await offered(utcnow()) == ["general"]
        waiting = await event_to_wait_for(s, survey=evaluation)
        assert waiting is not None and waiting.titulo == "Audiencia pública"
        assert await offered(start + timedelta(hours=4)) == ["general", "evaluacion"]
        assert await event_to_wait_for(s, survey=evaluation,
                                       now=start + timedelta(hours=4)) is None


async def test_ticks_are_kept_as_a_draft_that_is_no_answer_until_confirmed(
    db: Database,
) -> None:
    survey = await _survey(db)
    async with db.session() as s:
        assert await save_ticks(s, survey=survey, chat_id=1, position_number=2,
                                chosen=[0]) == "not_started"
        await start_response(s, survey=survey, telegram_id=1, chat_id=1)
        # Question 1 is current: ticks for question 2 (or for a single choice) are stale.
        assert await save_ticks(s, survey=survey, chat_id=1, position_number=2,
                                chosen=[0]) == "stale"
        assert await save_ticks(s, survey=survey, chat_id=1, position_number=1,
                                chosen=[0]) == "stale"
        await record_answer(s, survey=survey, chat_id=1, position_number=1, raw=0)
        assert await save_ticks(s, survey=survey, chat_id=1, position_number=2,
                                chosen=[2, 0]) == "ok"
        with pytest.raises(AnswerRefused, match="Puede marcar hasta 2 opciones"):
            await save_ticks(s, survey=survey, chat_id=1, position_number=2, chosen=[0, 1, 2])
        with pytest.raises(AnswerRefused, match="Esa opción no existe"):
            await save_ticks(s, survey=survey, chat_id=1, position_number=2, chosen=[7])
    async with db.session() as s:  # a fresh look: still question 2, with its ticks
        where = await position(s, survey=survey, chat_id=1)
        assert where.question is not None and where.question.position == 2
        assert where.ticked == (0, 2)
        results = await survey_results(s, survey=survey)
        _, rows = await export_rows(s, survey=survey, tz=TZ)
    assert results.questions[1].answered == 0
    assert rows[0][6:] == ["Sí", None, None, None]  # the draft is not an answer
    async with db.session() as s:
        assert await save_ticks(s, survey=survey, chat_id=1, position_number=2,
                                chosen=[]) == "ok"  # all unticked is kept too
        assert (await position(s, survey=survey, chat_id=1)).ticked == ()
        assert await save_ticks(s, survey=survey, chat_id=1, position_number=2,
                                chosen=[1]) == "ok"
        assert (await position(s, survey=survey, chat_id=1)).ticked == (1,)
        # «Listo» turns the same row into the answer: one row, the chosen options.
        recorded = await record_answer(s, survey=survey, chat_id=1, position_number=2,
                                       raw=[1, 2])
        assert recorded.status == "ok" and recorded.value == ["Feria", "Visita"]
        assert recorded.position is not None and recorded.position.ticked == ()
        answers = (await s.exec(select(SurveyAnswer).order_by(SurveyAnswer.id))).all()
        assert [a.value for a in answers] == ["Sí", ["Feria", "Visita"]]
        # Once answered, ticks for it are stale; a closed survey takes none.
        assert await save_ticks(s, survey=survey, chat_id=1, position_number=2,
                                chosen=[0]) == "stale"
        await _answer_all(db, survey, 2, [0])
        survey.cierra = utcnow()
        assert await save_ticks(s, survey=survey, chat_id=2, position_number=2, chosen=[0],
                                now=utcnow() + timedelta(days=1)) == "closed"
        assert (await position(s, survey=survey, chat_id=2)).ticked == ()
