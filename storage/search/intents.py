"""What a question asks for: its comunas, a works status, the sections it names; and what
the search returns (hits, the grouped answer) and indexes (records)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from storage.search.words import (
    _GLUED_COMUNA,
    DELAY_WORDS,
    DELAYED,
    NUMBERS,
    PLAN_WORDS,
    STATUS_PAIRS,
    STATUS_WORDS,
    TOPIC_WORDS,
    WORKS_STATUS_PAIRS,
    tokens,
)
from storage.statuses import WORK_STATUSES
from storage.text import fold


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
