"""Free-text search over goals, works, budget offices, events, contracting, reports and answers.

People write on phones: no accents, typos, abbreviations (`cll`, `kra`, `q`), synonyms
(`plata` for presupuesto, `arreglo` for obra). Text is folded (unidecode, lower case),
abbreviations expanded, Spanish stop words dropped, words stemmed (Snowball) and, when a
word is not in the index, matched to the closest indexed word (rapidfuzz) to absorb typos.
Items are scored BM25-style with field weights; an item counts only if it covers enough of
the question's meaningful words, so questions about things the data does not hold get no
answer rather than a wrong one. Built in memory from the database (the same for SQLite and
PostgreSQL), rebuilt after imports.

On top of the ranking, `SearchIndex.answer` reads three intents: the main-menu sections a
question names («presupuesto», «metas del plan», «informes»: a question that is nothing but
that gets the section's entry point), a works status («suspendidas», «en ejecución», «en
proceso»; «atrasadas»: not finished and past their planned end date) and one or more comunas
(«comuna 1», «el centro», «c4», «com3», «comuna 4 y 5»), which filter works and say how many
there are. When other words narrow them too («obras de parques c4»), the count is of those and
the answer names the words. `cN` is the corregimiento `CN` when the city has one; when it has
no such works but comuna N has, the answer says so («¿Quiso decir la comuna 2?»).

Items carry a topic, what they are about as a whole (a goal's program, its sector): in a
question about a sector («metas de salud») the program's own goals come first, goals tied
to it only by a secondary field (their office) or only by a shared stem («Movilidad segura»
for «seguridad») are left out, and so are items of any kind that mention it only in a
secondary field. Sectors joined by «y»/«o» («metas de salud y educación») are each searched.
An office's budget is also found by the programs of the goals it answers for («plata para
deporte» → INDERBU).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.bulk import collector_paused
from storage.search.intents import (
    Answer,
    Hit,
    Record,
    _as_typed,
    _comuna_intent,
    is_late,
    status_of,
)
from storage.search.ranking import RankedIndex
from storage.search.records import data_records, data_version, question_records, question_version
from storage.search.words import (
    DELAYED,
    FILLER,
    PLAN_WORDS,
    STOP,
    TOPIC_KINDS,
    TOPIC_WORDS,
    spellings,
    stem,
    title_words,
    tokens,
)
from storage.text import without_tags

__all__ = [
    "DELAYED", "FILLER", "PLAN_WORDS", "STOP", "TOPIC_KINDS", "TOPIC_WORDS", "Answer", "Hit",
    "Record", "SearchIndex", "_comuna_intent", "build_index", "build_question_index",
    "data_version", "is_late", "question_version", "spellings", "status_of", "stem",
    "title_words", "tokens",
]


class SearchIndex(RankedIndex):
    """An in-memory BM25 index with typo tolerance and a 'no good match' threshold."""

    def ranked(self, text: str, *, today: date | None = None) -> list[Hit]:
        """Return every match of `text`, best first (works late as of `today`)."""
        query = replace(self._parse(without_tags(text)), today=today or date.today())
        return self._rank(query)

    def only_places(self, text: str) -> tuple[str, ...]:
        """Return the comunas a question names («comuna 4», «Provenza») when it names nothing
        else — only sections and kinds of things («las obras de la comuna 4») — else ()."""
        query = self._parse(without_tags(text))
        return () if query.rest or query.status else query.comunas

    def comunas_named(self, text: str) -> tuple[str, ...]:
        """Return the comunas a question names, by number or by name, in order."""
        return self._parse(without_tags(text)).comunas

    def elsewhere(self, hit: Hit, codes: tuple[str, ...]) -> bool:
        """Tell whether a hit's title names comunas and none of `codes` («…en 12 parques
        de la comuna 1» when the comuna 4 was asked about). Works are placed by their comuna
        already; a process or an event says where only in its title."""
        named, _, _ = _comuna_intent(self.mend(tokens(hit.title)), self.comuna_codes)
        return bool(named) and not set(named) & set(codes)

    def search(self, text: str, *, limit: int = 8) -> list[Hit]:
        """Return the best matches, best first; [] when nothing matches well."""
        return self._rank(self._parse(text))[:limit]

    def answer(
        self, text: str, *, per_kind: int = 3, works_shown: int = 8, today: date | None = None
    ) -> Answer:
        """Return the sections a question names and its matches grouped by kind (`today`,
        the local date, decides which works are late)."""
        text = without_tags(text)  # «<b>parques</b>» typed in a message is «parques»
        query = replace(self._parse(text), today=today or date.today())
        dropped: list[Hit] = []  # works that match, but in other comunas than the one named
        hits = self._rank(query, dropped)
        filtered = self._works_filter(query) or query.status is not None or (
            query.explicit_comuna and query.comuna is not None and "obra" in query.wanted_kinds
        )
        # When the sections named have matching items, those are the answer («contratos
        # abiertos»: processes, not a goal about contracting), in the order named.
        named = [TOPIC_KINDS[t] for t in query.topics if t in TOPIC_KINDS]
        if any(h.kind in named for h in hits):
            hits = [h for h in hits if h.kind in named]
            hits.sort(key=lambda h: named.index(h.kind))
        # «parques en la comuna 4»: works match the words, so say which are in that comuna
        # (maybe none: the parks of other comunas are not listed as if they were there).
        if query.explicit_comuna and not filtered and (not named or "obra" in named) and (
                dropped or any(h.kind == "obra" for h in hits)):
            filtered = True
        groups: dict[str, list[Hit]] = {}
        for hit in hits:
            bucket = groups.setdefault(hit.kind, [])
            asked = hit.kind in named or (filtered and hit.kind == "obra")
            if len(bucket) < (works_shown if asked else per_kind):
                bucket.append(hit)
        # «obras suspendidas en marte»: no works match the words, so no count either; but
        # «obras suspendidas de alumbrado», when lighting works exist in other states, is a
        # real «no hay».
        filtered = filtered and (bool(hits) or not query.rest or (
            query.status is not None and any(
                h.kind == "obra" for h in self._rank(replace(query, status=None)))))
        works_total = sum(h.kind == "obra" for h in hits) if filtered else None
        # «obras terminadas c2»: none in the corregimiento C2, but comuna 2 has some.
        other_total = 0
        if works_total == 0 and query.other_comuna is not None and not query.rest:
            other = query.other_comuna
            other_total = sum(h.kind == "obra" for h in self._rank(
                replace(query, comuna=other, comunas=(other,), other_comuna=None)))
        return Answer(
            topics=query.topics,
            topic_only=self._topic_only(query),
            groups=groups,
            status=query.status if filtered else None,
            comuna=query.comuna if filtered else None,
            works_total=works_total,
            works_only_filter=filtered and self._works_filter(query),
            comunas=list(query.comunas) if filtered else [],
            about=_as_typed(query.rest, text) if filtered else "",
            other_comuna=query.other_comuna if other_total else None,
            other_total=other_total,
            delayed=filtered and query.delayed,
        )

    def grouped(self, text: str, *, per_kind: int = 3) -> dict[str, list[Hit]]:
        """Return hits grouped by kind, kinds ordered by their best hit."""
        return self.answer(text, per_kind=per_kind).groups


async def build_question_index(session: AsyncSession) -> SearchIndex:
    """Index the questions staff may group others under (pending and answered, not the
    duplicates themselves), for `SearchIndex.similar`: the same index as the answers' search,
    over the questions instead of the published data."""
    return await asyncio.to_thread(SearchIndex, await question_records(session))


async def build_index(session: AsyncSession, *, now: datetime | None = None) -> SearchIndex:
    """Load every searchable item from the database and index it."""
    with collector_paused():  # thousands of records, all kept
        records, names = await data_records(session, now=now)
        # Stemming thousands of texts is CPU work: keep it off the event loop.
        return await asyncio.to_thread(SearchIndex, records, names)
