"""Open data: whole tables in their import format, and the figures the transparency page shows.

Every open-data set uses the column names of its import kind (`storage.importers.KINDS`),
so a downloaded CSV can be imported again as it is and changes nothing (a round trip).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.goals import lines, progress
from storage.importers import KINDS
from storage.models import Comuna, Survey, Work
from storage.survey_results import SurveyResults, survey_results
from storage.surveys import is_open
from storage.types import utcnow

# The open-data sets, in the order the site lists them.
DATASETS = ("obras", "metas", "presupuesto", "comunas")
CENTS = Decimal("0.01")


def columns(dataset: str) -> list[str]:
    """Return the column names of an open-data set (its import columns, required first)."""
    spec = KINDS[dataset]
    return [*spec.required, *spec.optional]


def _value(value: Any, column_type: str) -> Any:
    if value is None:
        return None
    if column_type == "money":
        return Decimal(value).quantize(CENTS)
    return value


def comuna_order(codigo: str, tipo: str | None) -> tuple[int, int, str]:
    """Sort key of a comuna in its natural order: comunas 1, 2, … 17, then corregimientos."""
    digits = "".join(ch for ch in codigo if ch.isdigit())
    corregimiento = tipo == "corregimiento" or not codigo[:1].isdigit()
    return (int(corregimiento), int(digits) if digits else 1_000_000, codigo)


async def dataset_rows(session: AsyncSession, dataset: str) -> list[list[Any]]:
    """Return every row of an open-data set, by key, one value per column of `columns`."""
    spec = KINDS[dataset]
    comunas = {c.id: c.codigo for c in (await session.exec(select(Comuna))).all()}
    order = [col(getattr(spec.model, field)) for field in spec.key]
    rows = list((await session.exec(select(spec.model).order_by(*order))).all())
    if dataset == "comunas":
        rows.sort(key=lambda c: comuna_order(c.codigo, c.tipo))  # type: ignore[attr-defined]
    result = []
    for row in rows:
        values = []
        for name in columns(dataset):
            column = spec.columns[name]
            raw = getattr(row, column.field)
            if column.type == "comuna":
                raw = comunas.get(raw)
            values.append(_value(raw, column.type))
        result.append(values)
    return result


@dataclass(frozen=True)
class MapWork:
    """A work as the map shows it, with its comuna."""

    work: Work
    comuna: Comuna


async def works_for_map(session: AsyncSession) -> list[MapWork]:
    """Return every work with its comuna, by comuna then name."""
    rows = (await session.exec(
        select(Work, Comuna).join(Comuna, col(Comuna.id) == col(Work.comuna_id))
        .order_by(col(Comuna.id), col(Work.nombre))
    )).all()
    return [MapWork(work, comuna) for work, comuna in rows]


async def all_comunas(session: AsyncSession) -> list[Comuna]:
    """Return the comunas and corregimientos in their natural order (1, 2, … 17, C1, …)."""
    comunas = list((await session.exec(select(Comuna).order_by(col(Comuna.id)))).all())
    return sorted(comunas, key=lambda c: comuna_order(c.codigo, c.tipo))


@dataclass(frozen=True)
class LineProgress:
    """One strategic line: how many goals in each status and the mean progress (capped)."""

    position: int
    name: str
    goals: int
    done: int
    on_track: int
    behind: int
    mean_progress: float
    cutoff: date | None


async def goals_by_line(session: AsyncSession) -> list[LineProgress]:
    """Return each strategic line's goal counts by status and mean progress (each ≤ 100 %)."""
    result = []
    for branch in await lines(session):
        shares = [min(progress(g), 100.0) for g in branch.goals]
        cutoffs = [g.fecha_corte for g in branch.goals if g.fecha_corte]
        result.append(LineProgress(
            position=branch.position, name=branch.name, goals=len(branch.goals),
            done=branch.count("cumplida"), on_track=branch.count("en curso"),
            behind=branch.count("rezagada"),
            mean_progress=sum(shares) / len(shares) if shares else 0.0,
            cutoff=max(cutoffs) if cutoffs else None,
        ))
    return result


async def published_survey_results(
    session: AsyncSession,
) -> tuple[list[SurveyResults], list[Survey]]:
    """Return the results of closed surveys (newest first) and the surveys still open.

    Results of an open survey stay unpublished, as in the bot, where people see them only
    after answering.
    """
    surveys = (await session.exec(select(Survey).order_by(col(Survey.id).desc()))).all()
    now = utcnow()
    closed, running = [], []
    for survey in surveys:
        if is_open(survey, now):
            running.append(survey)
        elif survey.cierra is not None and survey.cierra <= now:
            closed.append(await survey_results(session, survey=survey))
    return closed, running
