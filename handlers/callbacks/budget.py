"""The budget (`/presupuesto`, `ppto:`): totals, chart, offices."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class BudgetTotals(CallbackData, prefix="ppto:t"):
    """The latest year's totals."""


@dataclasses.dataclass(frozen=True)
class BudgetChart(CallbackData, prefix="ppto:g"):
    """The chart of execution by office."""


@dataclasses.dataclass(frozen=True)
class BudgetOffices(CallbackData, prefix="ppto:o"):
    """A page of the offices, biggest appropriation first."""

    page: int


@dataclasses.dataclass(frozen=True)
class BudgetOffice(CallbackData, prefix="ppto:d"):
    """One office, by its place in the offices' list."""

    index: int
