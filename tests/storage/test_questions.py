"""Citizens' questions in storage: limits, queue, answers, duplicates, publishing, search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from handlers.question_notices import answer, excerpt, mark_duplicate
from storage import questions as q
from storage.db import Database
from storage.models import AuditEntry, CitizenQuestion, OutboxMessage
from storage.search import build_index

STAFF = 1000
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


async def _ask(db: Database, chat: int | None, text: str, *, at: datetime = T0,
               topic: str = "obras") -> int:
    async with db.session() as s:
        question = await q.ask(s, chat_id=chat or 1, topic=topic, text=text, now=at)
        if chat is None:  # as if the person had deleted their data
            question.chat_id = None
            s.add(question)
            await s.commit()
        assert question.id is not None
        return question.id


async def _outbox(db: Database) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def _audit(db: Database) -> list[tuple[int | None, str, dict[str, object]]]:
    async with db.session() as s:
        rows = (await s.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    return [(e.actor_id, e.action, e.detail) for e in rows]


async def test_tracking_numbers_grow_and_mine_lists_newest_first(db: Database) -> None:
    first = await _ask(db, 501, "¿Cuándo terminan el parque La Joya?")
    second = await _ask(db, 501, "  ¿Cuánto costó el puente peatonal?  ", at=T0 + timedelta(1))
    await _ask(db, 502, "Otra persona pregunta otra cosa")
    assert second == first + 1
    async with db.session() as s:
        mine = await q.questions_of(s, chat_id=501)
    assert [x.id for x in mine.items] == [second, first]
    assert mine.items[0].text == "¿Cuánto costó el puente peatonal?"
    assert (mine.items[0].status, mine.items[0].topic) == ("pendiente", "obras")


async def test_too_short_and_too_long_questions_are_refused(db: Database) -> None:
    async with db.session() as s:
        with pytest.raises(q.QuestionError, match="muy corta"):
            await q.ask(s, chat_id=501, topic="obras", text="  ¿y eso?  ")
        with pytest.raises(q.QuestionError, match="1001 caracteres"):
            await q.ask(s, chat_id=501, topic="obras", text="a" * 1001)
        for signs in ("🙂" * 12, "?" * 14, "¿¿ 12345678 ??"):
            with pytest.raises(q.QuestionError, match="con palabras"):
                await q.ask(s, chat_id=501, topic="obras", text=signs)
        await q.ask(s, chat_id=501, topic="obras", text="a" * 1000)
        assert len((await s.exec(select(CitizenQuestion))).all()) == 1


async def test_five_questions_a_day_then_a_wait_until_the_oldest_is_24_hours_old(
    db: Database,
) -> None:
    for i in range(q.DAILY_LIMIT):
        await _ask(db, 501, f"Pregunta número {i} sobre obras", at=T0 + timedelta(hours=i))
    async with db.session() as s:
        with pytest.raises(q.RateLimited) as refused:
            await q.ask(s, chat_id=501, topic="obras", text="Una pregunta más, la sexta",
                        now=T0 + timedelta(hours=10))
    assert refused.value.retry_at == T0 + timedelta(hours=24)
    await _ask(db, 502, "Otra persona sí puede preguntar", at=T0 + timedelta(hours=10))
    await _ask(db, 501, "Al día siguiente ya puede", at=T0 + timedelta(hours=24, seconds=1))


async def test_queue_holds_pending_only_oldest_first_and_pages_clamp(db: Database) -> None:
    ids = [await _ask(db, 500 + i, f"Pregunta pendiente {i}", at=T0 - timedelta(hours=i))
           for i in range(7)]
    async with db.session() as s:
        await answer(s, question_id=ids[6], text="Ya está.", actor_id=STAFF)
        first = await q.pending_queue(s, page=0, per_page=5)
        last = await q.pending_queue(s, page=99, per_page=5)
    assert first.total == 6 and first.count == 2
    assert [x.id for x in first.items] == [ids[5], ids[4], ids[3], ids[2], ids[1]]
    assert (last.number, [x.id for x in last.items]) == (1, [ids[0]])


async def test_answer_notifies_once_through_the_outbox_and_is_audited(db: Database) -> None:
    qid = await _ask(db, 501, "¿Cuándo abren el <CDI> de Café Madrid?")
    async with db.session() as s:
        result = await answer(s, question_id=qid, text="En enero & con 120 cupos.",
                              actor_id=STAFF)
        again = await answer(s, question_id=qid, text="En enero & con 120 cupos.",
                             actor_id=STAFF)
    assert (result.updated, result.notified) == (False, 1)
    assert (again.updated, again.notified) == (True, 0)  # same text: nothing new sent
    [row] = await _outbox(db)
    assert row.chat_id == 501 and row.status == "pendiente"
    assert row.dedupe_key is not None and row.dedupe_key.startswith(f"pregunta:{qid}:respuesta:")
    assert "Respuesta a su pregunta #1" in row.payload["text"]
    assert "«¿Cuándo abren el &lt;CDI&gt; de Café Madrid?»" in row.payload["text"]
    assert "En enero &amp; con 120 cupos." in row.payload["text"]
    async with db.session() as s:
        stored = await q.get_question(s, question_id=qid)
        assert stored is not None and (stored.status, stored.answered_by) == ("respondida", STAFF)
        corrected = await answer(s, question_id=qid, text="En febrero.", actor_id=STAFF + 1)
    assert corrected.question.answered_by == STAFF + 1
    assert (corrected.updated, corrected.notified) == (True, 1)
    assert "Respuesta actualizada" in (await _outbox(db))[-1].payload["text"]
    audit = await _audit(db)
    assert [(a, act) for a, act, _ in audit] == [
        (STAFF, "pregunta_respondida"), (STAFF, "pregunta_respondida"),
        (STAFF + 1, "pregunta_respondida"),
    ]
    assert audit[2][2]["actualizada"] is True


async def test_answer_refuses_unknown_questions_and_empty_text(db: Database) -> None:
    qid = await _ask(db, 501, "¿Cuándo abren el CDI de Café Madrid?")
    async with db.session() as s:
        with pytest.raises(q.QuestionError, match="No existe la pregunta #99"):
            await answer(s, question_id=99, text="Hola", actor_id=STAFF)
        with pytest.raises(q.QuestionError, match="vacía"):
            await answer(s, question_id=qid, text="   ", actor_id=STAFF)
    assert await _outbox(db) == [] and await _audit(db) == []


async def test_an_anonymised_question_can_be_answered_without_notifying_anyone(
    db: Database,
) -> None:
    qid = await _ask(db, None, "¿Quién responde por el alumbrado?")
    async with db.session() as s:
        result = await answer(s, question_id=qid, text="La Secretaría de Infraestructura.",
                              actor_id=STAFF)
    assert result.notified == 0 and await _outbox(db) == []


async def test_duplicate_of_an_answered_question_gets_its_answer_at_once(db: Database) -> None:
    original = await _ask(db, 501, "¿Cuándo terminan el parque La Joya?")
    duplicate = await _ask(db, 502, "Quiero saber si el parque de la Joya ya casi está")
    async with db.session() as s:
        await answer(s, question_id=original, text="En diciembre.", actor_id=STAFF)
        result = await mark_duplicate(s, question_id=duplicate, original_id=original,
                                      actor_id=STAFF)
    assert (result.question.status, result.question.duplicate_of) == ("duplicada", original)
    assert result.notified == 1
    sent = await _outbox(db)
    assert [m.chat_id for m in sent] == [501, 502]
    assert f"Otra persona preguntó lo mismo (pregunta #{original})" in sent[1].payload["text"]
    assert "En diciembre." in sent[1].payload["text"]
    assert (STAFF, "pregunta_duplicada", {"pregunta": duplicate, "original": original}) in (
        await _audit(db)
    )


async def test_duplicates_of_a_pending_question_hear_when_it_is_answered(db: Database) -> None:
    root = await _ask(db, 501, "¿Cuándo terminan el parque La Joya?")
    middle = await _ask(db, 502, "¿Y el parque La Joya para cuándo?")
    leaf = await _ask(db, 503, "Parque La Joya: ¿fecha de entrega?")
    async with db.session() as s:
        await mark_duplicate(s, question_id=leaf, original_id=middle, actor_id=STAFF)
        # Marking `middle` moves `leaf` under the root too.
        result = await mark_duplicate(s, question_id=middle, original_id=root,
                                      actor_id=STAFF)
        assert result.notified == 0
        leaf_row = await q.get_question(s, question_id=leaf)
        assert leaf_row is not None and leaf_row.duplicate_of == root
        # Pointing at a duplicate means its root.
        other = await q.ask(s, chat_id=504, topic="obras", text="¿Parque La Joya terminado?")
        assert other.id is not None
        chained = await mark_duplicate(s, question_id=other.id, original_id=leaf,
                                       actor_id=STAFF)
        assert chained.original.id == root
    assert await _outbox(db) == []
    async with db.session() as s:
        answered = await answer(s, question_id=root, text="En diciembre.", actor_id=STAFF)
    assert answered.notified == 4
    assert sorted(m.chat_id for m in await _outbox(db)) == [501, 502, 503, 504]


async def test_impossible_duplicates_are_refused_and_change_nothing(db: Database) -> None:
    a = await _ask(db, 501, "¿Cuándo terminan el parque La Joya?")
    b = await _ask(db, 502, "¿Y el parque La Joya para cuándo?")
    async with db.session() as s:
        await mark_duplicate(s, question_id=b, original_id=a, actor_id=STAFF)
        with pytest.raises(q.QuestionError, match="sí misma"):
            await mark_duplicate(s, question_id=a, original_id=a, actor_id=STAFF)
        with pytest.raises(q.QuestionError, match="ya es duplicada"):
            await mark_duplicate(s, question_id=a, original_id=b, actor_id=STAFF)
        with pytest.raises(q.QuestionError, match="No existe"):
            await mark_duplicate(s, question_id=a, original_id=77, actor_id=STAFF)
        await answer(s, question_id=a, text="En diciembre.", actor_id=STAFF)
        c = await q.ask(s, chat_id=503, topic="otro", text="Otra pregunta distinta")
        assert c.id is not None
        with pytest.raises(q.QuestionError, match="ya fue respondida"):
            await mark_duplicate(s, question_id=a, original_id=c.id, actor_id=STAFF)
        row = await q.get_question(s, question_id=a)
    assert row is not None and (row.status, row.duplicate_of) == ("respondida", None)


async def test_only_answered_questions_are_published_and_listed_newest_first(
    db: Database,
) -> None:
    ids = [await _ask(db, 500 + i, f"Pregunta publicable número {i}") for i in range(3)]
    async with db.session() as s:
        with pytest.raises(q.QuestionError, match="no está respondida"):
            await q.set_published(s, question_id=ids[0], actor_id=STAFF)
        for i, qid in enumerate(ids):
            await answer(s, question_id=qid, text=f"Respuesta {i}", actor_id=STAFF,
                         now=T0 + timedelta(hours=i))
            await q.set_published(s, question_id=qid, actor_id=STAFF)
        await q.set_published(s, question_id=ids[2], actor_id=STAFF, published=True)  # no-op
        await q.set_published(s, question_id=ids[1], actor_id=STAFF)  # toggles it off
        listed = await q.published_questions(s)
        assert await q.published_question(s, question_id=ids[1]) is None
        assert await q.published_question(s, question_id=ids[2]) is not None
    assert [x.id for x in listed.items] == [ids[2], ids[0]]
    actions = [act for _, act, _ in await _audit(db) if act != "pregunta_respondida"]
    assert actions == ["pregunta_publicada"] * 3 + ["pregunta_retirada"]


async def test_search_finds_published_answers_only(db: Database) -> None:
    shown = await _ask(db, 501, "¿Cuándo arreglan el acueducto veredal de Vijagual?")
    hidden = await _ask(db, 502, "¿Qué pasa con el alcantarillado pluvial del norte?")
    async with db.session() as s:
        for qid in (shown, hidden):
            await answer(s, question_id=qid, text="En marzo empieza la obra.", actor_id=STAFF)
        await q.set_published(s, question_id=shown, actor_id=STAFF)
        index = await build_index(s)
    assert [(h.kind, h.key) for h in index.search("acueducto de vijagual")] == [
        ("pregunta", str(shown))
    ]
    assert index.search("alcantarillado pluvial") == []


def test_excerpt_escapes_and_fits_its_limit() -> None:
    assert excerpt("<b>hola</b>") == "&lt;b&gt;hola&lt;/b&gt;"
    cut = excerpt("&" * 100, 50)
    assert cut.endswith("…") and len(cut) <= 50 and "&amp" in cut and cut.count("&amp;") == 9


async def test_only_published_or_shared_pending_hearing_questions_take_support(
    db: Database,
) -> None:
    works = await _ask(db, 501, "¿Cuándo terminan el parque La Joya?")
    hearing = await _ask(db, 502, "¿Cuándo es la audiencia pública?", topic="audiencia")
    async with db.session() as s:
        for question_id in (works, hearing):  # pending and not shown by their askers
            with pytest.raises(q.QuestionError, match="ya no se puede apoyar"):
                await q.support(s, question_id=question_id, chat_id=900)
        with pytest.raises(q.QuestionError, match="Solo quien hizo la pregunta"):
            await q.set_shared(s, question_id=hearing, chat_id=900, shared=True)
        await q.set_shared(s, question_id=hearing, chat_id=502, shared=True)
        assert (await q.support(s, question_id=hearing, chat_id=900)).added
        await answer(s, question_id=hearing, text="El 15 de diciembre.", actor_id=STAFF)
        # Answered but not published: nobody can see it, nobody can support it.
        with pytest.raises(q.QuestionError):
            await q.support(s, question_id=hearing, chat_id=901)
        with pytest.raises(q.QuestionError, match="ya no está pendiente"):
            await q.set_shared(s, question_id=hearing, chat_id=502, shared=False)
        await q.set_published(s, question_id=hearing, actor_id=STAFF, published=True)
        again = await q.support(s, question_id=hearing, chat_id=900)
        assert (again.added, again.count) == (False, 1)
        assert (await q.support(s, question_id=hearing, chat_id=901)).count == 2
        assert await q.supports_kept(s, chat_id=900) == 1


async def test_look_alikes_come_from_the_search_index_whatever_the_question_names(
    db: Database,
) -> None:
    # A comuna or a works status in a question is no filter here: it is a question.
    original = await _ask(db, 501, "¿Por qué está suspendida la obra del colegio en la comuna 4?")
    other = await _ask(db, 502, "¿Cuánto costó el puente peatonal de La Flora?")
    alike = await _ask(db, 503, "la obra del kolegio de la comuna 4 sigue suspendida, por que?")
    duplicate = await _ask(db, 504, "obra colegio comuna 4 suspendida")
    async with db.session() as s:
        await mark_duplicate(s, question_id=duplicate, original_id=original, actor_id=STAFF)
        found = await q.likely_duplicates(s, question_id=alike)
        assert [x.id for x in found] == [original]  # not itself, not a grouped duplicate
        assert await q.likely_duplicates(s, question_id=other) == []
