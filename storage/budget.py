"""Budget execution: totals for the latest fiscal year, overall and per office."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BudgetLine
from storage.snapshot import held
from storage.text import fold


@dataclass(frozen=True)
class Execution:
    """Appropriation, commitments, obligations and payments of one office or of the whole."""

    name: str
    vigencia: int
    apropiacion: Decimal
    compromisos: Decimal
    obligaciones: Decimal
    pagos: Decimal
    fecha_corte: date | None
    rubros: tuple[str, ...] = ()
    fuente: str | None = None  # the source(s) of its lines; None: files of the Alcaldía
    importado_at: datetime | None = None  # the latest import of its lines

    def share(self, amount: Decimal) -> float:
        """Return `amount` as a % of the appropriation."""
        return float(amount / self.apropiacion * 100) if self.apropiacion else 0.0

    @property
    def executed(self) -> float:
        """Return commitments as a % of the appropriation (the usual execution figure)."""
        return self.share(self.compromisos)


def _sum(lines: list[BudgetLine], name: str, vigencia: int) -> Execution:
    cutoffs = [x.fecha_corte for x in lines if x.fecha_corte]
    sources = sorted({x.fuente for x in lines if x.fuente})
    imported = [x.importado_at or x.updated_at for x in lines]
    return Execution(
        name=name,
        vigencia=vigencia,
        apropiacion=sum((Decimal(x.apropiacion_definitiva) for x in lines), Decimal(0)),
        compromisos=sum((Decimal(x.compromisos) for x in lines), Decimal(0)),
        obligaciones=sum((Decimal(x.obligaciones or 0) for x in lines), Decimal(0)),
        pagos=sum((Decimal(x.pagos or 0) for x in lines), Decimal(0)),
        fecha_corte=max(cutoffs) if cutoffs else None,
        rubros=tuple(x.rubro for x in lines if x.rubro),
        # Lines from files too, besides a published source, name both.
        fuente=" y ".join(sources + (["Alcaldía (archivo importado)"]
                                     if sources and any(not x.fuente for x in lines) else []))
        or None,
        importado_at=max(imported) if imported else None,
    )


async def latest_year(session: AsyncSession) -> int | None:
    """Return the most recent fiscal year with budget data."""
    return (await held(session, _read_latest, ("budgetline",)))[0]


async def execution(
    session: AsyncSession, *, vigencia: int
) -> tuple[Execution, list[Execution]]:
    """Return the year's totals and each office's, biggest appropriation first."""
    year, latest = await held(session, _read_latest, ("budgetline",))
    if year == vigencia and latest is not None:  # the one asked all day: from memory
        return latest[0], list(latest[1])
    total, per_office = await _read_execution(session, vigencia)
    return total, list(per_office)


async def _read_latest(
    session: AsyncSession,
) -> tuple[int | None, tuple[Execution, tuple[Execution, ...]] | None]:
    year = (await session.exec(select(func.max(BudgetLine.vigencia)))).one()
    return year, (await _read_execution(session, year) if year is not None else None)


async def _read_execution(
    session: AsyncSession, vigencia: int
) -> tuple[Execution, tuple[Execution, ...]]:
    rows = list((await session.exec(
        select(BudgetLine).where(BudgetLine.vigencia == vigencia)
        .order_by(col(BudgetLine.dependencia), col(BudgetLine.rubro))
    )).all())
    offices: dict[str, list[BudgetLine]] = {}
    for row in rows:
        offices.setdefault(row.dependencia, []).append(row)
    per_office = sorted((_sum(v, k, vigencia) for k, v in offices.items()),
                        key=lambda e: e.apropiacion, reverse=True)
    return _sum(rows, "Total", vigencia), tuple(per_office)


def match_offices(offices: list[Execution], text: str) -> list[Execution]:
    """Return offices whose name contains every word of `text` (accents and case ignored)."""
    words = [w for w in fold(text).split() if len(w) > 2]
    return [o for o in offices if words and all(w in fold(o.name) for w in words)]
