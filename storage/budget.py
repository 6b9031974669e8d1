"""Budget execution: totals for the latest fiscal year, overall and per office."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BudgetLine
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
    return (await session.exec(select(func.max(BudgetLine.vigencia)))).one()


async def execution(
    session: AsyncSession, *, vigencia: int
) -> tuple[Execution, list[Execution]]:
    """Return the year's totals and each office's, biggest appropriation first."""
    rows = list((await session.exec(
        select(BudgetLine).where(BudgetLine.vigencia == vigencia)
        .order_by(col(BudgetLine.dependencia), col(BudgetLine.rubro))
    )).all())
    offices: dict[str, list[BudgetLine]] = {}
    for row in rows:
        offices.setdefault(row.dependencia, []).append(row)
    per_office = sorted((_sum(v, k, vigencia) for k, v in offices.items()),
                        key=lambda e: e.apropiacion, reverse=True)
    return _sum(rows, "Total", vigencia), per_office


def match_offices(offices: list[Execution], text: str) -> list[Execution]:
    """Return offices whose name contains every word of `text` (accents and case ignored)."""
    words = [w for w in fold(text).split() if len(w) > 2]
    return [o for o in offices if words and all(w in fold(o.name) for w in words)]
