"""Read what a question asks (intent) and what about (the words left for the search index).

Cue phrases come from `data/preguntas.yaml` (`storage.answers.lexicon`); everything else in
the question is left, in order, for the search index to find the item. Nothing here knows
any item of the data.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from storage.answers.lexicon import GlossaryEntry, Lexicon, Phrase, load, sound
from storage.search import STOP, tokens
from storage.text import without_tags

_WORD = re.compile(r"\w+")

# When several attributes are named, the most specific wins: «cuánta plata ha gastado…» asks
# the commitments, not a value; «¿cuándo termina y cuánto va?» the end date; «¿a qué hora
# termina?» the end, not the start.
SPECIFIC_FIRST = ("avance_financiero", "contratista", "compromisos", "obligaciones", "pagos",
                  "ejecutado", "cierre", "apertura", "modalidad", "cupos", "fin", "hora",
                  "sitio", "inicio", "responsable", "corte", "apropiacion", "valor", "enlace",
                  "avance", "estado", "lugar", "fecha", "resumen")
# Words that name the agenda: with a period («esta semana») they ask for its events.
AGENDA_WORDS = frozenset({"agenda", "eventos", "evento", "actividades", "reuniones", "talleres",
                          "hay", "programacion", "calendario"})
# A stop word as it may be spelt («an» for «han», «ban» for «van»): read as the stop word.
_STOP_SOUNDS = {sound(w): w for w in sorted(STOP)}
# Words that only frame a follow-up («¿y la de la comuna 5?»): not a new subject.
FRAME = frozenset({"comuna", "comunas", "corregimiento", "de", "del", "la", "el", "en", "y",
                   "los", "las", "que", "otra", "otro", "tambien", "pues", "entonces"})


@dataclass(frozen=True)
class Ask:
    """What a question asks and about what."""

    intent: str = ""  # atributo | comparar | contar | agenda | definir | como | fuera | ""
    attribute: str = ""  # an attribute of one item: «avance», «contratista», «fin»…
    measure: str = ""  # a comparison: «mas_valor», «menos_avance»…
    kind: str = ""  # the kind of item named («obra», «meta», «presupuesto»…), if any
    action: str = ""  # how to do something: «inscribirse», «votar», «preguntar»…
    pointer: str = ""  # outside accountability: «emergencias», «tramites», «pqrsd»
    terms: tuple[GlossaryEntry, ...] = ()  # glossary entries named
    rest: str = ""  # the question without its cue words, for the search index
    content: tuple[str, ...] = ()  # the meaningful words of `rest`
    follow: bool = False  # starts like a follow-up («y …») or has no subject of its own
    count: bool = False  # «cuántas…»
    frame_only: bool = False  # `content` is only a comuna/kind («y la de la comuna 5»)
    starts_follow: bool = False  # begins «y …», «¿y la de…?»
    period: str = ""  # when, for the agenda: «hoy», «semana», «mes»…
    plural: bool = False  # «¿cuándo son los…?»: every item of the kind, not one
    plain: str = ""  # the question without padding («que están haciendo en provenza» →
    # «en provenza»), when it had some: what the list of matches searches
    words: tuple[str, ...] = field(default=(), repr=False)


T = TypeVar("T")
CueTable = Mapping[Phrase, Any] | frozenset[Phrase]


def _matches(words: list[str], table: CueTable) -> list[tuple[int, int, Any]]:
    """Return the (start, length, value) of each longest, non-overlapping cue in `words`."""
    firsts, sizes = _shape(table)
    found = []
    i, end = 0, len(words)
    while i < end:
        if words[i] in firsts:  # most words start no cue: skip the lookups
            for size in sizes:
                key = tuple(words[i:i + size]) if size <= end - i else ()
                if key and key in table:
                    value = table[key] if isinstance(table, Mapping) else " ".join(key)
                    found.append((i, size, value))
                    i += size
                    break
            else:
                i += 1
        else:
            i += 1
    return found


_KEPT: dict[tuple[str, int], tuple[object, Any]] = {}


def _kept(kind: str, owner: object, build: Callable[[], T]) -> T:
    """What `build` makes for `owner` (a lexicon or one of its tables), made once while
    `owner` lives (the lexicons live as long as the process)."""
    key = (kind, id(owner))
    kept = _KEPT.get(key)
    if kept is None or kept[0] is not owner:  # never another object at a reused id
        kept = _KEPT[key] = (owner, build())
    return kept[1]


def _shape(table: CueTable) -> tuple[frozenset[str], tuple[int, ...]]:
    """The words a cue of `table` starts with, and its cues' lengths, longest first."""
    return _kept("shape", table, lambda: (
        frozenset(p[0] for p in table if p),
        tuple(sorted({len(p) for p in table if p}, reverse=True))))


def _glossary(words: list[str], lexicon: Lexicon) -> list[tuple[int, int, GlossaryEntry]]:
    """Return the glossary entries named in `words` (plurals too), longest names first."""
    table = _kept("glossary", lexicon, lambda: _glossary_table(lexicon))
    return [(i, n, table[tuple(words[i:i + n])]) for i, n, _ in _matches(words, table)]


def _glossary_table(lexicon: Lexicon) -> dict[Phrase, GlossaryEntry]:
    names: dict[Phrase, GlossaryEntry] = {}
    for entry in lexicon.glossary:
        for name in entry.names:
            names.setdefault(name, entry)
            if name[-1].endswith("s") and len(name[-1]) > 4:  # «compromisos» → «compromiso»
                continue
            plural = name[-1] + ("es" if name[-1][-1] in "nlrdz" else "s")
            names.setdefault((*name[:-1], plural), entry)
    return names


def _mend(words: list[str], lexicon: Lexicon) -> list[str]:
    """Join two words a voice keyboard split when together they are a cue or a stop word
    («cuan to» → «cuanto», «alcal dia» → «alcaldia»)."""
    known = lexicon.cue_sounds | _STOP_SOUNDS.keys()
    mended: list[str] = []
    skip = False
    for word, after in itertools.zip_longest(words, words[1:], fillvalue=""):
        if skip:
            skip = False
            continue
        if after and (sound(word) not in known or sound(after) not in known) and (
                sound(word + after) in known):
            mended.append(word + after)
            skip = True
        else:
            mended.append(word)
    return mended


def parse(text: str, lexicon: Lexicon | None = None) -> Ask:
    """Read a question's intent, its attribute or comparison, and the words left over."""
    if lexicon is None:
        return _parse_with_ours(text)
    return _parse(text, lexicon)


@functools.lru_cache(maxsize=1024)
def _parse_with_ours(text: str) -> Ask:
    # One question is read by the answers, then by the search: an `Ask` never changes.
    return _parse(text, load())


def _parse(text: str, lexicon: Lexicon) -> Ask:
    typed = _mend(tokens(without_tags(text)), lexicon)
    if not typed:
        return Ask()
    keys = [sound(w) for w in typed]  # cues match as they sound: «ke», «avanse», «a pagado»
    # What is left for the search reads as the data does: «an» is «han», «ban» «van».
    words = [w if w in STOP else _STOP_SOUNDS.get(k, w) for w, k in zip(typed, keys, strict=True)]
    used: set[int] = set()

    def take(found: list[tuple[int, int, Any]]) -> None:
        for start, size, _ in found:
            used.update(range(start, start + size))

    # «obras en ejecución»: a status for the search, not the budget's «ejecución».
    statuses = {i for start, size, _ in _matches(keys, lexicon.statuses)
                for i in range(start, start + size)}
    keys = [k if i not in statuses else "" for i, k in enumerate(keys)]
    kinds = _matches(keys, lexicon.kinds)
    kind = next((k for _, _, k in kinds), "")
    counted = _matches(keys, lexicon.count)
    # «cuántas obras…», «cuántos procesos de contratación…»: a count of a kind; «cuántos
    # créditos… de la meta» asks a goal's figure.
    counted_kind = any(start + size == at or start + size + 1 == at
                       for start, size, _ in counted for at, _, _ in kinds)
    outside = _matches(keys, lexicon.outside)
    define = _matches(keys, lexicon.define)
    terms = _glossary(keys, lexicon)
    howto = _matches(keys, lexicon.howto)
    compare = _matches(keys, lexicon.superlatives)
    attributes = _matches(keys, lexicon.attributes)
    follows = _matches(keys[:3], lexicon.follow_start)
    starts_follow = bool(follows) and follows[0][0] == 0
    periods = _matches(keys, lexicon.periods)
    period = periods[0][2] if periods else ""
    padding = _matches(keys, lexicon.filler)
    works_said = _matches(keys, lexicon.works_said)
    take(padding)
    take(works_said)
    padded = {i for start, size, _ in [*padding, *works_said] for i in range(start, start + size)}
    plain = " ".join(w for i, w in enumerate(words) if i not in padded) if padded else ""
    if works_said:
        plain = f"obras {plain}"

    intent, attribute, measure, action, pointer = "", "", "", "", ""
    chosen_terms: tuple[GlossaryEntry, ...] = ()
    if any(p == "emergencias" for _, _, p in outside):
        intent, pointer = "fuera", "emergencias"
        take(outside)
    elif define and terms:
        intent = "definir"
        chosen_terms = tuple(dict.fromkeys(e for _, _, e in terms))
        take(define)
        take(terms)
    elif howto:
        intent, action = "como", howto[0][2]
        take(howto)
    elif compare:
        intent, measure = "comparar", compare[0][2]
        take(compare)
        take(counted)
    elif period and (kind == "evento" or AGENDA_WORDS & set(words) or not [
            w for i, w in enumerate(words) if w not in STOP and not any(
                start <= i < start + size for start, size, _ in periods)]):
        intent = "agenda"  # «eventos de esta semana», «qué hay hoy»
        take(periods)
    elif counted_kind:
        intent = "contar"  # «cuántas obras hay en la comuna 4»
        take(counted)
    elif attributes:
        named = [a for _, _, a in attributes]
        attribute = min(named, key=lambda a: SPECIFIC_FIRST.index(a)
                        if a in SPECIFIC_FIRST else len(SPECIFIC_FIRST))
        intent = "atributo"
        take(attributes)
    elif counted:
        intent, attribute = "atributo", "avance"  # «cuántos árboles han sembrado»
        take(counted)
    if outside and not pointer:
        pointer = outside[0][2]  # a trámite or a complaint: where to go, beside any answer
    if starts_follow:
        take(follows[:1])
    rest = [w for i, w in enumerate(words) if i not in used]
    content = tuple(w for w in rest if w not in STOP and sound(w) not in lexicon.pronouns
                    and (sound(w),) not in lexicon.kinds and (len(w) > 2 or w.isdigit()))
    frame_only = bool(content) and all(w in FRAME or w.isdigit() for w in content)
    follow = starts_follow or (bool(intent) and not content)
    return Ask(
        intent=intent,
        attribute=attribute,
        measure=measure,
        kind=kind,
        action=action,
        pointer=pointer,
        terms=chosen_terms,
        rest=" ".join(rest),
        content=content,
        follow=follow,
        count=bool(counted),
        frame_only=frame_only,
        starts_follow=starts_follow,
        plain=plain,
        period=period,
        plural=any(w in ("son", "seran") and nxt in ("los", "las")
                   for w, nxt in itertools.pairwise(words)),
        words=tuple(words),
    )
