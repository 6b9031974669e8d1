"""`/encuestas` and `/resultados` end to end through the fake Bot API."""

from __future__ import annotations

import copy
import csv
import io
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import Call, LocalBotAPI
from handlers.survey_invitations import invite
from storage.db import Database
from storage.importers import import_bytes
from storage.importers.surveys import load_sample_surveys
from storage.models import (
    ConversationState,
    Event,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
)
from storage.surveys import record_answer, start_response
from storage.types import utcnow

USER = 7301
OTHER = 7302
ADMIN = 1000
EXPORT = """
slug: exportable
titulo: Encuesta para exportar
preguntas:
  - tipo: unica
    texto: ¿Le gusta el parque?
    opciones: [Sí, "No", "=HYPERLINK(1)"]
  - tipo: multiple
    texto: ¿Qué usa?
    opciones: [Canchas, Senderos, Juegos]
    maximo: 2
  - tipo: escala
    texto: Califique el parque
"""


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await load_sample_surveys(s, tz=settings.tz)


class Steps:
    """Wait for the next call of a method, counting what was already seen."""

    def __init__(self, api: LocalBotAPI, chat_id: int) -> None:
        self.api, self.chat_id = api, chat_id
        self.seen: Counter[str] = Counter()
        self.taps = 0

    def tap(self, label: str) -> None:
        """Tap a button (each tap gets exactly one callback answer)."""
        self.api.user(self.chat_id).tap(label)
        self.taps += 1

    def forge(self, data: str) -> None:
        """Send a callback with made-up data from the last message."""
        update = self.api.user(self.chat_id).tap(
            next(b["text"] for m in reversed(self.api.messages(self.chat_id))
                 for b in _buttons(m)), enqueue=False)
        update["callback_query"]["data"] = data
        self.api.enqueue(update)
        self.taps += 1

    async def answer(self) -> Call:
        """Wait until every tap so far got its callback answer; return the last one."""
        calls = await self.api.wait_for("answerCallbackQuery", count=self.taps)
        return calls[-1]

    async def next(self, method: str, n: int = 1) -> Call:
        """Wait for `n` more calls of `method` to the chat and return the last one."""
        self.seen[method] += n
        calls = await self.api.wait_for(method, chat_id=self.chat_id, count=self.seen[method])
        return calls[-1]


def _buttons(message: dict[str, object]) -> Iterator[dict[str, str]]:
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    for row in markup.get("inline_keyboard", []):
        yield from row


async def _survey(db: Database, slug: str) -> Survey:
    async with db.session() as s:
        return (await s.exec(select(Survey).where(Survey.slug == slug))).one()


async def _answers(db: Database, survey: Survey) -> list[tuple[int, object]]:
    async with db.session() as s:
        rows = (await s.exec(
            select(SurveyQuestion.position, SurveyAnswer.value)
            .join(SurveyQuestion, col(SurveyQuestion.id) == col(SurveyAnswer.question_id))
            .where(SurveyQuestion.survey_id == survey.id)
            .order_by(col(SurveyQuestion.position))
        )).all()
    return [(p, v) for p, v in rows]


@pytest.mark.http  # written around the pace of HTTP round trips
async def test_named_survey_with_skip_paused_resumed_completed_and_refused_twice(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "percepcion-gestion")
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/encuestas")
    listing = await steps.next("sendMessage")
    assert listing.params["text"].startswith(
        "📝 <b>Encuestas abiertas</b>\nElija una para responderla. Al terminar verá los "
        "resultados, cuando haya al menos 5 respuestas.")
    labels = [b["text"] for b in _buttons(listing.params)]
    assert "🆕 Percepción de la gestión de la Alcaldía" in labels
    steps.tap("🆕 Percepción de la gestión de la Alcaldía")
    intro = await steps.next("editMessageText")
    assert "7 preguntas" in intro.params["text"] and "quedan ligadas a su cuenta" in (
        intro.params["text"])
    # A named survey asks for consent first.
    steps.tap("▶️ Empezar")
    notice = await steps.next("sendMessage")
    assert "Sus datos personales" in notice.params["text"]
    steps.tap("✅ Acepto")  # accepting carries on: the survey starts by itself
    edits = [await steps.next("editMessageText"), await steps.next("editMessageText")]
    [first] = [e for e in edits if "pregunta 1 de 7" in e.params["text"]]
    assert "1 es «Muy mala» y 5 es «Muy buena»" in first.params["text"]
    # A double tap records one answer and does not skip question 2.
    steps.tap("4")
    steps.tap("4")
    second = await steps.next("sendMessage")
    stale = await steps.answer()
    assert "pregunta 2 de 7" in second.params["text"]
    assert stale.params.get("text") == "Esa pregunta ya quedó respondida."
    answered = await steps.next("editMessageText")
    assert answered.params["text"].endswith("✔️ <i>4</i>")
    assert await _answers(db, survey) == [(1, 4)]
    steps.tap("3")
    third = await steps.next("sendMessage")
    assert "pregunta 3 de 7" in third.params["text"]
    steps.tap("En parte")
    fourth = await steps.next("sendMessage")
    assert "pregunta 4 de 7" in fourth.params["text"]
    # Leave halfway.
    steps.tap("⏸️ Pausar")
    paused = await steps.next("editMessageText", 3)
    assert paused.params["text"].startswith("⏸️ Pausé la encuesta")
    # Resume from the list: it says where the person is.
    user.send_text("/encuestas")
    listing = await steps.next("sendMessage")
    steps.tap("▶️ Percepción de la gestión de la Alcaldía (continuar)")
    intro = await steps.next("editMessageText")
    assert "Ya empezó esta encuesta" in intro.params["text"]
    steps.tap("▶️ Continuar")
    resumed = await steps.next("editMessageText")
    assert "pregunta 4 de 7" in resumed.params["text"]
    # Multiple choice: at most two.
    steps.tap("▫️ Seguridad")
    await steps.next("editMessageReplyMarkup")
    steps.tap("▫️ Salud")
    await steps.next("editMessageReplyMarkup")
    steps.tap("▫️ Empleo")
    refused = await steps.answer()
    assert refused.params["text"].startswith("Puede marcar hasta 2 opciones")
    steps.tap("Listo ▶️ (2/2)")
    fifth = await steps.next("sendMessage")
    assert "pregunta 5 de 7" in fifth.params["text"]
    chosen = await steps.next("editMessageText")
    assert chosen.params["text"].endswith("✔️ <i>Seguridad; Salud</i>")
    # «No» skips question 6.
    steps.tap("No")
    seventh = await steps.next("sendMessage")
    assert "pregunta 7 de 7" in seventh.params["text"]
    user.send_text("x" * 450)
    too_long = await steps.next("sendMessage")
    assert too_long.params["text"].startswith("Su respuesta tiene 450 caracteres; el máximo es 400")
    user.send_text("Más parques <y andenes>")
    thanks = await steps.next("sendMessage")
    assert thanks.params["text"].startswith("✅ <b>¡Gracias!</b>")
    # The only response so far: showing its figures would show this person's answers.
    waiting = await steps.next("sendMessage")
    assert waiting.params["text"] == (
        "📊 <b>Percepción de la gestión de la Alcaldía</b>\nLos resultados se mostrarán "
        "cuando haya al menos 5 respuestas. Por ahora hay 1 respuesta completa.")
    assert "sendPhoto" not in [c.method for c in api.calls]
    assert await _answers(db, survey) == [
        (1, 4), (2, 3), (3, "En parte"), (4, ["Seguridad", "Salud"]), (5, "No"),
        (7, "Más parques <y andenes>"),
    ]
    async with db.session() as s:
        [response] = (await s.exec(select(SurveyResponse))).all()
        assert (await s.exec(select(ConversationState))).all() == []
    assert response.chat_id == USER and response.completed_at is not None
    # A second attempt is refused: no start button, and forged answers change nothing.
    user.send_text("/start encuesta_percepcion-gestion")
    again = await steps.next("sendMessage")
    assert "Ya respondió esta encuesta" in again.params["text"]
    assert "▶️ Empezar" not in [b["text"] for b in _buttons(again.params)]
    steps.forge(f"enc:s:{survey.id}")
    answer = await steps.answer()
    assert answer.params["text"] == "✅ Ya respondió esta encuesta. ¡Gracias!"
    steps.forge(f"enc:a:{survey.id}:1:1")
    answer = await steps.answer()
    assert answer.params["text"] == "Esa pregunta ya quedó respondida."
    assert len(await _answers(db, survey)) == 6


async def test_anonymous_survey_stores_no_chat_id(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(OTHER), Steps(api, OTHER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    intro = await steps.next("sendMessage")
    assert "Es anónima" in intro.params["text"]
    steps.tap("▶️ Empezar")  # no consent needed: nothing links the answers to the person
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")  # not participated: skips question 3
    fourth = await steps.next("sendMessage")
    assert "pregunta 4 de 8" in fourth.params["text"]
    steps.tap("▫️ Redes sociales")
    await steps.next("editMessageReplyMarkup")
    steps.tap("Listo ▶️ (1/3)")
    await steps.next("sendMessage")
    steps.tap("▫️ Cumplimiento de las metas del plan")
    await steps.next("editMessageReplyMarkup")
    steps.tap("Listo ▶️ (1/3)")
    await steps.next("sendMessage")
    steps.tap("5")
    await steps.next("sendMessage")
    steps.tap("JAL o JAC")
    await steps.next("sendMessage")
    user.send_text(f"Soy el {OTHER}, cuénteme de las obras")
    summary = await steps.next("sendMessage", 2)
    assert "Los resultados se mostrarán cuando haya al menos 5 respuestas" in (
        summary.params["text"])
    async with db.session() as s:
        responses = (await s.exec(select(SurveyResponse))).all()
        answers = (await s.exec(select(SurveyAnswer))).all()
    [response] = responses
    assert response.chat_id is None and response.completed_at is not None
    assert str(OTHER) not in response.respondent_key
    assert len(answers) == 7
    stored = [str(a.value) for a in answers]
    assert not any(str(OTHER) == value for value in stored)
    user.send_text("/mis_datos")
    data = await steps.next("sendMessage")
    assert "Encuestas respondidas (no anónimas): 0" in data.params["text"]


async def test_hearing_evaluation_button_from_another_message_opens_the_intro(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/encuestas")
    await steps.next("sendMessage")
    steps.forge("enc:o:evaluacion-audiencia")
    intro = await steps.next("sendMessage")
    assert intro.params["text"].startswith(
        "📝 <b>Evaluación de la audiencia pública de rendición de cuentas</b>")
    steps.forge("enc:o:no-existe")
    gone = await steps.next("sendMessage")
    assert gone.params["text"] == "Esa encuesta ya no está disponible."
    gone_text = "Esa encuesta ya no está disponible."
    stale_text = "Esa pregunta ya quedó respondida."
    for data, expected in (("enc:a:999:1:0", gone_text), ("enc:zz", gone_text),
                           ("enc:s:abc", gone_text), ("enc:m:1:1:99999:ok", stale_text),
                           ("enc:a:1:1:0:extra", gone_text)):
        steps.forge(data)
        answer = await steps.answer()
        assert answer.params["text"] == expected, data
    async with db.session() as s:
        assert (await s.exec(select(SurveyResponse))).all() == []


@pytest.fixture
async def thousand_responses(seed: None, db: Database, settings: Settings) -> Survey:
    """Store 1,000 responses (900 complete, 100 halfway) through the storage functions."""
    async with db.session() as s:
        await import_bytes(s, "encuesta", EXPORT.encode(), "e.yaml", tz=settings.tz)
        survey = (await s.exec(select(Survey).where(Survey.slug == "exportable"))).one()
        rng = random.Random(4)
        for chat in range(1, 1001):
            await start_response(s, survey=survey, telegram_id=chat, chat_id=chat)
            answers = [rng.randrange(3), rng.sample(range(3), rng.randint(1, 2)),
                       rng.randint(1, 5)]
            for number, raw in enumerate(answers[: 3 if chat % 10 else 1], start=1):
                recorded = await record_answer(s, survey=survey, chat_id=chat,
                                               position_number=number, raw=raw)
                assert recorded.status == "ok"  # every tenth response stays halfway
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


@pytest.mark.http  # written around the pace of HTTP round trips
async def test_an_invitation_through_the_outbox_opens_the_hearing_evaluation(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "evaluacion-audiencia")
    async with db.session() as s:
        queued = await invite(s, survey=survey, chat_ids=[USER, OTHER], dedupe="audiencia-1")
        again = await invite(s, survey=survey, chat_ids=[USER], dedupe="audiencia-1")
    assert (queued, again) == (2, 0)
    steps = Steps(api, USER)
    invitation = await steps.next("sendMessage")
    assert invitation.params["text"].startswith(
        "📝 <b>Evaluación de la audiencia pública de rendición de cuentas</b>")
    steps.tap("📝 Responder la encuesta")
    intro = await steps.next("sendMessage")
    assert "6 preguntas. Es anónima" in intro.params["text"]
    steps.tap("▶️ Empezar")
    first = await steps.next("editMessageText")
    assert "pregunta 1 de 6" in first.params["text"]
    steps.tap("No la pude seguir")  # skips straight to the last question
    last = await steps.next("sendMessage")
    assert "pregunta 6 de 6" in last.params["text"]
    # Paused at a free-text question, typed text is a normal search again, not an answer.
    steps.tap("⏸️ Pausar")
    await steps.next("editMessageText", 2)
    api.user(USER).send_text("obras del parque")
    await steps.next("sendMessage")
    async with db.session() as s:  # only the search's subject is kept, no survey step
        kept = (await s.exec(select(ConversationState))).all()
        assert [row.flow for row in kept] in ([], ["tema"])
    assert await _answers(db, survey) == [(1, "No la pude seguir")]
    api.user(USER).send_text("/start encuesta_evaluacion-audiencia")
    await steps.next("sendMessage")
    steps.tap("▶️ Continuar")
    resumed = await steps.next("editMessageText")
    assert "pregunta 6 de 6" in resumed.params["text"]
    api.user(USER).send_text("Que la hagan en la tarde")
    thanks = await steps.next("sendMessage")
    assert thanks.params["text"].startswith("✅ <b>¡Gracias!</b>")
    assert await _answers(db, survey) == [(1, "No la pude seguir"), (6, "Que la hagan en la tarde")]


async def test_surveys_are_answered_in_private_not_in_a_junta_group(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.group(-100400, "Junta comuna 4")
    api.user(USER).send_text("/encuestas", chat_id=-100400)
    [reply] = await api.wait_for("sendMessage", chat_id=-100400)
    assert reply.params["text"].startswith("Las encuestas se responden en un chat privado")
    [[button]] = reply.params["reply_markup"]["inline_keyboard"]
    assert button["url"] == "https://t.me/cabildo_local_bot"


async def test_staff_import_a_definition_from_telegram_with_clear_errors(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_document("exportable.yaml", EXPORT.encode(), caption="/importar encuesta")
    [done] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert done.params["text"].startswith("✅ Importación completa: encuesta: 1 fila nueva")
    broken = EXPORT.replace("slug: exportable", "slug: rota").replace(
        "opciones: [Sí, \"No\", \"=HYPERLINK(1)\"]", "opciones: [Sí]")
    admin.send_document("rota.yaml", broken.encode(), caption="/importar encuesta")
    _, failed = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert failed.params["text"].startswith("❌ No se importó nada.")
    assert "Pregunta 1, campo «opciones»: hacen falta al menos 2 opciones" in (
        failed.params["text"])
    async with db.session() as s:
        slugs = (await s.exec(select(Survey.slug))).all()
    assert "rota" not in slugs and "exportable" in slugs


async def test_closed_and_future_surveys_are_not_listed_and_cannot_start(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    past = EXPORT.replace("slug: exportable", "slug: pasada\ncierra: 2020-01-31")
    future = EXPORT.replace("slug: exportable",
                            "slug: futura\nabre: 2099-01-15 08:00\ncierra: 2099-01-31")
    async with db.session() as s:
        for text in (past, future):
            await import_bytes(s, "encuesta", text.encode(), "e.yaml", tz=settings.tz)
        closed = (await s.exec(select(Survey).where(Survey.slug == "pasada"))).one()
        later = (await s.exec(select(Survey).where(Survey.slug == "futura"))).one()
    steps = Steps(api, USER)
    api.user(USER).send_text("/encuestas")
    listing = await steps.next("sendMessage")
    labels = " ".join(b["text"] for b in _buttons(listing.params))
    assert "Encuesta para exportar" not in labels
    api.user(USER).send_text("/start encuesta_pasada")
    intro = await steps.next("sendMessage")
    assert intro.params["text"].endswith("Esta encuesta ya no recibe respuestas.")
    api.user(USER).send_text("/start encuesta_futura")
    intro = await steps.next("sendMessage")
    assert "empieza a recibir respuestas el jueves, 15 de enero de 2099, 8:00" in (
        intro.params["text"])
    assert "\nRecibe respuestas hasta el sábado, 31 de enero de 2099" in intro.params["text"]
    assert ".." not in intro.params["text"]
    steps.forge(f"enc:s:{closed.id}")
    answer = await steps.answer()
    assert answer.params["text"] == "Esta encuesta ya no recibe respuestas."
    steps.forge(f"enc:s:{later.id}")  # an old «Empezar» of a survey that now opens later
    answer = await steps.answer()
    assert answer.params["text"] == (
        "Esta encuesta empieza a recibir respuestas el jueves, 15 de enero de 2099, "
        "8:00 a.\u202fm.")  # one full stop, not «a. m..»
    async with db.session() as s:
        assert (await s.exec(select(SurveyResponse))).all() == []


async def test_a_hearing_evaluation_waits_for_the_hearing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    start = utcnow() + timedelta(days=2)
    async with db.session() as s:
        s.add(Event(clave="audiencia|2026", titulo="Audiencia pública 2026",
                    tipo="audiencia pública", lugar="Teatro Santander", inicio=start,
                    fin=start + timedelta(hours=3), encuesta="evaluacion-audiencia"))
        await s.commit()
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/encuestas")
    listing = await steps.next("sendMessage")
    assert "Evaluación de la audiencia" not in str(listing.params["reply_markup"])
    user.send_text("/start encuesta_evaluacion-audiencia")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    refused = await steps.answer()
    assert refused.params["text"] == (
        "Esta encuesta se abre cuando termine «Audiencia pública 2026».")
    async with db.session() as s:
        assert (await s.exec(select(SurveyResponse))).all() == []


async def test_an_option_can_be_typed_and_other_text_gets_the_question_again(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    first = await steps.next("editMessageText")
    assert "pregunta 1 de 8" in first.params["text"]
    user.send_text("¡SÍ!")  # typed instead of tapped: the option of that name
    second = await steps.next("sendMessage")
    assert "pregunta 2 de 8" in second.params["text"]
    user.send_text("hola, qué es esto")  # not an option: the question again, with buttons
    again = await steps.next("sendMessage")
    assert again.params["text"].startswith("Está respondiendo una encuesta")
    assert "pregunta 2 de 8" in again.params["text"]
    assert "No" in [b["text"] for b in _buttons({"reply_markup": again.params["reply_markup"]})]
    steps.tap("No")  # the skip rule still applies: question 4 next
    fourth = await steps.next("sendMessage")
    assert "pregunta 4 de 8" in fourth.params["text"]
    user.send_text("/menu")  # a command leaves the survey's step: text is a search again
    await steps.next("sendMessage")
    user.send_text("presupuesto")
    reply = await steps.next("sendMessage")
    assert "Está respondiendo una encuesta" not in reply.params["text"]
    async with db.session() as s:
        [response] = (await s.exec(select(SurveyResponse))).all()
        answers = (await s.exec(select(SurveyAnswer).where(
            SurveyAnswer.response_id == response.id))).all()
    assert sorted(a.value for a in answers) == ["No", "Sí"]


def _ticked(params: dict[str, object]) -> list[str]:
    return [b["text"][2:] for b in _buttons(params) if b["text"].startswith("✅ ")]


async def test_ticks_survive_pausing_a_command_and_typed_text_until_listo(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "diagnostico-rendicion")
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")  # skips to question 4, multiple choice
    fourth = await steps.next("sendMessage")
    assert "pregunta 4 de 8" in fourth.params["text"]
    steps.tap("▫️ Redes sociales")
    await steps.next("editMessageReplyMarkup")
    steps.tap("▫️ Radio")
    ticked = await steps.next("editMessageReplyMarkup")
    assert _ticked(ticked.params) == ["Redes sociales", "Radio"]
    # Pausing and continuing shows the same ticks.
    steps.tap("⏸️ Pausar")
    await steps.next("editMessageText", 3)
    steps.tap("▶️ Continuar")
    resumed = await steps.next("editMessageText")
    assert "pregunta 4 de 8" in resumed.params["text"]
    assert _ticked(resumed.params) == ["Redes sociales", "Radio"]
    assert "Listo ▶️ (2/3)" in [b["text"] for b in _buttons(resumed.params)]
    # Unticking one is kept too; then a command leaves the survey's step.
    steps.tap("✅ Radio")
    await steps.next("editMessageReplyMarkup")
    user.send_text("/menu")
    await steps.next("sendMessage")
    async with db.session() as s:
        assert (await s.exec(select(ConversationState))).all() == []
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Continuar")
    again = await steps.next("editMessageText")
    assert _ticked(again.params) == ["Redes sociales"]
    # Typed text gets the question again, with the ticks.
    user.send_text("no sé")
    reminder = await steps.next("sendMessage")
    assert reminder.params["text"].startswith("Está respondiendo una encuesta")
    assert _ticked(reminder.params) == ["Redes sociales"]
    assert await _answers(db, survey) == [
        (1, "Sí"), (2, "No"), (4, {"marcadas": [1]}),  # a draft, not an answer
    ]
    steps.tap("▫️ Página web")
    await steps.next("editMessageReplyMarkup")
    steps.tap("Listo ▶️ (2/3)")
    fifth = await steps.next("sendMessage")
    assert "pregunta 5 de 8" in fifth.params["text"]
    assert not _ticked(fifth.params)
    assert await _answers(db, survey) == [
        (1, "Sí"), (2, "No"), (4, ["Página web", "Redes sociales"]),
    ]
    # The old message's buttons are stale now, and change nothing.
    steps.forge(f"enc:m:{survey.id}:4:2:3")
    stale = await steps.answer()
    assert stale.params["text"] == "Esa pregunta ya quedó respondida."
    assert len(await _answers(db, survey)) == 3


async def test_a_survey_closed_while_answering_takes_no_ticks_taps_or_text(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "diagnostico-rendicion")
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")
    await steps.next("sendMessage")
    steps.tap("▫️ Radio")
    await steps.next("editMessageReplyMarkup")
    async with db.session() as s:
        stored = await s.get(Survey, survey.id)
        assert stored is not None
        stored.cierra = utcnow() - timedelta(minutes=1)
        s.add(stored)
        await s.commit()
    closed = "Esta encuesta ya no recibe respuestas."
    for label in ("▫️ Página web", "Listo ▶️ (1/3)"):
        steps.tap(label)
        answer = await steps.answer()
        assert answer.params["text"] == closed, label
    user.send_text("Radio")
    reply = await steps.next("sendMessage")
    assert reply.params["text"] == closed
    steps.tap("⏸️ Pausar")
    answer = await steps.answer()
    assert answer.params["text"] == closed
    emptied = await steps.next("editMessageReplyMarkup")
    assert not emptied.params.get("reply_markup")
    assert await _answers(db, survey) == [(1, "Sí"), (2, "No"), (4, {"marcadas": [3]})]
    async with db.session() as s:
        assert (await s.exec(select(ConversationState))).all() == []


async def test_an_old_pause_button_after_finishing_offers_no_continue(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_evaluacion-audiencia")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("No la pude seguir")
    last = await steps.next("sendMessage")
    assert "pregunta 6 de 6" in last.params["text"]
    user.send_text("🙂🙂")  # an emoji is an answer like any other text
    await steps.next("sendMessage", 2)
    question_id = next(m["message_id"] for m in api.messages(USER)
                       if "pregunta 6 de 6" in str(m.get("text")))
    user.tap("⏸️ Pausar", message_id=question_id)
    steps.taps += 1
    answer = await steps.answer()
    assert answer.params["text"] == "✅ Ya respondió esta encuesta. ¡Gracias!"
    await steps.next("editMessageReplyMarkup")
    assert not any("Pausé" in str(m.get("text")) for m in api.messages(USER))
    assert not any(b["text"] == "▶️ Continuar" for m in api.messages(USER) for b in _buttons(m))


async def test_a_tick_on_an_older_copy_of_the_question_keeps_the_newer_copys_ticks(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "diagnostico-rendicion")
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")
    older = await steps.next("sendMessage")  # question 4, multiple choice
    older_id = older.response["result"]["message_id"]
    steps.tap("▫️ Redes sociales")
    await steps.next("editMessageReplyMarkup")
    user.send_text("hola")  # the bot shows the question again, below
    newer = await steps.next("sendMessage")
    assert _ticked(newer.params) == ["Redes sociales"]
    steps.tap("▫️ Radio")  # on the newer copy
    await steps.next("editMessageReplyMarkup")
    # On the older copy, which never saw «Radio»: a double tap, both taps from what it showed.
    tap = user.tap("▫️ Página web", message_id=older_id, enqueue=False)
    api.enqueue(tap)
    api.enqueue(copy.deepcopy(tap))
    steps.taps += 2
    await steps.answer()
    redrawn = await steps.next("editMessageReplyMarkup")
    assert sorted(_ticked(redrawn.params)) == ["Página web", "Radio", "Redes sociales"]
    steps.tap("Listo ▶️ (2/3)")  # the newer copy's button, still showing two: not recorded,
    warned = await steps.answer()  # it is redrawn with all three first
    assert warned.params["text"].startswith("Marcó opciones en otro mensaje de esta pregunta")
    shown = await steps.next("editMessageReplyMarkup")
    assert sorted(_ticked(shown.params)) == ["Página web", "Radio", "Redes sociales"]
    steps.tap("Listo ▶️ (3/3)")
    await steps.next("sendMessage")
    [*_, (number, recorded)] = await _answers(db, survey)
    assert number == 4 and sorted(recorded) == ["Página web", "Radio", "Redes sociales"]


async def test_ticking_keeps_the_survey_step_alive(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")
    await steps.next("sendMessage")  # question 4, multiple choice
    async with db.session() as s:  # the person looked at it for 40 minutes…
        row = (await s.exec(select(ConversationState))).one()
        row.updated_at = utcnow() - timedelta(minutes=40)
        s.add(row)
        await s.commit()
    steps.tap("▫️ Radio")  # …then ticked an option
    await steps.next("editMessageReplyMarkup")
    user.send_text("hola")
    reply = await steps.next("sendMessage")
    assert reply.params["text"].startswith("Está respondiendo una encuesta")


SMALL = """
slug: barrio
titulo: Consulta del barrio
anonima: true
preguntas:
  - tipo: unica
    texto: ¿Usa el parque?
    opciones: [Sí, "No"]
    saltar: {"No": fin}
  - tipo: escala
    texto: Califique el parque
"""


async def _respond(db: Database, survey: Survey, chat: int, answers: list[object]) -> None:
    async with db.session() as s:
        await start_response(s, survey=survey, telegram_id=chat, chat_id=chat)
        for number, raw in enumerate(answers, start=1):
            recorded = await record_answer(s, survey=survey, chat_id=chat,
                                           position_number=number, raw=raw)
            assert recorded.status == "ok"


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
    monkeypatch.setattr("storage.surveys.utcnow", lambda: evening)
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
