"""Free-text search over the example data, with the phrasings citizens actually use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from storage.db import Database
from storage.demo import load_demo
from storage.models import CitizenQuestion, Event
from storage.search import SearchIndex, build_index, tokens
from tests.storage.search_phrasings import ANSWERABLE, UNANSWERABLE


@pytest.fixture
async def index(db: Database, settings: Settings) -> SearchIndex:
    async with db.session() as s:
        await load_demo(s, tz=settings.tz)
        return await build_index(s)


async def test_at_least_90_percent_of_real_phrasings_find_the_right_item_first(
    index: SearchIndex,
) -> None:
    misses = []
    for text, kind, key in ANSWERABLE:
        hits = index.search(text)
        if not hits or (hits[0].kind, hits[0].key) != (kind, key):
            misses.append((text, [(h.kind, h.key) for h in hits[:2]]))
    share = 1 - len(misses) / len(ANSWERABLE)
    print(f"\nsearch: {share:.1%} of {len(ANSWERABLE)} phrasings answered first; misses: {misses}")
    assert len(ANSWERABLE) >= 60
    assert share >= 0.90, misses


async def test_questions_about_what_the_data_does_not_hold_get_no_answer(
    index: SearchIndex,
) -> None:
    assert len(UNANSWERABLE) >= 15
    wrong = {text: [h.key for h in index.search(text)] for text in UNANSWERABLE}
    assert {t: k for t, k in wrong.items() if k} == {}


def test_phone_writing_is_normalised() -> None:
    assert tokens("Q paso con la CLL 45 y la Kra 27?") == [
        "que", "paso", "con", "la", "calle", "45", "y", "la", "carrera", "27"
    ]


async def test_comuna_by_word_lists_that_comunas_works(index: SearchIndex) -> None:
    hits = index.search("obras en la comuna cuatro")
    assert hits and all(h.kind == "obra" for h in hits[:3])
    assert {h.key for h in hits[:3]} <= {"OB-2026-013", "OB-2026-014", "OB-2026-015"}


async def test_only_published_answers_and_upcoming_events_are_found(
    db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        s.add(CitizenQuestion(text="¿Cuándo arreglan el acueducto veredal?",
                              answer="En marzo empieza la obra.", status="respondida",
                              published=True))
        s.add(CitizenQuestion(text="¿Qué pasa con el alcantarillado pluvial?",
                              answer="Está en estudio.", status="respondida", published=False))
        s.add(Event(clave="pasado", titulo="Feria gastronómica de tamales", tipo="feria",
                    lugar="Centro", inicio=datetime.now(UTC) - timedelta(days=2)))
        await s.commit()
        index = await build_index(s)
    assert [h.kind for h in index.search("acueducto veredal")] == ["pregunta"]
    assert index.search("alcantarillado pluvial") == []
    assert index.search("feria tamales") == []
