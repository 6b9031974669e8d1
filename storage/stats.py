"""How much data each area holds: used by the menu, `cabildo demo` and health checks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    BudgetLine,
    Comuna,
    ContractingProcess,
    Event,
    Goal,
    PlanActivity,
    Report,
    Work,
)


@dataclass(frozen=True)
class Counts:
    """Row counts of the information tables."""

    comunas: int
    metas: int
    lineas: int
    presupuesto: int
    obras: int
    eventos: int
    contratacion: int
    informes: int
    plan: int

    @property
    def empty(self) -> bool:
        """Tell whether no information has been loaded yet (comunas aside)."""
        return not (self.metas or self.presupuesto or self.obras or self.eventos
                    or self.contratacion or self.informes)


async def _count(session: AsyncSession, model: type[SQLModel]) -> int:
    return int((await session.exec(select(func.count()).select_from(model))).one())


async def data_counts(session: AsyncSession) -> Counts:
    """Return how many rows each information table holds."""
    lineas = (await session.exec(select(func.count(func.distinct(Goal.linea))))).one()
    return Counts(
        comunas=await _count(session, Comuna),
        metas=await _count(session, Goal),
        lineas=int(lineas),
        presupuesto=await _count(session, BudgetLine),
        obras=await _count(session, Work),
        eventos=await _count(session, Event),
        contratacion=await _count(session, ContractingProcess),
        informes=await _count(session, Report),
        plan=await _count(session, PlanActivity),
    )
