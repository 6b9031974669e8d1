"""Retrieve what a question is about: the item(s) the search index finds, with their figures.

`match` decides between one clear item, two or three to choose from, or none; `ranked`
orders a kind's items by a measure for comparisons («la obra más cara»). Both return the
database's own rows (or the budget's `Execution` per office), for the handler to render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.answers.lexicon import load, sound
from storage.budget import Execution, execution, latest_year
from storage.comunas import comuna_by_id
from storage.contracting import processes_by_number
from storage.events import all_events, shown_event
from storage.goals import goal_by_code, progress
from storage.models import Comuna, ContractingProcess, Event, Goal, Work
from storage.search import (
    FILLER,
    PLAN_WORDS,
    STOP,
    TOPIC_WORDS,
    Hit,
    SearchIndex,
    is_late,
    status_of,
    stem,
    title_words,
)
from storage.works import work_by_code, works_by_codes

# One item is «clearly» the one meant when it scores this much above the next.
CLEAR_RATIO = 1.25
# Items scoring at least this share of the best are offered as «¿Se refiere a…?».
CLOSE_RATIO = 0.8
MAX_CHOICES = 3
LONG_WINDOWS = 12  # runs of words tried in a long message
CLOSE_LOOKED_AT = 20  # the best hits weighed against each other (a common word ties many)
# The word that makes the index prefer each kind («obra» → works).
KIND_WORD = {"obra": "obra", "meta": "meta", "presupuesto": "presupuesto",
             "evento": "evento", "contratacion": "contratacion"}


@dataclass
class Match:
    """The items a question is about: one (clear), a few to choose from, or none."""

    hits: list[Hit] = field(default_factory=list)
    relaxed: bool = False  # found only after leaving out words the data does not hold

    @property
    def clear(self) -> Hit | None:
        """Return the one item meant, if it is clear."""
        return self.hits[0] if len(self.hits) == 1 else None


def _own_words(hit: Hit, words: list[str]) -> int:
    """Return how many of the question's words the hit's title holds (as stems)."""
    title = {stem(w) for w in title_words(hit.title)}
    return sum(stem(w) in title for w in words)


def _decide(hits: list[Hit], kinds: tuple[str, ...], words: list[str]) -> list[Hit]:
    """Keep the clear winner, or the few close to the best. Among close ones, those of the
    kind listed first (what the question asks is most about it: «¿cómo va el parque…?» is
    the work, not the workshop about it), and the one whose title holds every word asked
    («pavimentación de la calle 7n» among the other paving works)."""
    if not hits:
        return []
    if len(hits) == 1 or hits[0].score >= CLEAR_RATIO * hits[1].score:
        return hits[:1]
    close = [h for h in hits[:CLOSE_LOOKED_AT] if h.score >= CLOSE_RATIO * hits[0].score]
    first = min(kinds.index(h.kind) for h in close)
    close = [h for h in close if kinds.index(h.kind) == first]
    if len(close) > 1 and words:
        held = [_own_words(h, words) for h in close]
        best = max(held)
        if best and held.count(best) == 1:
            return [close[held.index(best)]]
    if len(close) == 1 or close[0].score >= CLEAR_RATIO * close[1].score:
        return close[:1]
    return close[:MAX_CHOICES]


def _content(text: str) -> list[str]:
    return [w for w in text.split() if w not in STOP and (len(w) > 2 or w.isdigit())]


def match(index: SearchIndex, text: str, kinds: tuple[str, ...], *, today: date) -> Match:
    """Find the item of one of `kinds` that `text` names; leave out words nothing holds when
    the rest still names something («presupuesto de educasion pues» is the education budget)."""
    hits = [h for h in index.ranked(text, today=today) if h.kind in kinds]
    if hits:
        return Match(_decide(hits, kinds, _content(text)))
    # A figure as typed («de los 30000») may not be written so in the data («30.000»).
    typed = _content(text)
    words = [w for w in typed if not w.isdigit() or index.knows(w)]
    known = [w for w in words if index.knows(w)]
    # More words the data holds than words it does not: «la audiencia esa de la que hablan»
    # is the hearing; «saco el pasaporte» is not about whatever «saco» matches.
    if known and len(known) < len(typed):
        hits = [h for h in index.ranked(" ".join(known), today=today) if h.kind in kinds]
        chosen = _decide(hits, kinds, known)
        # A long message with one clear item in it («… quién es el contratista del cdi de
        # café madrid, es que nadie nos dice …»): its title holds several of the words.
        strong = len(chosen) == 1 and _own_words(chosen[0], known) >= 2
        if chosen and (len(known) > len(words) - len(known) or strong):
            return Match(chosen, relaxed=True)
    return _in_a_long_message(index, list(dict.fromkeys(known)), kinds, today)


def _in_a_long_message(index: SearchIndex, known: list[str], kinds: tuple[str, ...],
                       today: date) -> Match:
    """Find the one item a long message names among many other words: a run of three (or
    two) consecutive known words whose best item's title holds at least two of them."""
    if len(known) < 4:
        return Match()
    best: tuple[int, float, Hit] | None = None
    for size in (3, 2):
        for start in range(min(len(known) - size + 1, LONG_WINDOWS)):
            window = known[start:start + size]
            hits = [h for h in index.ranked(" ".join(window), today=today) if h.kind in kinds]
            chosen = _decide(hits, kinds, window)
            held = _own_words(chosen[0], window) if len(chosen) == 1 else 0
            if held >= 2 and (best is None or (held, chosen[0].score) > best[:2]):
                best = (held, chosen[0].score, chosen[0])
        if best is not None:
            return Match([best[2]], relaxed=True)
    return Match()


def candidates(index: SearchIndex, text: str, kind: str, *, today: date) -> list[str] | None:
    """Return the keys of `kind` that `text` narrows to, or None when it does not narrow
    («la obra más cara» is every work; «… de la comuna 4» those of comuna 4). Words the data
    does not hold («en qué obra se están gastando…») do not narrow."""
    kind_words = load().kinds
    meaningful = [w for w in text.split() if w.isdigit() or (
        w not in STOP and w not in FILLER and (sound(w),) not in kind_words and len(w) > 2
        and w not in TOPIC_WORDS and w not in PLAN_WORDS)]
    if not meaningful:
        return None
    found = [h.key for h in index.ranked(f"{KIND_WORD.get(kind, '')} {text}", today=today)
             if h.kind == kind]
    if found:
        return found
    known = [w for w in meaningful if index.knows(w)]
    if not known:
        return None
    found = [h.key for h in index.ranked(f"{KIND_WORD.get(kind, '')} {' '.join(known)}",
                                         today=today) if h.kind == kind]
    return found or None  # words that narrow to nothing of this kind only phrase it


async def work(session: AsyncSession, codigo: str) -> tuple[Work, Comuna | None] | None:
    """Return a work and its comuna."""
    found = await work_by_code(session, codigo)
    if found is None:
        return None
    comuna = await comuna_by_id(session, found.comuna_id)
    return found, comuna


async def goal(session: AsyncSession, codigo: str) -> Goal | None:
    """Return a plan goal (from the snapshot: to show, never to change)."""
    return await goal_by_code(session, codigo)


async def offices(session: AsyncSession) -> tuple[Execution | None, list[Execution]]:
    """Return the latest year's total and each office's execution."""
    year = await latest_year(session)
    if not year:
        return None, []
    return await execution(session, vigencia=year)


async def office(session: AsyncSession, name: str) -> Execution | None:
    """Return one office's execution in the latest year."""
    _, per_office = await offices(session)
    return next((o for o in per_office if o.name == name), None)


async def event(session: AsyncSession, event_id: int) -> Event | None:
    """Return an event (from the snapshot: to show, never to change)."""
    return await shown_event(session, event_id)


async def process(session: AsyncSession, numero: str) -> ContractingProcess | None:
    """Return a contracting process."""
    query = select(ContractingProcess).where(ContractingProcess.numero_proceso == numero)
    return (await session.exec(query)).first()


def days_late(item: Work, today: date) -> int:
    """Return how many days a work is past its planned end (0 when it is not late)."""
    due = item.fecha_fin_prevista
    if due is None or not is_late(status_of(item.estado), due, today):
        return 0
    return (today - due).days


async def ranked_works(session: AsyncSession, measure: str, *, keys: list[str] | None,
                       today: date) -> list[Work]:
    """Return works ordered by `measure`, best first (only `keys` when given)."""
    query = select(Work)
    if keys is not None:
        query = query.where(col(Work.codigo).in_(keys))
    works = list((await session.exec(query)).all())
    if measure in ("mas_valor", "menos_valor"):
        priced = [w for w in works if w.valor_contrato is not None]
        return sorted(priced, key=lambda w: (Decimal(w.valor_contrato or 0), w.codigo),
                      reverse=measure == "mas_valor")
    unfinished = [w for w in works if status_of(w.estado) != "terminada"]
    # A work whose progress is not reported (SECOP) cannot be ranked by it: never as 0 %.
    measured = [w for w in unfinished if w.avance_fisico is not None]
    if measure == "mas_avance":
        return sorted(measured, key=lambda w: (-_progress(w), w.codigo))
    if measure == "menos_avance":  # started ones first: «por iniciar» at 0 % is not slow
        started_first = {"en ejecucion": 0, "suspendida": 0}
        return sorted(measured, key=lambda w: (
            started_first.get(status_of(w.estado), 1), _progress(w), w.codigo))
    late = sorted((w for w in unfinished if days_late(w, today)),
                  key=lambda w: (-days_late(w, today), w.avance_fisico is None, _progress(w),
                                 w.codigo))
    started = sorted((w for w in measured if not days_late(w, today)
                      and status_of(w.estado) in ("en ejecucion", "suspendida")),
                     key=lambda w: (_progress(w), w.codigo))
    return late + started


def _progress(work: Work) -> float:
    return work.avance_fisico or 0.0


async def ranked_goals(session: AsyncSession, measure: str, *,
                       keys: list[str] | None) -> list[Goal]:
    """Return goals ordered by progress (most or least advanced first)."""
    query = select(Goal)
    if keys is not None:
        query = query.where(col(Goal.codigo).in_(keys))
    goals = list((await session.exec(query)).all())
    most = measure in ("mas_avance", "mas_valor", "mas_ejecucion")
    return sorted(goals, key=lambda g: (-progress(g) if most else progress(g), g.codigo))


async def ranked_offices(session: AsyncSession, measure: str, *,
                         keys: list[str] | None) -> list[Execution]:
    """Return offices ordered by budget or by execution."""
    _, per_office = await offices(session)
    if keys is not None:
        per_office = [o for o in per_office if o.name in keys]
    if measure in ("mas_valor", "menos_valor"):
        return sorted(per_office, key=lambda o: (o.apropiacion, o.name),
                      reverse=measure == "mas_valor")
    most = measure in ("mas_avance", "mas_ejecucion")
    with_budget = [o for o in per_office if o.apropiacion]
    return sorted(with_budget, key=lambda o: (-o.executed if most else o.executed, o.name))


async def ranked_processes(session: AsyncSession, measure: str, *,
                           keys: list[str] | None) -> list[ContractingProcess]:
    """Return contracting processes ordered by value."""
    query = select(ContractingProcess)
    if keys is not None:
        query = query.where(col(ContractingProcess.numero_proceso).in_(keys))
    found = list((await session.exec(query)).all())
    return sorted(found, key=lambda p: (Decimal(p.valor or 0), p.numero_proceso),
                  reverse=measure != "menos_valor")


@dataclass
class Listed:
    """The rows behind a list of hits, to show each one's key fact beside its title."""

    works: dict[str, Work] = field(default_factory=dict)
    goals: dict[str, Goal] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)  # by id, as text
    processes: dict[str, ContractingProcess] = field(default_factory=dict)
    offices: dict[str, Execution] = field(default_factory=dict)


async def listed(session: AsyncSession, hits: list[Hit]) -> Listed:
    """Load the rows of `hits` with one query per kind."""
    keys: dict[str, list[str]] = {}
    for hit in hits:
        keys.setdefault(hit.kind, []).append(hit.ref if hit.kind == "evento" else hit.key)
    found = Listed()
    if keys.get("obra"):
        found.works = await works_by_codes(session, keys["obra"])
    # Goals and events come from the snapshot (shared, never changed): no query at all.
    for code in keys.get("meta", []):
        goal = await goal_by_code(session, code)
        if goal is not None:
            found.goals[code] = goal
    ids = {int(k) for k in keys.get("evento", []) if k.isdigit()}
    if ids:
        found.events = {str(e.id): e for e in await all_events(session) if e.id in ids}
    if keys.get("contratacion"):
        found.processes = await processes_by_number(session, keys["contratacion"])
    if keys.get("presupuesto"):
        _, per_office = await offices(session)
        found.offices = {o.name: o for o in per_office if o.name in keys["presupuesto"]}
    return found


async def upcoming_events(session: AsyncSession, *, now: datetime, limit: int) -> list[Event]:
    """Return the next events, soonest first."""
    query = select(Event).where(Event.inicio >= now).order_by(col(Event.inicio)).limit(limit)
    return list((await session.exec(query)).all())
