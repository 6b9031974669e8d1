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
import functools
import math
import re
from array import array
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import snowballstemmer
import yaml
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    BudgetLine,
    CitizenQuestion,
    Comuna,
    ContractingProcess,
    Event,
    Goal,
    Report,
    Work,
)
from storage.statuses import WORK_STATUSES
from storage.text import fold, without_tags

_STEM = snowballstemmer.stemmer("spanish")
_WORD = re.compile(r"[a-z0-9]+")
_TOPIC_TAIL = re.compile(r"[,:;(]| y | e ")  # where a program's name stops naming its sector
_GLUED_COMUNA = re.compile(r"(c|com|cmna|comuna)(\d{1,2})")  # «c4», «com3», «comuna4»
# The words the index reads are data, per city (`answers/data/busqueda.yaml`).
_WORDS: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "answers" / "data" / "busqueda.yaml").read_text(encoding="utf-8"))
STOP = set(_WORDS["vacias"])
ABBREVIATIONS: dict[str, str] = dict(_WORDS["abreviaturas"])
# Everyday words → words the data uses.
SYNONYMS: dict[str, list[str]] = {k: list(v or []) for k, v in _WORDS["sinonimos"].items()}
NUMBERS = {
    "uno": "1",
    "una": "1",
    "dos": "2",
    "tres": "3",
    "cuatro": "4",
    "cinco": "5",
    "seis": "6",
    "siete": "7",
    "ocho": "8",
    "nueve": "9",
    "diez": "10",
    "once": "11",
    "doce": "12",
    "trece": "13",
    "catorce": "14",
    "quince": "15",
    "dieciseis": "16",
    "diecisiete": "17",
}
KIND_WORDS = {
    "obra": "obra",
    "obras": "obra",
    "presupuesto": "presupuesto",
    "meta": "meta",
    "metas": "meta",
    "evento": "evento",
    "eventos": "evento",
    "contratacion": "contratacion",
    "proceso": "contratacion",
    "procesos": "contratacion",
    "pregunta": "pregunta",
    "informe": "informe",
    "informes": "informe",
}
KIND_ORDER = ("meta", "obra", "presupuesto", "evento", "contratacion", "informe", "pregunta")
MIN_COVERAGE = 0.6
K1, B = 1.2, 0.75  # BM25's term-frequency saturation and length normalisation
# A word weighs at least this in an item when it is in a main field (a name, a goal's text,
# program or indicator); less when it is only in a secondary one (an office, a description).
STRONG_WEIGHT = 1.0
# An item whose topic (a goal's program: «Salud pública y bienestar») holds the question's
# words is about them, not merely mentioning them: its score is raised by up to TOPIC_BOOST
# when they are in the topic's head, and by EXACT_BOOST more when they are the head's own
# words and not only its stems («seguridad» is the program «Seguridad y convivencia»,
# «Movilidad segura» only shares a stem).
TOPIC_BOOST = 1.0
EXACT_BOOST = 0.5
# Among the best OWN_WORDS_TOP hits, a title with all the question's words as typed (not
# only their stems) scores up to OWN_WORDS_BOOST more: a tie-breaker, not a ranking.
OWN_WORDS_TOP = 40
OWN_WORDS_BOOST = 0.1
# Words that name a main-menu section (folded query words → the area of `menu:<area>`).
TOPIC_WORDS: dict[str, str] = dict(_WORDS["secciones"])
# The word every item of a section's kind is indexed with (see `build_index`).
TOPIC_MARKS = {"metas": "meta", "presupuesto": "presupuesto", "obras": "obra",
               "contratacion": "contratacion", "informes": "informe", "agenda": "evento"}
# Words that ask for a date: events, which have one, are preferred by WHEN_BOOST.
WHEN_WORDS = set(_WORDS["cuando"])
WHEN_BOOST = 1.2
# Words that, with goals named, only say which plan («metas del plan de desarrollo municipal»).
PLAN_WORDS = set(_WORDS["plan"])
# The kind of item each section lists (its items are preferred when the section is named).
TOPIC_KINDS = {
    "metas": "meta",
    "presupuesto": "presupuesto",
    "obras": "obra",
    "contratacion": "contratacion",
    "informes": "informe",
    "agenda": "evento",
    "preguntar": "pregunta",
}
# Words that, in a question, only frame it («qué obras hay cerca al centro»).
FILLER = set(_WORDS["relleno"])
# A works status in a question or in the data → its canonical name. The words are the
# shared status vocabulary (`storage/data/estados.yaml`, «se_dice»), which the importers read.
STATUS_WORDS = {word: status.key for status in WORK_STATUSES.statuses for word in status.said
                if " " not in word}
STATUS_PAIRS = {(pair[0], pair[1]): status.key for status in WORK_STATUSES.statuses
                for pair in (word.split() for word in status.said) if len(pair) == 2}
# Only with works named: «procesos en proceso» are contracting, «obras en proceso» are works.
WORKS_STATUS_PAIRS = {("en", "proceso"): "en ejecucion", ("en", "marcha"): "en ejecucion"}
# «Obras atrasadas»: works not finished whose planned end date (`fecha_fin_prevista`) has
# passed, whatever their status says; the answer says what the word means here.
DELAYED = "atrasada"
DELAY_WORDS = set(_WORDS["atrasadas"])


def tokens(text: str) -> list[str]:
    """Return folded words with abbreviations expanded (`jal` → junta administradora local)."""
    words = []
    for word in _WORD.findall(fold(text)):
        expanded = ABBREVIATIONS.get(word, word)
        if " " in expanded:
            words.extend(expanded.split())
        else:
            words.append(expanded)
    return words


# Words the question parser reads as a place («comuna 8»): known, never unknown padding.
PLACE_WORDS = frozenset({"comuna", "comunas", "corregimiento", "corregimientos"})
# Letters Spanish writers confuse because they sound alike (c/s/z, b/v, y/ll, a silent h).
_SOUNDS = (("s", "c"), ("c", "s"), ("z", "s"), ("s", "z"), ("z", "c"), ("c", "z"), ("b", "v"),
           ("v", "b"), ("y", "ll"), ("ll", "y"), ("i", "y"), ("k", "c"), ("k", "qu"),
           ("j", "g"), ("g", "j"))


def _swaps(word: str) -> list[str]:
    """Return `word` with each sound-alike confusion of `_SOUNDS` undone, one at a time."""
    found: list[str] = []
    for wrong, right in _SOUNDS:
        start = word.find(wrong)
        while start != -1:
            found.append(word[:start] + right + word[start + len(wrong):])
            start = word.find(wrong, start + 1)
    return found


@functools.lru_cache(maxsize=20_000)
def spellings(word: str) -> tuple[str, ...]:
    """Return the ways a folded word may have been meant when written as it sounds: one
    confusion at a time (`educasion` → `educacion`, `bivienda` → `vivienda`, `ospital` →
    `hospital`), and doubled letters single (`parrque` → `parque`)."""
    found = _swaps(word)
    if word[0] in "aeiou":  # a silent «h» left out, maybe with another slip: «asienda»
        found.append("h" + word)
        found.extend("h" + v for v in _swaps(word))
    single = re.sub(r"([a-z])\1+", r"\1", word)
    if single != word:
        found.append(single)
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """Return the Spanish stem of a folded word (numbers stay as they are)."""
    return word if word.isdigit() else _STEM.stemWord(word)


@functools.lru_cache(maxsize=50_000)
def _folded(title: str) -> str:
    """Return a title folded, once: lists of works sort by it on every question."""
    return fold(title)


@functools.lru_cache(maxsize=4096)
def title_words(title: str) -> frozenset[str]:
    """Return the folded words of an item's title (the best hits' titles recur)."""
    return frozenset(tokens(title))


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result."""

    kind: str  # meta | obra | presupuesto | evento | contratacion | informe | pregunta
    key: str
    title: str
    score: float
    ref: str = ""  # what opens it: an event's id, a report's link


@dataclass
class Answer:
    """What a question asks for: sections it names, items that match, and works filters."""

    topics: list[str]  # main-menu areas named, in the order they appear
    topic_only: bool  # the question is nothing but those sections: lead with them
    groups: dict[str, list[Hit]]  # items by kind, kinds ordered by their best hit
    status: str | None = None  # works status filter (canonical: "suspendida", "en ejecucion")
    comuna: str | None = None  # comuna code the works were filtered by
    works_total: int | None = None  # works passing the status/comuna filter (None: no filter)
    works_only_filter: bool = False  # the question is only that filter: its list can be paged
    comunas: list[str] = field(default_factory=list)  # every comuna named («comuna 4 y 5»)
    about: str = ""  # other words that narrowed the works («parques»): the total is of those
    other_comuna: str | None = None  # none in corregimiento C2, but `other_total` in comuna 2
    other_total: int = 0
    delayed: bool = False  # asked for «atrasadas»: the answer says what that means


def is_late(status: str, due: date | None, today: date) -> bool:
    """Tell whether a work is late: not finished, and its planned end date has passed."""
    return due is not None and due < today and status != "terminada"


def _in_status(record: Record, status: str, today: date) -> bool:
    """Tell whether a work's record is in `status` (`DELAYED` is measured against today)."""
    if status == DELAYED:
        return is_late(record.status or "", record.due, today)
    return record.status == status


@dataclass(slots=True)
class Record:
    """An item to index: its kind, key, title, weighted fields and comuna code."""

    kind: str
    key: str
    title: str
    fields: list[tuple[str, float]]
    comuna: str | None = None
    ref: str = ""
    status: str | None = None  # works only: canonical status (see `status_of`)
    due: date | None = None  # works only: planned end date (late when past and not finished)
    topic: str = ""  # what the item is about as a whole: a goal's program (its sector)
    topic_terms: frozenset[str] = frozenset()  # the topic's stems (shared by its items)
    topic_head: frozenset[str] = frozenset()  # stems of its head («Salud pública» y …)
    topic_words: frozenset[str] = frozenset()  # the head's folded words, unstemmed


@dataclass
class _Query:
    """A parsed question."""

    words: list[str]
    comuna: str | None
    explicit_comuna: bool  # said as «comuna 4», not guessed from a name in the text
    status: str | None
    wanted_kinds: set[str]
    meaningful: list[str]
    topics: list[str]
    rest: list[str]  # meaningful words that are not sections, framing or the comuna's name
    when: bool = False  # asks when («cuándo es…»): a date, so events are a little preferred
    comunas: tuple[str, ...] = ()  # every comuna named («comuna 4 y 5»); `comuna` is the first
    other_comuna: str | None = None  # «c2» read as corregimiento C2 could also mean comuna 2
    delayed: bool = False  # works asked for as «atrasadas» (past their planned end)
    alternatives: tuple[tuple[str, ...], ...] = ()  # sectors asked together («salud y educación»)
    today: date = field(default_factory=date.today)  # what «atrasada» is measured against


def _comuna_intent(
    words: list[str], codes: Collection[str] = ()
) -> tuple[list[str], list[str], str | None]:
    """Find `comuna 4` / `comuna cuatro` / `la cuatro` / `c4` / `com3` / `c 4` in the words,
    and more after it («comuna 4 y 5», «comunas 4, 5 y 6», «c4 y c5»); return the codes, the
    other words and, when a `cN` was read as the corregimiento `CN` (the city has one), the
    comuna `N` it could also mean («¿Quiso decir la comuna 2?»)."""

    def valid(code: str) -> bool:
        return code in codes if codes else code.isdigit() and 1 <= int(code) <= 17

    def read(i: int) -> tuple[str, int, str | None] | None:
        """Return the code named at word i, how many words name it, and its other reading."""
        word, after = words[i], words[i + 1] if i + 1 < len(words) else ""
        used = 1
        glued = _GLUED_COMUNA.fullmatch(word)
        if glued is None and word == "c" and after.isdigit():  # «c 4»
            glued, used = _GLUED_COMUNA.fullmatch(word + after), 2
        if glued is not None:
            number = glued.group(2).lstrip("0")
            if glued.group(1) == "c" and f"C{number}" in codes:
                return f"C{number}", used, number if valid(number) else None
            return (number, used, None) if valid(number) else None
        if word in ("comuna", "comunas", "la", "las") and (after.isdigit() or after in NUMBERS):
            code = NUMBERS.get(after, after).lstrip("0")
            return (code, 2, None) if valid(code) else None
        return None

    found: list[str] = []
    other: str | None = None
    taken: set[int] = set()
    i = 0
    while i < len(words):
        got = read(i)
        if got is None and found and (i - 1 in taken or words[i - 1] in ("y", "o", "e")):
            word = words[i]  # «comuna 4 y 5», «comunas 4 5»
            code = NUMBERS.get(word, word).lstrip("0") if (
                word.isdigit() or word in NUMBERS) else ""
            got = (code, 1, None) if code and valid(code) else None
        if got is None:
            i += 1
            continue
        code, used, alternative = got
        if code not in found:
            found.append(code)
            other = other if len(found) > 1 else alternative
        taken.update(range(i, i + used))
        i += used
    if len(found) > 1:
        other = None
    return found, [w for i, w in enumerate(words) if i not in taken], other


def _status_intent(words: list[str]) -> tuple[str | None, list[str]]:
    """Find a works status (`suspendidas`, `en ejecución`…); return it and the other words.
    With works named, «en proceso» is «en ejecución» and «atrasadas» the works past their
    planned end (`DELAYED`); «en proceso» alone is a contracting process."""
    works = bool({"obra", "obras"}.intersection(words))
    for i, word in enumerate(words):
        pair = STATUS_PAIRS.get((word, words[i + 1])) if i + 1 < len(words) else None
        if pair is None and works and i + 1 < len(words):
            pair = WORKS_STATUS_PAIRS.get((word, words[i + 1]))
        if pair is not None:
            return pair, words[:i] + words[i + 2 :]
        if word in STATUS_WORDS:
            return STATUS_WORDS[word], words[:i] + words[i + 1 :]
        if works and word in DELAY_WORDS:
            return DELAYED, words[:i] + words[i + 1 :]
    if "ejecucion" in words and ({"obra", "obras"} & set(words)):
        return "en ejecucion", [w for w in words if w != "ejecucion"]
    return None, words


def status_of(estado: str) -> str:
    """Return the canonical status of a work's `estado` as imported («En ejecución» → …)."""
    known = WORK_STATUSES.find(estado)  # any spelling of the shared vocabulary («Liquidado»)
    if known is not None:
        return known.key
    words = tokens(estado)
    status, _ = _status_intent(words)
    if status is None and len(words) == 1:  # «Ejecución», «Contratación» without «en»
        status = {"ejecucion": "en ejecucion", "construccion": "en ejecucion",
                  "contratacion": "en contratacion"}.get(words[0])
    if status is None and len(words) == 2:  # «En proceso»
        status = WORKS_STATUS_PAIRS.get((words[0], words[1]))
    return status or " ".join(words)


def _topics(words: list[str]) -> tuple[list[str], set[str]]:
    """Return the sections the words name (in order) and the words that named them."""
    topics: list[str] = []
    used: set[str] = set()
    for i, word in enumerate(words):
        area = TOPIC_WORDS.get(word)
        if area is None and len(word) >= 8 and not word.isdigit():
            match = process.extractOne(word, TOPIC_WORDS.keys(), scorer=Levenshtein.distance,
                                       score_cutoff=1)
            area = TOPIC_WORDS[match[0]] if match is not None else None
        if area is None and word == "plan" and i + 1 < len(words) and words[i + 1] == "desarrollo":
            area = "metas"
            used.add("desarrollo")
        if area is not None:
            used.add(word)
            if area not in topics:
                topics.append(area)
    if "metas" in topics:
        used.update(PLAN_WORDS)
    if "presupuestos" in topics:  # «presupuestos participativos» is not the budget
        topics = [t for t in topics if t != "presupuesto"]
    return topics, used


def _as_typed(words: list[str], text: str) -> str:
    """Return folded query words as the person wrote them («pavimentación», not the fold)."""
    typed = {fold(w): w for w in re.findall(r"\w+", text)}
    return " ".join(typed.get(w, w) for w in words)


class Postings:
    """The items a term appears in, with its weighted frequency in each.

    Two flat arrays instead of a list of tuples: with 20,000 works that is a few megabytes
    instead of some forty (a tuple and a float object per entry).
    """

    __slots__ = ("items", "weights")

    def __init__(self) -> None:
        self.items = array("I")
        self.weights = array("d")

    def add(self, item: int, weight: float) -> None:
        """Record that the term appears in `item` with this weight."""
        self.items.append(item)
        self.weights.append(weight)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return zip(self.items, self.weights, strict=True)


class SearchIndex:
    """An in-memory BM25 index with typo tolerance and a 'no good match' threshold."""

    def __init__(self, records: Iterable[Record], comuna_names: dict[str, str] | None = None):
        self.records = list(records)
        self._topics: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {}
        self.comuna_names = {fold(name): code for name, code in (comuna_names or {}).items()}
        self.comuna_codes = frozenset(self.comuna_names.values())
        self.name_of = {code: name for name, code in self.comuna_names.items()}
        # A word of a comuna's longer name that no other name has also names it.
        named: dict[str, set[str]] = defaultdict(set)
        for name, code in self.comuna_names.items():
            parts = [w for w in name.split() if w not in STOP and len(w) >= 5]
            for word in parts if len(name.split()) > 1 else ():
                named[word].add(code)
        self.comuna_words = {w: next(iter(c)) for w, c in named.items() if len(c) == 1}
        self.sector_words: frozenset[str] = frozenset()  # programs' head words («salud»)
        self.postings: dict[str, Postings] = defaultdict(Postings)
        lengths = array("d")  # each item's weighted length, for BM25's normalisation
        for index, record in enumerate(self.records):
            weighted: dict[str, float] = defaultdict(float)
            for text, weight in record.fields:
                for word in tokens(text):
                    if word not in STOP and (len(word) > 2 or word.isdigit()):
                        weighted[stem(word)] += weight
            record.fields = []  # indexed: the texts are not needed any more (memory)
            if record.topic:
                record.topic_terms, record.topic_head, record.topic_words = (
                    self._topic_sets(record.topic))
                record.topic = ""
            lengths.append(sum(weighted.values()))
            for term, tf in weighted.items():
                self.postings[term].add(index, tf)
        self.avg_length: float = (sum(lengths) / len(lengths)) if lengths else 1.0
        self.sector_words = frozenset(w for _, _, head in self._topics.values() for w in head)
        # BM25's length normalisation of each item, computed once: k1 · (1 − b + b · len/avg).
        self.norms = array("d", (K1 * (1 - B + B * n / self.avg_length) for n in lengths))
        # Typo fixes look only at words with the same first letter: far fewer candidates, and
        # a typo in the first letter is rare on a phone keyboard.
        self.vocabulary: dict[str, list[str]] = defaultdict(list)
        for term in self.postings:
            self.vocabulary[term[0]].append(term)
        total = max(len(self.records), 1)
        self.idf = {
            t: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5))
            for t, p in self.postings.items()
        }

    def _topic_sets(
        self, topic: str
    ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """Return a topic's stems, its head's stems and its head's words, one shared copy
        per distinct topic. The head, up to the first «y», comma or colon, names the sector:
        «Vías, andenes y alumbrado» is about roads, and mentions sidewalks and lighting."""
        sets = self._topics.get(topic)
        if sets is None:
            words = [w for w in tokens(topic) if w not in STOP and len(w) > 2]
            head = [w for w in tokens(_TOPIC_TAIL.split(topic, maxsplit=1)[0])
                    if w not in STOP and len(w) > 2]
            sets = self._topics[topic] = (frozenset(stem(w) for w in words),
                                          frozenset(stem(w) for w in head), frozenset(head))
        return sets

    def _resolve(self, word: str) -> list[str]:
        """Return the indexed terms a query word stands for (itself, synonyms, or a typo fix)."""
        candidates = [word, *SYNONYMS.get(word, [])]
        found = []
        for candidate in candidates:
            term = stem(candidate)
            if term in self.postings:
                found.append(term)
            elif len(term) >= 4 and not term.isdigit():
                match = process.extractOne(
                    term,
                    self.vocabulary.get(term[0], []),
                    scorer=Levenshtein.distance,
                    score_cutoff=1 if len(term) < 7 else 2,
                )
                if match is not None:
                    found.append(match[0])
        if not found and len(word) >= 5 and not word.isdigit():
            # Spelling as it sounds («educasion», «bivienda», «ospital»): try the usual
            # confusions of Spanish spelling before giving up on the word.
            found = [t for t in (stem(c) for v in spellings(word)
                                 for c in (v, *SYNONYMS.get(v, []))) if t in self.postings][:1]
        # The stemmer cuts «taller» to «tall» but «talleres» to «taller»: try the singular.
        singular = (word[:-2] if word.endswith("es") and len(word) > 5
                    else word[:-1] if word.endswith("s") and len(word) > 4 else "")
        # A word naming a section («pagado», «licitaciones») matches that section's items.
        mark = TOPIC_MARKS.get(TOPIC_WORDS.get(word, ""), "")
        found.extend(t for t in (stem(singular), stem(mark)) if t and t in self.postings)
        return list(dict.fromkeys(found))

    def _is_word(self, word: str) -> bool:
        """Tell whether a folded word is one the index or the questions use."""
        return (word in STOP or word in TOPIC_WORDS or word in KIND_WORDS or word.isdigit()
                or word in NUMBERS or word in PLACE_WORDS or word in self.comuna_words
                or (len(word) > 2 and stem(word) in self.postings))

    def mend(self, words: list[str]) -> list[str]:
        """Join words a voice keyboard split («poli deportivo», «cuan to») and split words it
        ran together («sanantonio»), when only the mended form is a word here."""
        mended: list[str] = []
        i = 0
        while i < len(words):
            word, after = words[i], words[i + 1] if i + 1 < len(words) else ""
            if after and not (self._is_word(word) and self._is_word(after)) and (
                    self._is_word(word + after)):
                mended.append(word + after)
                i += 2
                continue
            if len(word) >= 7 and not self._is_word(word):
                cut = next((c for c in range(3, len(word) - 2) if self._is_word(word[:c])
                            and self._is_word(word[c:]) and word[:c] not in STOP), 0)
                if cut:
                    mended.extend((word[:cut], word[cut:]))
                    i += 1
                    continue
            mended.append(word)
            i += 1
        return mended

    def _parse(self, text: str) -> _Query:
        """Split a question into intents (comuna, status, sections) and words to match."""
        words = self.mend(tokens(text))
        codes, words, other_comuna = _comuna_intent(words, self.comuna_codes)
        comuna = codes[0] if codes else None
        for code in codes:  # «comuna 11 sur»: the name after the number says the same comuna
            said = self.name_of.get(code, "").split()
            if said and any(words[i:i + len(said)] == said for i in range(len(words))):
                at = next(i for i in range(len(words)) if words[i:i + len(said)] == said)
                words = words[:at] + words[at + len(said):]
        explicit = comuna is not None
        delayed = bool(DELAY_WORDS.intersection(words)) and bool(
            {"obra", "obras"}.intersection(words))
        status, words = _status_intent(words)
        folded = " ".join(words)
        name_words: set[str] = set()
        for name, code in self.comuna_names.items():
            if len(name) > 4 and f" {name} " in f" {folded} ":
                comuna = comuna or code
                name_words.update(name.split())
        if comuna is None:  # «cabecera» for «Cabecera del Llano», «cabesera» too
            for word in words:
                spelt = next((v for v in (word, *spellings(word)) if v in self.comuna_words),
                             None) if len(word) >= 5 else None
                if spelt is not None:
                    comuna = self.comuna_words[spelt]
                    name_words.add(word)
                    break
        content = [w for w in words if w not in STOP and (len(w) > 2 or w.isdigit())]
        topics, topic_words = _topics(content)
        wanted_kinds = {KIND_WORDS[w] for w in words if w in KIND_WORDS}
        wanted_kinds |= {TOPIC_KINDS[t] for t in topics if t in TOPIC_KINDS}
        framing = PLAN_WORDS & topic_words if "metas" in topics else set()
        meaningful = [w for w in content if w not in KIND_WORDS and w not in framing]
        rest = [w for w in meaningful
                if w not in topic_words and w not in name_words and w not in FILLER
                and not (len(w) == 4 and w.startswith(("19", "20")))]  # «presupuesto 2026»
        when = bool(WHEN_WORDS.intersection(words))
        return _Query(words, comuna, explicit, status, wanted_kinds, meaningful, topics, rest,
                      when, tuple(codes) or ((comuna,) if comuna else ()), other_comuna,
                      delayed, self._alternatives(words, meaningful))

    def _alternatives(self, words: list[str], meaningful: list[str]) -> tuple[
            tuple[str, ...], ...]:
        """Return one set of words per sector when the question joins sectors with «y»/«o»
        («metas de salud y educación»): each is searched on its own and the answers merged.
        Empty when it does not."""
        run: list[str] = []
        joined = False
        for word in [*words, ""]:
            if word in self.sector_words:
                run.append(word)
            elif word in ("y", "o", "e") and run:
                joined = True
            elif len(run) >= 2 and joined:
                break
            else:
                run, joined = [], False
        if len(run) < 2 or not joined or not set(run) <= set(meaningful):
            return ()
        others = [w for w in meaningful if w not in run]
        return tuple((*others, sector) for sector in dict.fromkeys(run))

    def _works_filter(self, query: _Query) -> bool:
        """Whether the question asks for works by status and/or comuna and nothing else."""
        named = query.status is not None or (
            query.comuna is not None and "obra" in query.wanted_kinds
        )
        return named and not query.rest

    @staticmethod
    def _topic_only(query: _Query) -> bool:
        """Whether the question names sections and nothing more specific."""
        return bool(query.topics) and not query.rest and query.comuna is None and (
            query.status is None
        )

    def _rank(self, query: _Query, dropped: list[Hit] | None = None) -> list[Hit]:
        """Return every match of a parsed question, best first (see `_score` for dropped)."""
        if self._topic_only(query):
            return []  # «presupuesto», «metas del plan»: the section, not one item
        if self._works_filter(query):
            found = [
                Hit(r.kind, r.key, r.title, 1.0, r.ref)
                for r in self.records
                if r.kind == "obra"
                and (query.status is None or _in_status(r, query.status, query.today))
                and (not query.comunas or r.comuna in query.comunas)
            ]
            found.sort(key=lambda h: (_folded(h.title), h.key))
            return found
        if query.alternatives:  # «metas de salud y educación»: each sector, merged
            merged: dict[tuple[str, str], Hit] = {}
            for words in query.alternatives:
                for hit in self._score(replace(query, meaningful=list(words),
                                               alternatives=()), dropped):
                    known = merged.get((hit.kind, hit.key))
                    if known is None or hit.score > known.score:
                        merged[(hit.kind, hit.key)] = hit
            return sorted(merged.values(),
                          key=lambda h: (-h.score, KIND_ORDER.index(h.kind), h.key))
        return self._score(query, dropped)

    def _score(self, query: _Query, dropped: list[Hit] | None = None) -> list[Hit]:
        """Score items BM25-style against the question's words; best first. Works of other
        comunas than the one named are left out, and added to `dropped` when given."""
        comuna, wanted_kinds, meaningful = query.comuna, query.wanted_kinds, query.meaningful
        comunas = set(query.comunas)
        groups = [self._resolve(w) for w in meaningful]
        # A word found in a third of everything ("calle" in every address) says nothing
        # about which item is meant: it neither scores nor counts towards coverage.
        common = max(len(self.records) // 3, 50)
        kept = [
            (w, g) for w, g in zip(meaningful, groups, strict=True)
            if not g or any(len(self.postings[t]) <= common for t in g)
        ]
        meaningful = [w for w, _ in kept]
        # With a section named («contratos abiertos»), an item must match the other words
        # too: matching only «contratos» is the section itself, not a specific item.
        specific = [bool(query.topics) and w in query.rest for w, g in kept if g]
        must_be_specific = any(specific)
        groups = [g for _, g in kept if g]
        surfaces = [{w, *SYNONYMS.get(w, [])} for w, g in kept if g]
        if not meaningful and comuna is None:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, int] = defaultdict(int)
        norms = self.norms
        specific_hits: set[int] = set()
        bests: list[tuple[dict[int, float], float]] = []  # each word's values, strong floor
        for group, is_specific in zip(groups, specific, strict=True):
            best: dict[int, float] = {}
            best_of = best.get
            for term in group:
                idf = self.idf[term] * (K1 + 1)
                for index, tf in self.postings[term]:
                    value = idf * tf / (tf + norms[index])
                    if value > best_of(index, 0.0):
                        best[index] = value
            for index, value in best.items():
                scores[index] += value
                matched[index] += 1
            if is_specific:
                specific_hits.update(best)
            # value = idf · (k1+1) · tf / (tf + norm) grows with tf, so tf ≥ STRONG_WEIGHT is
            # value · (STRONG_WEIGHT + norm) ≥ idf · (k1+1) · STRONG_WEIGHT (with several
            # terms, the least specific one's: an item is rather kept than wrongly left out).
            floor = min(self.idf[t] for t in group) * (K1 + 1) * STRONG_WEIGHT * (1 - 1e-9)
            bests.append((best, floor))
        if not meaningful:  # "eventos en la comuna 4": list that comuna's items
            scores = {i: 1.0 for i, r in enumerate(self.records) if r.comuna in comunas}
            matched = {i: 0 for i in scores}
        # A status is about works: only works in that state. «Comuna 4» said: only that
        # comuna's works («parques en la comuna 4» are not the parks of comuna 3).
        status = query.status
        only_comuna = comunas if query.explicit_comuna else None
        candidates: list[tuple[int, float]] = []  # (index, coverage)
        for index in scores:
            record = self.records[index]
            if status is not None and (
                    record.kind != "obra" or not _in_status(record, status, query.today)):
                continue
            if must_be_specific and index not in specific_hits:
                continue
            coverage = matched[index] / len(meaningful) if meaningful else 1.0
            if only_comuna is not None and record.kind == "obra" and (
                    record.comuna not in only_comuna):
                if dropped is not None and coverage >= MIN_COVERAGE:
                    dropped.append(Hit(record.kind, record.key, record.title, 0.0))
                continue
            if coverage >= MIN_COVERAGE:
                candidates.append((index, coverage))
        # Words an item holds in a main field (a name, a goal's text or program), not only in
        # a secondary one (an office, a description).
        strong = {index: sum(best.get(index, 0.0) * (STRONG_WEIGHT + norms[index]) >= floor
                             for best, floor in bests) for index, _ in candidates}
        # Sector questions («metas de salud», «salud»): in a kind asked for (or with no kind
        # asked for) where some items have every word in their topic, those come first, and
        # items holding a word only in a secondary field (the trees of the «Secretaría de
        # Salud y Ambiente») are not about it at all.
        topical: dict[int, float] = {}
        sector_kinds: set[str] = set()
        exact_kinds: set[str] = set()  # kinds with items whose topic head has the words as typed
        stem_only: set[int] = set()  # items whose topic shares only a stem («Movilidad segura»)
        for index, _ in candidates:
            record = self.records[index]
            if record.topic_terms and groups and (
                    not wanted_kinds or record.kind in wanted_kinds):
                in_topic = sum(bool(record.topic_terms.intersection(g)) for g in groups)
                in_head = sum(bool(record.topic_head.intersection(g)) for g in groups)
                exact = sum(bool(record.topic_words & w) for w in surfaces)
                if in_topic:  # raised by the head only: «andenes» is not what roads are about
                    topical[index] = 1 + (TOPIC_BOOST * in_head + EXACT_BOOST * exact) / len(
                        groups)
                if in_topic == len(groups):
                    sector_kinds.add(record.kind)
                if exact == len(groups):
                    exact_kinds.add(record.kind)
                elif in_topic > exact:
                    stem_only.add(index)
        # «Seguridad» is the program «Seguridad y convivencia»: «Movilidad segura» only shares
        # its stem, so its goals are left out unless their own title says the word.
        typed = set().union(*surfaces) if surfaces else set()
        stem_only = {i for i in stem_only if self.records[i].kind in exact_kinds
                     and not title_words(self.records[i].title) & typed}
        # An item that holds the words only in secondary fields is left out when items of
        # its kind hold all of them in a main field.
        incidental = {self.records[i].kind for i, n in strong.items()
                      if groups and n == len(groups)}
        hits = []
        for index, coverage in candidates:
            record = self.records[index]
            if (record.kind in sector_kinds and index not in topical
                    and strong[index] < matched[index]):
                continue
            if record.kind in incidental and not strong[index]:
                continue
            if index in stem_only:
                continue
            # A sector question («salud»): what only mentions it in a secondary field (a
            # process through its office) is not about it, whatever its kind.
            if sector_kinds and not strong[index]:
                continue
            score = scores[index] * topical.get(index, 1.0)
            if comuna is not None:
                if record.comuna in comunas:
                    score *= 1.5
                elif record.kind == "obra":
                    score *= 0.5
            if record.kind in wanted_kinds:
                score *= 1.4
            if query.when and record.kind == "evento":
                score *= WHEN_BOOST
            hits.append(Hit(record.kind, record.key, record.title, score * coverage, record.ref))
        hits.sort(key=lambda h: (-h.score, KIND_ORDER.index(h.kind), h.key))
        return self._prefer_own_words(hits, surfaces)

    @staticmethod
    def _prefer_own_words(hits: list[Hit], surfaces: list[set[str]]) -> list[Hit]:
        """Raise a little the best hits whose title uses the question's own words, not only
        their stems: «audiencia pública» is the hearing before «4 audiencias públicas»."""
        if not surfaces or not hits:
            return hits
        top = []
        for hit in hits[:OWN_WORDS_TOP]:
            title = title_words(hit.title)
            own = sum(bool(title & words) for words in surfaces) / len(surfaces)
            top.append(Hit(hit.kind, hit.key, hit.title, hit.score * (1 + OWN_WORDS_BOOST * own),
                           hit.ref) if own else hit)
        top.sort(key=lambda h: (-h.score, KIND_ORDER.index(h.kind), h.key))
        return top + hits[OWN_WORDS_TOP:]

    def shared_words(self, title: str, kind: str) -> list[str]:
        """Return the words of a title that other items of its kind hold too: what kind of
        thing it is («puente peatonal»), not which one («de La Pedregosa»)."""
        words = [w for w in tokens(title) if w not in STOP and len(w) > 2]
        places = {w for name in self.comuna_names for w in name.split()}

        def alike(word: str) -> int:
            postings = self.postings.get(stem(word))
            return sum(self.records[i].kind == kind for i in postings.items) if postings else 0

        return [w for w in words if alike(w) >= 2 and w not in self.comuna_words
                and w not in places]

    def titled(self, text: str) -> list[Hit]:
        """Return the items whose title holds every word of `text` (as stems): «informe de
        contratación» names the contracting report, not only two sections."""
        wanted = {stem(w) for w in tokens(text) if w not in STOP and len(w) > 2}
        if not wanted:
            return []
        return [Hit(r.kind, r.key, r.title, 1.0, r.ref) for r in self.records
                if wanted <= {stem(w) for w in title_words(r.title)}]

    def knows(self, word: str) -> bool:
        """Tell whether a folded word means something here: indexed (or a synonym, a typo
        of an indexed word), a section, a status, a comuna's name or number. A figure typed
        otherwise than the data writes it («30000» for «30.000») is not known."""
        return bool(word in self.comuna_codes or word in PLACE_WORDS or self._resolve(word)
                    or word in TOPIC_WORDS
                    or word in KIND_WORDS or word in STATUS_WORDS or word in DELAY_WORDS
                    or word in self.comuna_words or word in FILLER
                    or any(word in name.split() for name in self.comuna_names))

    def ranked(self, text: str, *, today: date | None = None) -> list[Hit]:
        """Return every match of `text`, best first (works late as of `today`)."""
        query = replace(self._parse(without_tags(text)), today=today or date.today())
        return self._rank(query)

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


async def data_version(session: AsyncSession) -> tuple[object, ...]:
    """Return a cheap fingerprint of the searchable data: it changes when any of it does."""
    conn = await session.connection()
    version: list[object] = []
    for model, stamp in ((Goal, Goal.updated_at), (Work, Work.updated_at),
                         (BudgetLine, BudgetLine.updated_at), (Event, Event.updated_at),
                         (ContractingProcess, ContractingProcess.updated_at),
                         (Report, Report.updated_at),
                         (CitizenQuestion, CitizenQuestion.answered_at)):
        query = sa_select(func.count(), func.max(stamp)).select_from(model)
        version.extend((await conn.execute(query)).one())
    published = sa_select(func.count()).where(col(CitizenQuestion.published).is_(True))
    version.append((await conn.execute(published)).scalar_one())
    return tuple(version)


async def build_index(session: AsyncSession, *, now: datetime | None = None) -> SearchIndex:
    """Load every searchable item from the database and index it."""
    now = now or datetime.now(UTC)
    comunas = {c.id: c for c in (await session.exec(select(Comuna))).all()}
    records: list[Record] = []
    # An office's budget is also about the programs of the goals it answers for: INDERBU's
    # is the sport budget («plata para deporte»).
    programs: dict[str, set[str]] = defaultdict(set)
    for g in (await session.exec(select(Goal))).all():
        if g.responsable:
            programs[fold(g.responsable)].add(g.programa)
        records.append(
            Record(
                "meta",
                g.codigo,
                g.meta,
                [
                    (g.meta, 3.0),
                    (g.indicador, 1.0),
                    (g.programa, 1.5),
                    (g.responsable or "", 0.7),
                    (g.linea, 0.25),
                    ("meta", 0.5),
                ],
                topic=g.programa,
            )
        )
    # Columns, not ORM rows: a city can have tens of thousands of works.
    conn = await session.connection()
    work_columns = sa_select(Work.codigo, Work.nombre, Work.descripcion, Work.direccion,  # type: ignore[call-overload, misc]
                             Work.comuna_id, Work.contratista, Work.estado,
                             Work.fecha_fin_prevista)
    streamed = await conn.stream(work_columns)
    statuses: dict[str, str] = {}  # one string per distinct status, not one per work
    async for (codigo, nombre, descripcion, direccion, comuna_id, contratista, estado,
               due) in streamed:
        comuna = comunas.get(comuna_id)
        records.append(
            Record(
                "obra",
                codigo,
                nombre,
                [
                    (nombre, 3.0),
                    (descripcion or "", 0.7),
                    (direccion or "", 1.5),
                    (comuna.nombre if comuna else "", 0.8),
                    (contratista or "", 0.5),
                    ("obra", 0.5),
                    (estado, 0.3),
                ],
                comuna=comuna.codigo if comuna else None,
                status=statuses.setdefault(estado, status_of(estado)),
                due=due,
            )
        )
    years: dict[str, set[str]] = defaultdict(set)  # «presupuesto de educación 2026»
    for line in (await session.exec(select(BudgetLine))).all():
        years[line.dependencia].add(str(line.vigencia))
    for office in sorted(years):
        records.append(
            Record("presupuesto", office, office, [
                (office, 3.0), ("presupuesto ejecucion", 1.0),
                (" ".join(sorted(programs.get(fold(office), ()))), 1.0),
                (" ".join(sorted(years[office])), 0.5)])
        )
    for e in (await session.exec(select(Event).where(Event.inicio >= now))).all():
        comuna = comunas.get(e.comuna_id) if e.comuna_id else None
        records.append(
            Record(
                "evento",
                e.clave,
                e.titulo,
                [
                    (e.titulo, 3.0),
                    (e.tipo, 1.5),
                    (e.lugar, 1.0),
                    (e.descripcion or "", 0.5),
                    ("evento", 0.5),
                ],
                comuna=comuna.codigo if comuna else None,
                ref=str(e.id),
            )
        )
    for p in (await session.exec(select(ContractingProcess))).all():
        records.append(
            Record(
                "contratacion",
                p.numero_proceso,
                p.objeto,
                [
                    (p.objeto, 2.5),
                    (p.modalidad, 1.0),
                    (p.dependencia or "", 0.5),
                    (p.numero_proceso, 1.0),
                    (p.estado, 0.5),
                    ("contratacion", 0.5),
                ],
            )
        )
    for r in (await session.exec(select(Report))).all():
        records.append(
            Record(
                "informe",
                r.titulo,
                r.titulo,
                [
                    (r.titulo, 3.0),
                    (r.tipo, 1.5),
                    (r.periodo, 0.5),
                    (r.resumen or "", 0.5),
                    ("informe", 0.5),
                ],
                ref=r.enlace,
            )
        )
    answered = select(CitizenQuestion).where(
        CitizenQuestion.status == "respondida", col(CitizenQuestion.published).is_(True)
    )
    for q in (await session.exec(answered)).all():
        records.append(
            Record("pregunta", str(q.id), q.text, [(q.text, 2.0), (q.answer or "", 1.0)])
        )
    names = {c.nombre: c.codigo for c in comunas.values()}
    # Stemming thousands of texts is CPU work: keep it off the event loop.
    return await asyncio.to_thread(SearchIndex, records, names)
