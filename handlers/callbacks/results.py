"""Staff survey results (`staff:res:`): the surveys, one's results, its XLSX."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class ResultsList(CallbackData, prefix="staff:res:l"):
    """Staff: a page of the surveys, to see one's results."""

    page: int


@dataclasses.dataclass(frozen=True)
class ResultsOfSurvey(CallbackData, prefix="staff:res:v"):
    """Staff: one survey's results, chart and CSV."""

    survey: int


@dataclasses.dataclass(frozen=True)
class ResultsXlsx(CallbackData, prefix="staff:res:x"):
    """Staff: one survey's answers as XLSX."""

    survey: int
