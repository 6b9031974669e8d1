"""Participatory budgets (`/presupuestos`, `pp:`, `staff:pp:`): rounds, basket, vote, results."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class RoundOpen(CallbackData, prefix="pp:c"):
    """A comuna's participatory-budget round: the basket, its projects, or its results."""

    round: int


@dataclasses.dataclass(frozen=True)
class RoundPage(CallbackData, prefix="pp:p"):
    """Another page of a round's projects."""

    round: int
    page: int


@dataclasses.dataclass(frozen=True)
class ProjectToggle(CallbackData, prefix="pp:s"):
    """Put a project in the basket (`wanted` 1) or take it out (0), from page `page`."""

    round: int
    project: int
    wanted: int
    page: int


@dataclasses.dataclass(frozen=True)
class VoteCast(CallbackData, prefix="pp:v"):
    """Vote with the basket."""

    round: int


@dataclasses.dataclass(frozen=True)
class RoundResultsPage(CallbackData, prefix="staff:pp:r"):
    """Staff: a page of a round's results so far."""

    round: int
    page: int


@dataclasses.dataclass(frozen=True)
class RoundCsv(CallbackData, prefix="staff:pp:csv"):
    """Staff: a round's votes per project as CSV."""

    round: int
