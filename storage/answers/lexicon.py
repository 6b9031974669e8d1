"""The words of questions, read once from `data/` (per city, not code)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storage.search import tokens
from storage.text import fold

DATA = Path(__file__).parent / "data"
Phrase = tuple[str, ...]


@dataclass(frozen=True)
class GlossaryEntry:
    """A word citizens meet in the data, explained in plain language."""

    term: str
    definition: str
    names: tuple[Phrase, ...]  # the term and its synonyms, as folded words


@dataclass(frozen=True)
class Lexicon:
    """Cue phrases (folded words) for each thing a question can ask."""

    attributes: dict[Phrase, str]  # phrase → attribute («cuando terminan» → fin)
    kind_attributes: dict[str, tuple[str, ...]]  # kind → attributes it has, «resumen» first
    superlatives: dict[Phrase, str]  # phrase → measure («mas cara» → mas_valor)
    count: frozenset[Phrase]
    kinds: dict[Phrase, str]  # «secretaria» → presupuesto
    define: frozenset[Phrase]
    howto: dict[Phrase, str]  # phrase → action («como voto» → votar)
    follow_start: frozenset[Phrase]
    pronouns: frozenset[str]
    outside: dict[Phrase, str]  # phrase → pointer («pasaporte» → tramites)
    filler: frozenset[Phrase]  # words that only pad a question («exactamente», «este año»)
    statuses: frozenset[Phrase]  # statuses named in a question: never cues («en ejecución»)
    periods: dict[Phrase, str]  # «esta semana» → semana: when, for the agenda
    works_said: frozenset[Phrase]  # «qué están haciendo…»: asks for the works
    glossary: tuple[GlossaryEntry, ...]

    @functools.cached_property
    def cue_sounds(self) -> frozenset[str]:
        """Return every word of every cue, as it sounds (`sound`)."""
        tables: list[Any] = [self.attributes, self.superlatives, self.count, self.kinds,
                             self.define, self.howto, self.outside, self.follow_start,
                             self.filler, self.statuses, self.periods, self.works_said]
        return frozenset(w for table in tables for p in table for w in p)


_SOFT_C = re.compile(r"c(?=[ei])")
_HARD_C = re.compile(r"c(?!h)")
_MUTE_H = re.compile(r"(?<!c)h")
_DOUBLE = re.compile(r"([a-z])\1+")


@functools.lru_cache(maxsize=50_000)
def sound(word: str) -> str:
    """Return a folded word as it sounds, so cues match however it was spelt: «ke» and «que»,
    «avanse» and «avance», «a pagado» and «ha pagado», «ba» and «va» read the same."""
    word = word.replace("qu", "k").replace("ll", "y")
    word = _HARD_C.sub("k", _SOFT_C.sub("s", word))
    word = _MUTE_H.sub("", word).replace("z", "s").replace("v", "b")
    return _DOUBLE.sub(r"\1", word)


def phrase(text: str) -> Phrase:
    """Return a cue as the question's words sound (folded, abbreviations expanded)."""
    return tuple(sound(w) for w in tokens(text))


def _inverse(table: dict[str, list[str]]) -> dict[Phrase, str]:
    return {phrase(p): key for key, phrases in table.items() for p in phrases}


@functools.lru_cache(maxsize=4)
def load(folder: Path = DATA) -> Lexicon:
    """Read the question words and the glossary from `folder`."""
    words = yaml.safe_load((folder / "preguntas.yaml").read_text(encoding="utf-8"))
    glossary = yaml.safe_load((folder / "glosario.yaml").read_text(encoding="utf-8")) or []
    entries = tuple(
        GlossaryEntry(
            term=str(item["termino"]),
            definition=" ".join(str(item["definicion"]).split()),
            names=tuple(dict.fromkeys(
                phrase(n) for n in [item["termino"], *(item.get("sinonimos") or [])])),
        )
        for item in glossary
    )
    return Lexicon(
        attributes=_inverse(words["atributos"]),
        kind_attributes={k: tuple(v) for k, v in words["por_tipo"].items()},
        superlatives=_inverse(words["superlativos"]),
        count=frozenset(phrase(p) for p in words["contar"]),
        kinds=_inverse(words["tipos"]),
        define=frozenset(phrase(p) for p in words["definir"]),
        howto=_inverse(words["como_hacer"]),
        follow_start=frozenset(phrase(p) for p in words["seguimiento"]["inicio"]),
        pronouns=frozenset(sound(fold(p)) for p in words["seguimiento"]["pronombres"]),
        outside=_inverse(words["fuera_de_alcance"]),
        filler=frozenset(phrase(p) for p in words["relleno"]),
        statuses=frozenset(phrase(p) for p in words["estados"]),
        periods=_inverse(words["periodos"]),
        works_said=frozenset(phrase(p) for p in words["obras_dichas"]),
        glossary=entries,
    )
