"""Contracting processes and published reports, as citizens browse them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Table
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.db import dialect_of, with_lists
from storage.models import ContractingProcess, Report

OPEN_STATES = ("Abierto", "En evaluación")
AWARDED_STATES = ("Adjudicado", "Celebrado")
# Where a process is, as citizens read it: taking bids, being evaluated (including «Abierto»
# past its closing date: the data lags), awarded, or other (desierto, cancelado…).
STAGES = ("ofertas", "evaluacion", "adjudicado", "otro")


def stage(process: ContractingProcess, today: date) -> str:
    """Return the process's stage on `today` (one of `STAGES`)."""
    if process.estado == "Abierto":
        closes = process.fecha_cierre
        return "ofertas" if closes is None or closes >= today else "evaluacion"
    if process.estado == "En evaluación":
        return "evaluacion"
    return "adjudicado" if process.estado in AWARDED_STATES else "otro"


def overdue(process: ContractingProcess, today: date) -> bool:
    """Tell whether the process still says «Abierto» after its closing date."""
    closes = process.fecha_cierre
    return process.estado == "Abierto" and closes is not None and closes < today


async def by_stage(session: AsyncSession, *, today: date) -> dict[str, list[ContractingProcess]]:
    """Return every process grouped by stage, newest opening first within each."""
    query = select(ContractingProcess).order_by(
        col(ContractingProcess.fecha_apertura).desc(), col(ContractingProcess.numero_proceso))
    groups: dict[str, list[ContractingProcess]] = {name: [] for name in STAGES}
    for process in (await session.exec(query)).all():
        groups[stage(process, today)].append(process)
    return groups


async def processes(session: AsyncSession, *, states: tuple[str, ...]) -> list[ContractingProcess]:
    """Return processes in these states, newest opening first."""
    query = (
        select(ContractingProcess)
        .where(col(ContractingProcess.estado).in_(states))
        .order_by(col(ContractingProcess.fecha_apertura).desc(),
                  col(ContractingProcess.numero_proceso))
    )
    return list((await session.exec(query)).all())


_PROCESSES: Table = ContractingProcess.__table__  # type: ignore[attr-defined]
_BY_NUMBERS = with_lists(lambda one_of: sa_select(_PROCESSES).where(
    one_of(_PROCESSES.c.numero_proceso, "numbers")))


async def processes_by_number(
    session: AsyncSession, numbers: list[str]
) -> dict[str, ContractingProcess]:
    """Return the processes with these numbers, by number, in one query (no session holds
    them)."""
    found = await lean.objects(session, ContractingProcess, _BY_NUMBERS[dialect_of(session)],
                               {"numbers": numbers})
    return {process.numero_proceso: process for process in found}


async def process_by_number(session: AsyncSession, number: str) -> ContractingProcess | None:
    """Return the process with this number."""
    return (await processes_by_number(session, [number])).get(number)


async def reports(session: AsyncSession) -> list[Report]:
    """Return published reports, newest first."""
    query = select(Report).order_by(col(Report.fecha_publicacion).desc(), col(Report.titulo))
    return list((await session.exec(query)).all())
