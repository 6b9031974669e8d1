"""Contracting processes and published reports, as citizens browse them."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ContractingProcess, Report

OPEN_STATES = ("Abierto", "En evaluación")
AWARDED_STATES = ("Adjudicado", "Celebrado")


async def processes(session: AsyncSession, *, states: tuple[str, ...]) -> list[ContractingProcess]:
    """Return processes in these states, newest opening first."""
    query = (
        select(ContractingProcess)
        .where(col(ContractingProcess.estado).in_(states))
        .order_by(col(ContractingProcess.fecha_apertura).desc(),
                  col(ContractingProcess.numero_proceso))
    )
    return list((await session.exec(query)).all())


async def process_by_number(session: AsyncSession, number: str) -> ContractingProcess | None:
    """Return the process with this number."""
    query = select(ContractingProcess).where(ContractingProcess.numero_proceso == number)
    return (await session.exec(query)).first()


async def reports(session: AsyncSession) -> list[Report]:
    """Return published reports, newest first."""
    query = select(Report).order_by(col(Report.fecha_publicacion).desc(), col(Report.titulo))
    return list((await session.exec(query)).all())
