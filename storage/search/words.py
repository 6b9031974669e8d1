"""The words the search reads: folding, abbreviations, stems, typo spellings, and the
vocabulary of sections, kinds, statuses and comunas (per city: `answers/data/busqueda.yaml`)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import snowballstemmer
import yaml

from storage.statuses import WORK_STATUSES
from storage.text import fold

_STEM = snowballstemmer.stemmer("spanish")
_WORD = re.compile(r"[a-z0-9]+")
_TOPIC_TAIL = re.compile(r"[,:;(]| y | e ")  # where a program's name stops naming its sector
_GLUED_COMUNA = re.compile(r"(c|com|cmna|comuna)(\d{1,2})")  # «c4», «com3», «comuna4»
# The words the index reads are data, per city (`answers/data/busqueda.yaml`).
_WORDS: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent.parent / "answers" / "data" / "busqueda.yaml").read_text(
        encoding="utf-8"))
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
SIMILAR_COVERAGE = 0.5  # share of a question's words another must hold to look the same
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
