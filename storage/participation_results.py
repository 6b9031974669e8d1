"""Participatory budget results: the votes of each project, and the winners funded in
order of votes within the round's budget (`pick_winners`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import PBProject, PBVote
from storage.participation import RoundDetail, round_detail


@dataclass(frozen=True)
class ProjectResult:
    """A project's votes and whether it is funded."""

    project: PBProject
    votes: int
    wins: bool


@dataclass(frozen=True)
class RoundResults:
    """A round's outcome: projects by votes, how many people voted, what the winners cost."""

    detail: RoundDetail
    ballots: int
    projects: list[ProjectResult]

    @property
    def spent(self) -> Decimal:
        """Return what the winning projects cost together."""
        return sum((r.project.costo for r in self.projects if r.wins), Decimal(0))


def pick_winners(
    items: Sequence[tuple[str, int, Decimal]], budget: Decimal
) -> tuple[list[str], set[str]]:
    """Rank (code, votes, cost) by votes and fund them greedily within `budget`.

    Returns the codes in ranking order (votes down, then cheaper, then code) and the set
    of winners: going down the ranking, a project with votes wins if it fits in what is
    left; one that does not fit is skipped and the next ones are still considered.
    """
    ranked = sorted(items, key=lambda item: (-item[1], item[2], item[0]))
    left = budget
    winners: set[str] = set()
    for code, votes, cost in ranked:
        if votes > 0 and cost <= left:
            winners.add(code)
            left -= cost
    return [code for code, _, _ in ranked], winners


async def votes_by_round(
    session: AsyncSession, round_ids: Iterable[int]
) -> dict[int, Counter[int]]:
    """Count the votes of each project per round; key 0 counts the round's ballots."""
    ids = list(set(round_ids))
    counts: dict[int, Counter[int]] = {rid: Counter() for rid in ids}
    if not ids:
        return counts
    ballots = (await session.exec(
        select(PBVote.round_id, PBVote.project_ids).where(col(PBVote.round_id).in_(ids))
    )).all()
    for round_id, project_ids in ballots:
        counts[round_id].update(int(p) for p in project_ids or [])
        counts[round_id][0] += 1  # key 0: how many ballots the round has
    return counts


async def round_results(
    session: AsyncSession, *, round_id: int, now: datetime
) -> RoundResults | None:
    """Return a round's votes per project and its winners, or None if there is no such round."""
    detail = await round_detail(session, round_id=round_id, now=now)
    if detail is None:
        return None
    counts = (await votes_by_round(session, [round_id]))[round_id]
    ballots = counts.pop(0, 0)
    by_code = {p.codigo: p for p in detail.projects}
    order, winners = pick_winners(
        [(p.codigo, counts.get(p.id or -1, 0), p.costo) for p in detail.projects],
        detail.card.round.presupuesto,
    )
    rows = [
        ProjectResult(by_code[code], counts.get(by_code[code].id or -1, 0), code in winners)
        for code in order
    ]
    return RoundResults(detail, ballots, rows)
