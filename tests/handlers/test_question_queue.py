"""`/preguntas` for staff: ranking, filters, offices, export, look-alikes, hidden questions."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers import question_notices as notices
from storage import questions
from storage.db import Database
from storage.models import CitizenQuestion, OutboxMessage, QuestionSupport
from storage.privacy import delete_personal_data
from storage.types import utcnow
from tests.handlers.question_helpers import (
    ADMIN,
    ANA,
    LUIS,
    OFFICE,
    _answer_to,
    _buttons,
    _latest,
    _published,
)
from tests.handlers.question_helpers import seed as seed  # overrides conftest's `seed`


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
