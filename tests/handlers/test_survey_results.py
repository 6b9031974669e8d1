"""`/resultados`: staff only, who sees results and when, and the CSV and XLSX exports."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.importers import import_bytes
from storage.models import Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from storage.survey_answers import record_answer, start_response
from storage.survey_rules import answer_value
from storage.surveys import questions_of, respondent_key
from tests.handlers.survey_support import (
    ADMIN,
    EXPORT,
    SMALL,
    USER,
    Steps,
    _buttons,
    _respond,
    _survey,
)
from tests.handlers.survey_support import seed as seed  # overrides conftest's `seed`


@pytest.fixture
async def thousand_responses(seed: None, db: Database, settings: Settings) -> Survey:
    """Store 1,000 responses (900 complete, 100 halfway): the first ten through the storage
    functions a survey tap calls, the rest as those functions store them (the same keys and
    values) in two statements, which takes well under a second instead of 20 on
    PostgreSQL."""
    async with db.session() as s:
        await import_bytes(s, "encuesta", EXPORT.encode(), "e.yaml", tz=settings.tz)
        survey = (await s.exec(select(Survey).where(Survey.slug == "exportable"))).one()
        questions = await questions_of(s, survey_id=survey.id or 0)
        rng, now = random.Random(4), datetime.now(UTC)
        later: dict[int, list[object]] = {}
        for chat in range(1, 1001):
            answers = [rng.randrange(3), rng.sample(range(3), rng.randint(1, 2)),
                       rng.randint(1, 5)][: 3 if chat % 10 else 1]  # every tenth stays halfway
            if chat > 10:
                later[chat] = answers
                continue
            await start_response(s, survey=survey, telegram_id=chat, chat_id=chat)
            for number, raw in enumerate(answers, start=1):
                recorded = await record_answer(s, survey=survey, chat_id=chat,
                                               position_number=number, raw=raw)
                assert recorded.status == "ok"
        keys = {chat: await respondent_key(s, survey=survey, chat_id=chat) for chat in later}
        conn = await s.connection()
        await conn.execute(insert(SurveyResponse), [
            {"survey_id": survey.id, "respondent_key": keys[chat], "chat_id": chat,
             "started_at": now, "completed_at": now if len(answers) == 3 else None}
            for chat, answers in later.items()])
        ids = dict((await s.exec(select(SurveyResponse.respondent_key, SurveyResponse.id)
                                 .where(SurveyResponse.survey_id == survey.id))).all())
        await conn.execute(insert(SurveyAnswer), [
            {"response_id": ids[keys[chat]], "question_id": question.id,
             "value": answer_value(question, raw)}
            for chat, answers in later.items()
            for question, raw in zip(questions, answers, strict=False)])
    return survey


async def test_staff_export_of_1000_responses_matches_the_database(
    thousand_responses: Survey, bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = thousand_responses
    admin, steps = api.user(ADMIN), Steps(api, ADMIN)
    admin.send_text("/resultados exportable")
    summary = await steps.next("sendMessage")
    document = await steps.next("sendDocument")
    await steps.next("sendPhoto")
    assert summary.params["text"].startswith(
        "📊 <b>Encuesta para exportar</b>\n900 respuestas completas · 100 en curso")
    sent = api.messages(ADMIN)
    file_id = next(m["document"]["file_id"] for m in sent if "document" in m)
    data = api.file_bytes(file_id)
    assert document.params["caption"] == "Una fila por respuesta y una columna por pregunta."
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["respuesta", "estado", "inicio", "fin", "chat_id", "comuna"]
    assert header[6:] == ["P1. ¿Le gusta el parque?", "P2. ¿Qué usa?", "P3. Califique el parque"]
    assert len(body) == 1000
    async with db.session() as s:
        stored = (await s.exec(
            select(SurveyQuestion.position, SurveyAnswer.value)
            .join(SurveyQuestion, col(SurveyQuestion.id) == col(SurveyAnswer.question_id))
            .where(SurveyQuestion.survey_id == survey.id)
        )).all()
    expected_single = Counter(v for p, v in stored if p == 1)
    expected_multi = Counter(o for p, v in stored if p == 2 for o in v)
    expected_scale = Counter(str(v) for p, v in stored if p == 3)
    single = Counter(r[6] for r in body if r[6])
    assert single == {("'" + k if k.startswith("=") else k): n for k, n in expected_single.items()}
    assert Counter(o for r in body if r[7] for o in r[7].split("; ")) == expected_multi
    assert Counter(r[8] for r in body if r[8]) == expected_scale
    assert Counter(r[1] for r in body) == {"completa": 900, "en curso": 100}
    # The summary's counts are the completed responses' counts.
    completed_yes = sum(1 for r in body if r[1] == "completa" and r[6] == "Sí")
    assert f"• Sí: {completed_yes} (" in summary.params["text"]
    # The same export as XLSX.
    steps.tap("📥 Descargar en Excel (XLSX)")
    await steps.next("sendDocument")
    xlsx_id = [m for m in api.messages(ADMIN) if "document" in m][-1]["document"]["file_id"]
    book = load_workbook(io.BytesIO(api.file_bytes(xlsx_id)))
    sheet = book.active
    assert sheet is not None and sheet.max_row == 1001
    assert not any(str(c.value).startswith("=") for c in sheet["G"])


async def test_results_are_for_staff_only_and_list_surveys(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    citizen = api.user(USER)
    citizen.send_text("/resultados diagnostico-rendicion")
    [reply] = await api.wait_for("sendMessage", chat_id=USER)
    assert reply.params["text"].startswith("No conozco el comando /resultados")
    admin, steps = api.user(ADMIN), Steps(api, ADMIN)
    admin.send_text("/resultados")
    listing = await steps.next("sendMessage")
    labels = [b["text"] for b in _buttons(listing.params)]
    assert "Diagnóstico de rendición de cuentas (0)" in labels
    steps.tap("Diagnóstico de rendición de cuentas (0)")
    summary = await steps.next("sendMessage")
    assert "Todavía nadie ha terminado esta encuesta." in summary.params["text"]
    await steps.next("sendDocument")
    admin.send_text("/resultados no-existe")
    unknown = await steps.next("sendMessage")
    assert unknown.params["text"].startswith("No encontré la encuesta «no-existe»")


async def test_citizens_see_results_only_from_five_responses_and_staff_always(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        await import_bytes(s, "encuesta", SMALL.encode(), "barrio.yaml", tz=settings.tz)
    survey = await _survey(db, "barrio")
    for chat, answers in ((9001, [1]), (9002, [1]), (9003, [0, 4])):
        await _respond(db, survey, chat, answers)
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_barrio")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("2")
    await steps.next("sendMessage")  # thanks
    waiting = await steps.next("sendMessage")
    assert waiting.params["text"].endswith(
        "Los resultados se mostrarán cuando haya al menos 5 respuestas. "
        "Por ahora hay 4 respuestas completas.")
    # Staff see everything, and are told citizens do not yet.
    admin, staff = api.user(ADMIN), Steps(api, ADMIN)
    admin.send_text("/resultados barrio")
    report = await staff.next("sendMessage")
    assert "👁️ Los ciudadanos aún no ven estos resultados: se muestran desde 5 respuestas" in (
        report.params["text"])
    assert "• Sí: 2 (50 %)" in report.params["text"]
    assert "• 2: 1 (50 %)" in report.params["text"]
    # A fifth response: the results open, except the question only two people reached.
    await _respond(db, survey, 9004, [1])
    user.send_text("/start encuesta_barrio")
    intro = await steps.next("sendMessage")
    assert "Ya respondió esta encuesta" in intro.params["text"]
    steps.tap("📊 Ver resultados")
    chart = await steps.next("sendPhoto")
    assert chart.params["caption"] == "📊 Resultados hasta ahora: 5 respuestas completas."
    shown = await steps.next("sendMessage")
    text = shown.params["text"]
    assert "• Sí: 40 %" in text and "• No: 60 %" in text
    assert ("<b>2. Califique el parque</b>\n<i>Se mostrará cuando la respondan al menos "
            "5 personas.</i>") in text
    assert "Promedio" not in text


async def test_anonymous_answers_are_exported_with_the_local_day_they_were_given(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with db.session() as s:
        await import_bytes(s, "encuesta", SMALL.encode(), "barrio.yaml", tz=settings.tz)
    survey = await _survey(db, "barrio")
    # 20:30 on 10 March in Bucaramanga is already 11 March in UTC.
    evening = datetime(2026, 3, 11, 1, 30, tzinfo=UTC)
    for clock in ("storage.surveys.utcnow", "storage.survey_answers.utcnow"):
        monkeypatch.setattr(clock, lambda: evening)
    # A response stored before days were cut in local time (at midnight UTC) keeps its date.
    async with db.session() as s:
        await start_response(s, survey=survey, telegram_id=9009, chat_id=9009, now=evening)
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_barrio")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("No")  # the last question for a «No»
    await steps.next("sendMessage", 2)
    admin, staff = api.user(ADMIN), Steps(api, ADMIN)
    admin.send_text("/resultados barrio")
    await staff.next("sendDocument")
    file_id = next(m["document"]["file_id"] for m in api.messages(ADMIN) if "document" in m)
    rows = list(csv.reader(io.StringIO(api.file_bytes(file_id).decode("utf-8-sig"))))
    assert rows[0][:5] == ["respuesta", "estado", "inicio", "fin", "comuna"]
    assert [row[1:4] for row in rows[1:]] == [
        ["en curso", "2026-03-11", ""],
        ["completa", "2026-03-10", "2026-03-10"],
    ]


LONG = """
slug: larga
titulo: Pregunta larga
preguntas:
  - tipo: unica
    texto: >-
      ¿Qué tan satisfecho está con la información que la Alcaldía publica sobre las obras,
      los contratos y el presupuesto?
    opciones: [Mucho, Poco]
"""


async def test_export_titles_end_between_words_and_excel_comes_after_the_files(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        await import_bytes(s, "encuesta", LONG.encode(), "larga.yaml", tz=settings.tz)
    await _respond(db, await _survey(db, "larga"), 9001, [0])
    admin, steps = api.user(ADMIN), Steps(api, ADMIN)
    admin.send_text("/resultados larga")
    document = await steps.next("sendDocument")
    sent = [c for c in api.calls if c.method.startswith("send")]
    assert [c.method for c in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert "reply_markup" not in sent[0].params  # the summary offers nothing yet
    [[excel]] = document.params["reply_markup"]["inline_keyboard"]
    assert excel["text"] == "📥 Descargar en Excel (XLSX)"
    file_id = next(m["document"]["file_id"] for m in api.messages(ADMIN) if "document" in m)
    header = next(csv.reader(io.StringIO(api.file_bytes(file_id).decode("utf-8-sig"))))
    # Cut to 80 characters the old way, it ended «…sobre las ob».
    title = ("P1. ¿Qué tan satisfecho está con la información que la Alcaldía publica sobre "
             "las…")
    assert header[-1] == title
    steps.tap("📥 Descargar en Excel (XLSX)")
    await steps.next("sendDocument")
    xlsx_id = [m for m in api.messages(ADMIN) if "document" in m][-1]["document"]["file_id"]
    sheet = load_workbook(io.BytesIO(api.file_bytes(xlsx_id))).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][-1] == title
