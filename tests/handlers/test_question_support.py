"""Questions ranked by citizens: «Yo también quiero saber» counted once per person (also after
`/borrar_datos`), the most supported questions from the hearing's card, and `/preguntas` for
staff: ranking, filters, offices, the moderator's export, look-alikes and askers who left."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import local_date
from bot.localapi import LocalBotAPI
from handlers import question_notices as notices
from storage import questions
from storage.db import Database
from storage.models import (
    BudgetLine,
    CitizenQuestion,
    Event,
    OutboxMessage,
    QuestionSupport,
)
from storage.privacy import delete_personal_data, give_consent
from storage.types import utcnow

ADMIN = 1000
ANA, LUIS, NEW = 5101, 5102, 5103  # Ana and Luis accepted the data notice; NEW did not
OTHER = 5104
OFFICE = "Secretaría de Infraestructura"


def _buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    rows = (params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


async def _answer_to(api: LocalBotAPI, tap: dict[str, Any]) -> dict[str, Any]:
    """Wait for the bot's answer to one button press (its toast or alert)."""
    query_id = tap["callback_query"]["id"]
    for _ in range(300):
        found = [c.params for c in api.calls if c.method == "answerCallbackQuery"
                 and c.params.get("callback_query_id") == query_id]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no answer to the button press {query_id}")


async def _latest(api: LocalBotAPI, chat_id: int, method: str, count: int) -> dict[str, Any]:
    calls = await api.wait_for(method, chat_id=chat_id, count=count)
    return calls[count - 1].params


async def _message_starting(api: LocalBotAPI, chat_id: int, start: str) -> dict[str, Any]:
    """Wait for the bot's message to the chat that starts with `start`."""
    for _ in range(300):
        found = [c.params for c in api.calls_to(chat_id, ["sendMessage"])
                 if c.ok and c.params["text"].startswith(start)]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no message starting {start!r} to {chat_id}")


async def _supports(db: Database) -> list[QuestionSupport]:
    async with db.session() as s:
        return list((await s.exec(select(QuestionSupport))).all())


@pytest.fixture
async def seed(db: Database) -> None:
    async with db.session() as s:
        for person in (ANA, LUIS):
            await give_consent(s, telegram_id=person, chat_id=person)
        s.add(BudgetLine(vigencia=2026, dependencia="Secretaría de Hacienda",
                         apropiacion_definitiva=1, compromisos=1))
        s.add(BudgetLine(vigencia=2026, dependencia=OFFICE, apropiacion_definitiva=1,
                         compromisos=1))
        await s.commit()


async def _published(db: Database, *, text: str, answer: str, office: str | None = OFFICE,
                     chat_id: int = LUIS) -> int:
    """Ask, answer and publish a question the way staff do; return its number."""
    async with db.session() as s:
        q = await questions.ask(s, chat_id=chat_id, topic="audiencia", text=text)
        assert q.id is not None
        if office:
            await questions.set_office(s, question_id=q.id, office=office, actor_id=ADMIN)
        await notices.answer(s, question_id=q.id, text=answer, actor_id=ADMIN)
        await questions.set_published(s, question_id=q.id, actor_id=ADMIN, published=True)
        return q.id


async def test_support_counts_once_per_person_and_a_second_tap_says_so(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    qid = await _published(db, text="¿Cuándo terminan el parque La Joya?",
                           answer="En marzo de 2027.")
    citizen = api.user(NEW)  # no personal-data consent needed: no chat id is stored
    citizen.send_text(f"/start pregunta_{qid}")
    card = await _latest(api, NEW, "sendMessage", 1)
    today = local_date(utcnow().astimezone(settings.tz).date(), settings.locale)
    assert f"💬 <b>Respuesta de {OFFICE}</b> ({today}):\nEn marzo de 2027." in card["text"]
    assert ("👍 Yo también quiero saber (0)", f"preg:a:{qid}:v") in _buttons(card)

    first = citizen.tap("👍 Yo también quiero saber (0)")
    assert (await _answer_to(api, first))["text"] == "👍 Gracias: su apoyo quedó contado."
    redrawn = await _latest(api, NEW, "editMessageText", 1)
    assert ("✅ Usted la apoya (1)", f"preg:a:{qid}:v") in _buttons(redrawn)

    again = citizen.tap("✅ Usted la apoya (1)")
    said = await _answer_to(api, again)
    assert said["text"] == (
        "Ya había apoyado esta pregunta: cada persona cuenta una sola vez. ¡Gracias!"
    )
    assert said["show_alert"] is True
    [support] = await _supports(db)
    assert support.question_id == qid and support.supporter_key.startswith("h:")
    assert str(NEW) not in support.supporter_key

    # A double tap (two presses in flight at once) counts one more person, once.
    other = api.user(OTHER)
    other.send_text(f"/start pregunta_{qid}")
    await _latest(api, OTHER, "sendMessage", 1)
    taps = [other.tap("👍 Yo también quiero saber (1)", enqueue=False) for _ in range(2)]
    for tap in taps:
        api.enqueue(tap)
    answers = sorted([(await _answer_to(api, t))["text"] for t in taps])
    assert answers == [
        "Ya había apoyado esta pregunta: cada persona cuenta una sola vez. ¡Gracias!",
        "👍 Gracias: su apoyo quedó contado.",
    ]
    assert len(await _supports(db)) == 2

    api.user(LUIS).send_text("/mis_preguntas")  # the asker too sees who answered, and when
    # (the answer itself reaches Luis through the outbox, before or after this)
    mine = await _message_starting(api, LUIS, "📋 <b>Sus preguntas</b>")
    assert f"💬 <i>{OFFICE}, {today}:</i> En marzo de 2027." in mine["text"]


async def test_a_person_who_deleted_their_data_and_came_back_cannot_support_twice(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    qid = await _published(db, text="¿Cuánto cuesta el puente de La Flora?",
                           answer="4.850 millones.")
    ana = api.user(ANA)
    ana.send_text(f"/start pregunta_{qid}")
    await _latest(api, ANA, "sendMessage", 1)
    tap = ana.tap("👍 Yo también quiero saber (0)")
    assert (await _answer_to(api, tap))["text"] == "👍 Gracias: su apoyo quedó contado."

    ana.send_text("/borrar_datos")
    await _latest(api, ANA, "sendMessage", 2)
    ana.tap("🗑️ Sí, borrar")
    done = await _latest(api, ANA, "editMessageText", 2)
    assert done["text"].startswith("Listo: borré sus datos")

    ana.send_text(f"/start pregunta_{qid}")  # back again, with no data kept but the mark
    card = await _latest(api, ANA, "sendMessage", 3)
    assert ("✅ Usted la apoya (1)", f"preg:a:{qid}:v") in _buttons(card)
    tap = ana.tap("✅ Usted la apoya (1)")
    assert (await _answer_to(api, tap))["text"].startswith("Ya había apoyado esta pregunta")
    assert len(await _supports(db)) == 1
    ana.send_text("/mis_datos")  # what is kept is said
    mine = await _latest(api, ANA, "sendMessage", 4)
    assert (
        "🔐 1 apoyo a una pregunta queda sin su id de Telegram, solo con una marca cifrada "
        "para que no se cuenten dos veces." in mine["text"]
    )


async def test_the_hearing_card_leads_to_the_most_supported_questions(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        hearing = Event(clave="audiencia-2026", titulo="Audiencia pública de rendición de cuentas",
                        tipo="audiencia pública", inicio=utcnow() + timedelta(days=10),
                        lugar="Centro Cultural del Oriente")
        s.add(hearing)
        await s.commit()
        await s.refresh(hearing)
        pending = await questions.ask(s, chat_id=ANA, topic="audiencia",
                                      text="¿Qué pasó con la ciclorruta de la carrera 27?")
        hidden = await questions.ask(s, chat_id=ANA, topic="audiencia",
                                     text="Mi vecino no paga el impuesto predial, ¿qué hago?")
        assert pending.id is not None and hidden.id is not None
        await questions.set_shared(s, question_id=pending.id, chat_id=ANA, shared=True)
    answered = await _published(db, text="¿Cuándo abre el CDI de Café Madrid?",
                                answer="En febrero.", office=None)
    async with db.session() as s:  # the pending question is ahead: two people support it
        for person in (7001, 7002):
            await questions.support(s, question_id=pending.id, chat_id=person)
        await questions.support(s, question_id=answered, chat_id=7001)

    citizen = api.user(NEW)
    citizen.send_text(f"/start evento_{hearing.id}")
    card = await _latest(api, NEW, "sendMessage", 1)
    labels = [label for label, _ in _buttons(card)]
    assert "❓ Enviar pregunta para la audiencia" in labels
    assert "📋 Preguntas más apoyadas" in labels
    citizen.tap("📋 Preguntas más apoyadas")
    ranking = await _latest(api, NEW, "editMessageText", 1)
    text = ranking["text"]
    assert text.startswith("📋 <b>Preguntas más apoyadas</b> · Página 1 de 1")
    assert text.index(f"<b>#{pending.id}</b> · 👍 2") < text.index(f"<b>#{answered}</b> · 👍 1")
    assert "🟡 Sin responder todavía" in text
    today = local_date(utcnow().astimezone(settings.tz).date(), settings.locale)
    assert f"🟢 Respondió la Alcaldía de Bucaramanga el {today}" in text
    assert "impuesto predial" not in text  # its asker did not agree to show it
    assert (f"💬 Respuesta #{answered}", f"preg:v:{answered}") in _buttons(ranking)

    tap = citizen.tap(f"👍 #{answered} (1)")
    assert (await _answer_to(api, tap))["text"] == "👍 Gracias: su apoyo quedó contado."
    redrawn = await _latest(api, NEW, "editMessageText", 2)
    assert f"<b>#{answered}</b> · 👍 2" in redrawn["text"]
    assert (f"✅ #{answered} (2)", f"preg:a:{answered}:r0") in _buttons(redrawn)


async def test_the_asker_decides_whether_a_pending_hearing_question_is_shown(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    ana = api.user(ANA)
    ana.send_text("/preguntar ¿Por qué no hay alumbrado en el parque del barrio Kennedy?")
    await _latest(api, ANA, "sendMessage", 1)
    ana.tap("🎤 Audiencia pública")
    received = await _latest(api, ANA, "editMessageText", 1)
    assert received["text"].startswith("✅ Recibimos su pregunta <b>#1</b>")
    assert "¿La mostramos, sin su nombre, en «Preguntas más apoyadas»" in received["text"]
    assert ("👍 Sí, que otros la apoyen", "preg:s:1:1") in _buttons(received)

    # Nobody else may decide for her (a forged button from another chat changes nothing).
    luis = api.user(LUIS)
    luis.send_text("/menu")
    await _latest(api, LUIS, "sendMessage", 1)
    forged = {"id": "991", "from": luis.as_dict(), "message": api.messages(LUIS)[-1],
              "chat_instance": "ci", "data": "preg:s:1:1"}
    api.enqueue({"update_id": api.new_update_id(), "callback_query": forged})
    said = await _answer_to(api, {"callback_query": forged})
    assert said["text"] == "Solo quien hizo la pregunta puede decidir si se muestra."
    async with db.session() as s:
        assert (await s.get(CitizenQuestion, 1)).share_pending is False  # type: ignore[union-attr]

    ana.tap("👍 Sí, que otros la apoyen")
    shared = await _latest(api, ANA, "editMessageText", 2)
    assert shared["text"].startswith("👍 Listo: su pregunta <b>#1</b> aparece en «Preguntas más")
    async with db.session() as s:
        page = await questions.most_supported(s)
    assert [q.id for q in page.items] == [1]

    ana.send_text("/preguntar ¿Cuándo pavimentan la calle 45 de la comuna 4?")
    await _latest(api, ANA, "sendMessage", 2)
    ana.tap("🏗️ Obras")  # only hearing questions ask to be shown
    received = await _latest(api, ANA, "editMessageText", 3)
    assert "¿La mostramos" not in received["text"]
    assert not any(data.startswith("preg:s:") for _, data in _buttons(received))


async def _seed_ranking(db: Database) -> None:
    """#1 hearing, newest, 3 people (2 through #4, grouped under it); #2 works, 2 people;
    #3 hearing, oldest, nobody."""
    now = utcnow()
    async with db.session() as s:
        for topic, text, hours in (
            ("audiencia", "¿Qué se ha hecho con la seguridad en los parques?", 1),
            ("obras", "¿Por qué está parada la obra del colegio Santander?", 2),
            ("audiencia", "¿Cuántos árboles se sembraron este año?", 3),
            ("audiencia", "¿Qué hacen por la seguridad de los parques?", 1),
        ):
            await questions.ask(s, chat_id=ANA if hours != 2 else LUIS, topic=topic, text=text,
                                now=now - timedelta(hours=hours))
        for question_id, keys in ((1, ["h:a"]), (4, ["h:a", "h:b", "h:c"]), (2, ["h:d", "h:e"])):
            for key in keys:
                s.add(QuestionSupport(question_id=question_id, supporter_key=key))
        await s.commit()
        await notices.mark_duplicate(s, question_id=4, original_id=1, actor_id=ADMIN)


def _order(text: str, *ids: int) -> list[int]:
    return sorted(ids, key=lambda n: text.index(f"<b>#{n}</b>"))


async def test_staff_see_the_queue_ranked_by_support_by_topic_or_by_age_and_filtered(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    await _seed_ranking(db)
    admin = api.user(ADMIN)
    admin.send_text("/preguntas")
    queue = await _latest(api, ADMIN, "sendMessage", 1)
    assert "Preguntas pendientes: 3" in queue["text"]
    assert "De la más apoyada a la menos" in queue["text"]
    assert _order(queue["text"], 1, 2, 3) == [1, 2, 3]
    assert "<b>#1</b> · 🎤 Audiencia pública · 👍 3 ·" in queue["text"]  # #4's people count
    assert "<b>#2</b> · 🏗️ Obras · 👍 2 ·" in queue["text"]

    admin.tap("↕️ Orden: 👍 más apoyadas")
    by_topic = await _latest(api, ADMIN, "editMessageText", 1)
    assert by_topic["text"].count("Por tema") == 1
    assert _order(by_topic["text"], 1, 2, 3) == [1, 3, 2]
    admin.tap("↕️ Orden: 🗂 por tema")
    by_age = await _latest(api, ADMIN, "editMessageText", 2)
    assert "De la más antigua a la más reciente" in by_age["text"]
    assert _order(by_age["text"], 1, 2, 3) == [3, 2, 1]

    admin.tap("🗂 Tema: todos")
    await _latest(api, ADMIN, "editMessageText", 3)
    admin.tap("🏗️ Obras")
    works = await _latest(api, ADMIN, "editMessageText", 4)
    assert "Preguntas pendientes: 1" in works["text"] and "solo 🏗️ Obras" in works["text"]
    assert "<b>#2</b>" in works["text"] and "<b>#1</b>" not in works["text"]

    # The office that answers: chosen from the budget's offices, then a filter.
    admin.tap("🏢 #2")
    offices = await _latest(api, ADMIN, "editMessageText", 5)
    assert [label for label, _ in _buttons(offices)][:2] == [
        "Secretaría de Hacienda", OFFICE]
    admin.tap(OFFICE)
    done = await _latest(api, ADMIN, "editMessageText", 6)
    assert done["text"] == f"🏢 La pregunta #2 queda para: {OFFICE}."
    admin.send_text("/preguntas")
    await _latest(api, ADMIN, "sendMessage", 2)
    admin.tap("🏢 Dependencia: todas")
    choices = await _latest(api, ADMIN, "editMessageText", 7)
    assert [label for label, _ in _buttons(choices)] == [
        OFFICE, "Sin dependencia", "Todas las dependencias"]
    admin.tap(OFFICE)
    only = await _latest(api, ADMIN, "editMessageText", 8)
    assert f"solo {OFFICE}" in only["text"] and f"· 🏢 {OFFICE}" in only["text"]
    assert _order(only["text"], 2) == [2] and "<b>#3</b>" not in only["text"]


async def test_the_moderator_gets_the_questions_as_csv_and_xlsx(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    await _seed_ranking(db)
    async with db.session() as s:
        await notices.answer(s, question_id=2, text="=Se reanuda en enero", actor_id=ADMIN)
    admin = api.user(ADMIN)
    admin.send_text("/preguntas")
    await _latest(api, ADMIN, "sendMessage", 1)
    admin.tap("📤 Exportar para el moderador (CSV)")
    sent = await _latest(api, ADMIN, "sendDocument", 1)
    assert sent["caption"].startswith("📤 Preguntas para el moderador de la audiencia:")
    # The Excel button is under the file it refers to.
    assert _buttons(sent) == [("📥 Descargar en Excel (XLSX)", "staff:preg:xx:apoyos:-:-")]
    stored = api.messages(ADMIN)[-1]["document"]
    assert stored["file_name"].startswith("preguntas-todas-") and stored["file_name"].endswith(
        ".csv")
    rows = list(csv.reader(io.StringIO(api.file_bytes(stored["file_id"]).decode("utf-8-sig"))))
    assert rows[0] == questions.EXPORT_HEADER
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]  # #4 counts in #1, not as a row
    one, two, three = rows[1:]
    assert one[1:6] == ["Audiencia pública", "pendiente", "3", "1",
                        "¿Qué se ha hecho con la seguridad en los parques?"]
    assert two[2:4] == ["respondida", "2"] and two[9] == "'=Se reanuda en enero"
    assert three[3] == "0" and three[-1] == "sí"
    assert not any(str(ANA) in cell or str(LUIS) in cell for row in rows for cell in row)

    admin.tap("📥 Descargar en Excel (XLSX)")
    xlsx = await _latest(api, ADMIN, "sendDocument", 2)
    document = api.messages(ADMIN)[-1]["document"]
    assert document["file_name"].endswith(".xlsx") and "reply_markup" not in xlsx
    sheet = load_workbook(io.BytesIO(api.file_bytes(document["file_id"]))).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == questions.EXPORT_HEADER
    assert [(r[0], r[3]) for r in values[1:]] == [(1, 3), (2, 2), (3, 0)]


async def test_grouping_suggests_the_questions_that_look_the_same(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    original = await _published(db, text="¿Cuándo terminan el parque de La Joya?",
                                answer="En marzo.", chat_id=LUIS)
    async with db.session() as s:
        await questions.ask(s, chat_id=ANA, topic="obras",
                            text="buenas, cuando entregan el parke la joya??")
        await questions.ask(s, chat_id=ANA, topic="obras",
                            text="¿Cuánto costó el puente peatonal de La Flora?")
    admin = api.user(ADMIN)
    admin.send_text("/preguntas")
    await _latest(api, ADMIN, "sendMessage", 1)
    admin.tap("🔁 Duplicada #2")
    prompt = await _latest(api, ADMIN, "editMessageText", 1)
    assert "🔎 <b>Se parecen</b>" in prompt["text"]
    assert f"<b>#{original}</b> · respondida · 👍 0" in prompt["text"]
    assert "puente peatonal" not in prompt["text"]
    assert (f"🔁 Es la misma que #{original}", f"staff:preg:g:2:{original}") in _buttons(prompt)
    admin.tap(f"🔁 Es la misma que #{original}")
    done = await _latest(api, ADMIN, "sendMessage", 2)
    assert done["text"] == (
        f"🔁 La pregunta #2 quedó como duplicada de la #{original}. "
        "La respuesta va en camino a 1 persona."
    )
    async with db.session() as s:
        grouped = await s.get(CitizenQuestion, 2)
        assert grouped is not None and grouped.duplicate_of == original
    ana = await _latest(api, ANA, "sendMessage", 1)
    assert "En marzo." in ana["text"]

    # Asked after the suggestions were first computed: still seen, and #2 is grouped now.
    async with db.session() as s:
        late = await questions.ask(s, chat_id=LUIS, topic="obras",
                                   text="el parque de la joya cuando lo terminan")
    admin.send_text("/preguntas")
    await _latest(api, ADMIN, "sendMessage", 3)
    admin.tap(f"🔁 Duplicada #{late.id}")
    prompt = await _latest(api, ADMIN, "editMessageText", 2)
    assert f"<b>#{original}</b> · respondida" in prompt["text"]
    assert "<b>#2</b>" not in prompt["text"]


async def test_answering_a_question_whose_asker_deleted_their_data_says_nobody_receives_it(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await questions.ask(s, chat_id=ANA, topic="obras",
                            text="¿Cuándo arreglan el hueco de la carrera 33?")
        await delete_personal_data(s, telegram_id=ANA)
        await s.commit()
    admin = api.user(ADMIN)
    admin.send_text("/preguntas")
    queue = await _latest(api, ADMIN, "sendMessage", 1)
    assert "🚫 Quien preguntó borró sus datos: la respuesta no le llegará." in queue["text"]
    admin.tap("✍️ Responder #1")
    prompt = await _latest(api, ADMIN, "editMessageText", 1)
    assert "La recibirá quien preguntó" not in prompt["text"]
    assert prompt["text"].endswith(
        "Quien preguntó borró sus datos: nadie recibirá la respuesta. Si la publica, cualquiera "
        "podrá leerla en «Preguntas respondidas»."
    )
    admin.send_text("La semana próxima.")
    done = await _latest(api, ADMIN, "sendMessage", 2)
    assert done["text"] == (
        "✅ Respondí la pregunta #1. Nadie la recibirá: quien preguntó borró sus datos. Si la "
        "publica, cualquiera podrá leerla en «Preguntas respondidas»."
    )
    async with db.session() as s:
        assert (await s.exec(select(OutboxMessage).where(
            col(OutboxMessage.kind) == "respuesta"))).all() == []


async def test_a_question_withdrawn_meanwhile_takes_no_support_and_says_why(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    qid = await _published(db, text="¿Cuándo abre la biblioteca de La Ciudadela?",
                           answer="En enero.")
    citizen = api.user(NEW)
    citizen.send_text(f"/start pregunta_{qid}")
    await _latest(api, NEW, "sendMessage", 1)
    async with db.session() as s:  # staff withdraw it while the card is on screen
        await questions.set_published(s, question_id=qid, actor_id=ADMIN, published=False)
    tap = citizen.tap("👍 Yo también quiero saber (0)")
    said = await _answer_to(api, tap)
    assert (said["text"], said["show_alert"]) == ("Esa pregunta ya no se puede apoyar.", True)
    assert await _supports(db) == []


async def test_staff_can_hide_a_pending_question_its_asker_had_shown(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        shown = await questions.ask(s, chat_id=ANA, topic="audiencia",
                                    text="¿Por qué mi vecino Pedro Gómez no paga el predial?")
        assert shown.id is not None
        await questions.set_shared(s, question_id=shown.id, chat_id=ANA, shared=True)
    admin = api.user(ADMIN)
    admin.send_text("/preguntas")
    queue = await _latest(api, ADMIN, "sendMessage", 1)
    assert (f"👁 A la vista en «Preguntas más apoyadas» (quien preguntó lo aceptó). Para "
            f"ocultarla: <code>/publicar {shown.id} retirar</code>") in queue["text"]
    admin.send_text(f"/publicar {shown.id} retirar")
    hidden = await _latest(api, ADMIN, "sendMessage", 2)
    assert hidden["text"] == (
        f"🙈 La pregunta #{shown.id} ya no está a la vista de los ciudadanos; sigue pendiente."
    )
    async with db.session() as s:
        assert (await questions.most_supported(s)).total == 0
        question = await s.get(CitizenQuestion, shown.id)
        assert question is not None and (question.status, question.share_pending) == (
            "pendiente", False)


async def test_preguntas_with_a_topic_shows_and_exports_only_it_and_forged_views_change_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    await _seed_ranking(db)
    admin = api.user(ADMIN)
    admin.send_text("/preguntas audiencia")
    queue = await _latest(api, ADMIN, "sendMessage", 1)
    assert "Preguntas pendientes: 2" in queue["text"] and "solo 🎤 Audiencia pública" in (
        queue["text"])
    assert _order(queue["text"], 1, 3) == [1, 3] and "<b>#2</b>" not in queue["text"]
    admin.tap("📤 Exportar para el moderador (CSV)")
    await _latest(api, ADMIN, "sendDocument", 1)
    document = api.messages(ADMIN)[-1]["document"]
    assert document["file_name"].startswith("preguntas-audiencia-")
    rows = list(csv.reader(io.StringIO(api.file_bytes(document["file_id"]).decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["1", "3"]

    for data in ("staff:preg:l:zzz:-:-:0", "staff:preg:l:apoyos:nada:-:0",
                 "staff:preg:x:apoyos:-:12345678", "staff:preg:oo:2:abcdef12"):
        forged = {"id": str(api.new_update_id()), "from": admin.as_dict(),
                  "message": api.messages(ADMIN)[0], "chat_instance": "ci", "data": data}
        api.enqueue({"update_id": api.new_update_id(), "callback_query": forged})
        await _answer_to(api, {"callback_query": forged})
    for _ in range(300):  # the same screen again is "not modified": wait for all four tries
        edits = api.calls_to(ADMIN, ["editMessageText"])
        if len(edits) >= 4:
            break
        await asyncio.sleep(0.05)
    assert [e.params["text"] for e in edits] == [
        "Esa acción ya no está en curso. Vea la cola con /preguntas."] * 4
    assert len(api.calls_to(ADMIN, ["sendDocument"])) == 1
    async with db.session() as s:
        assert (await s.get(CitizenQuestion, 2)).office is None  # type: ignore[union-attr]
