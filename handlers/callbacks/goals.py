"""The development plan (`/metas`, `meta:`): lines, programs, goals, following one."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class GoalLines(CallbackData, prefix="meta:l"):
    """The plan's strategic lines."""


@dataclasses.dataclass(frozen=True)
class GoalLine(CallbackData, prefix="meta:l"):
    """The programs of line `line` (1-based, in the order of their goals' codes)."""

    line: int


@dataclasses.dataclass(frozen=True)
class GoalProgram(CallbackData, prefix="meta:p"):
    """A page of the goals of program `program` of line `line`."""

    line: int
    program: int
    page: int


@dataclasses.dataclass(frozen=True)
class GoalCard(CallbackData, prefix="meta:g"):
    """One goal's card."""

    codigo: str


@dataclasses.dataclass(frozen=True)
class GoalFollow(CallbackData, prefix="meta:f"):
    """Follow, or stop following, one goal."""

    codigo: str


GoalStatusKey = Literal["c", "e", "r"]


@dataclasses.dataclass(frozen=True)
class GoalsInStatus(CallbackData, prefix="meta:s"):
    """A page of the goals cumplidas (`c`), en curso (`e`) or rezagadas (`r`) with `words`."""

    status: GoalStatusKey
    words: str
    page: int
