"""Published reports (`/informes`, `inf:`)."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class ReportsPage(CallbackData, prefix="inf"):
    """A page of the reports, newest first."""

    page: int
