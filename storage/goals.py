"""Development-plan goals: progress, status, and the line → program → goal tree."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Goal
from storage.snapshot import held, rows_of
from storage.text import fold, fold_words, holds, without_tags

# Status thresholds, in % of the four-year target achieved (defined once, shown to users).
DONE_MIN = 100.0
ON_TRACK_MIN = 50.0
STATUS_HELP = (
    "cumplida: logró el 100 % o más · en curso: entre 50 % y 99 % · rezagada: menos de 50 %"
)


def progress(goal: Goal) -> float:
    """Return how much of the four-year target is achieved, in % (may exceed 100)."""
    return goal.avance / goal.meta_cuatrienio * 100 if goal.meta_cuatrienio else 0.0


def status_of(percent: float) -> str:
    """Name the status of a goal at this progress: cumplida, en curso or rezagada."""
    if percent >= DONE_MIN:
        return "cumplida"
    if percent >= ON_TRACK_MIN:
        return "en curso"
    return "rezagada"


STATUSES = ("cumplida", "en curso", "rezagada")
# How people ask for goals in a status («metas cumplidas», «¿qué metas van atrasadas?»).
STATUS_ASKED = {
    **dict.fromkeys(["cumplida", "cumplidas", "cumplido", "cumplidos", "lograda", "logradas",
                     "alcanzada", "alcanzadas", "completada", "completadas"], "cumplida"),
    **dict.fromkeys(["rezagada", "rezagadas", "atrasada", "atrasadas", "retrasada",
                     "retrasadas", "incumplida", "incumplidas"], "rezagada"),
    **dict.fromkeys(["curso", "progreso", "avanzando"], "en curso"),
}
GOAL_WORDS = frozenset({"meta", "metas", "plan", "pdm", "objetivo", "objetivos"})
# Words that only frame such a question; anything else narrows it («metas de salud cumplidas»).
FRAMING = frozenset({
    "de", "del", "la", "las", "el", "los", "en", "que", "cuales", "cuantas", "hay", "van",
    "se", "han", "estan", "son", "ya", "ver", "lista", "todas", "mis", "desarrollo", "muy",
    "sido", "fueron", "cumplieron", "como", "y", "a", "por",
})


def status_asked(text: str, *, about_goals: bool = False) -> tuple[str, str] | None:
    """Return the goal status a question asks for and its other words, or None.

    Needs a status word and, unless `about_goals` (the text follows `/metas`), a goal word:
    «metas cumplidas» → («cumplida», ""), «metas de salud atrasadas» → («rezagada»,
    "salud"); «obras terminadas» → None.
    """
    words = fold_words(without_tags(text)).split()  # «<b>salud</b>» is «salud»
    if not about_goals and not GOAL_WORDS.intersection(words):
        return None
    status = next((STATUS_ASKED[w] for w in words if w in STATUS_ASKED), None)
    if status is None:
        return None
    rest = [w for w in words if w not in STATUS_ASKED and w not in GOAL_WORDS
            and w not in FRAMING]
    return status, " ".join(rest)


@dataclass(frozen=True)
class Branch:
    """A strategic line or a program: its position (1-based), name and goals."""

    position: int
    name: str
    goals: tuple[Goal, ...]

    def count(self, status: str) -> int:
        """Return how many of its goals have this status."""
        return sum(1 for g in self.goals if status_of(progress(g)) == status)


async def _read_goals(session: AsyncSession) -> dict[str, Goal]:
    return {g.codigo: g for g in await rows_of(session, Goal, col(Goal.codigo))}


async def _goals(session: AsyncSession) -> dict[str, Goal]:
    """Every goal by code, in code order, from the snapshot (never to be changed)."""
    return await held(session, _read_goals, ("goal",))


async def _all_goals(session: AsyncSession) -> list[Goal]:
    return list((await _goals(session)).values())


def _branches(goals: list[Goal], attribute: str) -> list[Branch]:
    """Group goals by line or program, in the order their codes first appear."""
    groups: dict[str, list[Goal]] = {}
    for goal in goals:
        groups.setdefault(getattr(goal, attribute), []).append(goal)
    return [Branch(i, name, tuple(items)) for i, (name, items) in enumerate(groups.items(), 1)]


async def lines(session: AsyncSession) -> list[Branch]:
    """Return the strategic lines with their goals."""
    return _branches(await _all_goals(session), "linea")


async def programs(session: AsyncSession, *, line: int) -> tuple[Branch, list[Branch]] | None:
    """Return a line and its programs, or None if there is no such line."""
    found = [b for b in await lines(session) if b.position == line]
    if not found:
        return None
    return found[0], _branches(list(found[0].goals), "programa")


async def program(
    session: AsyncSession, *, line: int, number: int
) -> tuple[Branch, Branch] | None:
    """Return a line and one of its programs, or None if either does not exist."""
    tree = await programs(session, line=line)
    if tree is None:
        return None
    match = [p for p in tree[1] if p.position == number]
    return (tree[0], match[0]) if match else None


async def place_of(session: AsyncSession, goal: Goal) -> tuple[int, int]:
    """Return the positions (1-based) of the goal's line and of its program within the line.

    """
    lines_seen: dict[str, dict[str, None]] = {}
    for each in await _all_goals(session):
        lines_seen.setdefault(each.linea, {}).setdefault(each.programa, None)
    names = list(lines_seen)
    if goal.linea not in lines_seen or goal.programa not in lines_seen[goal.linea]:
        raise LookupError(goal.codigo)
    return names.index(goal.linea) + 1, list(lines_seen[goal.linea]).index(goal.programa) + 1


async def goal_by_code(session: AsyncSession, codigo: str) -> Goal | None:
    """Return the goal with this code."""
    return (await _goals(session)).get(codigo)


async def goals_in_status(
    session: AsyncSession, *, status: str, words: str = ""
) -> list[Goal]:
    """Return the goals in `status` (cumplida, en curso, rezagada), by code; with `words`,
    only those whose text, program or office hold every one of them."""
    goals = await search_goals(session, words, limit=None) if words else await _all_goals(session)
    return [g for g in goals if status_of(progress(g)) == status]


async def search_goals(
    session: AsyncSession, text: str, *, limit: int | None = 20
) -> list[Goal]:
    """Return goals whose text, indicator or program contain every word of `text`; only if
    none does, those whose office does too («inderbu»). «Salud» is the health goals, not the
    trees of a «Secretaría de Salud y Ambiente»."""
    # A crude plural fold ("parques" finds "parque") is enough for this simple search.
    words = [w for w in fold(text).split() if len(w) > 2]
    if not words:
        return []
    goals = await _all_goals(session)
    for with_office in (False, True):
        found = []
        for goal in goals:
            fields = [goal.meta, goal.indicador, goal.programa, goal.codigo]
            haystack = fold(" ".join([*fields, goal.responsable or ""] if with_office
                                     else fields))
            if all(holds(haystack, w) for w in words):
                found.append(goal)
        if found:
            return found[:limit]
    return []
