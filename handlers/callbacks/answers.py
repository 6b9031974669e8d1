"""Answers to typed questions (`resp:`): the question asked, about the item picked."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class AnswerChoice(CallbackData, prefix="resp"):
    """The question asked about the item picked from «¿Se refiere a…?»: `kind` is `o` a
    work, `m` a goal, `p` an office (`key` its place in the year's list), `e` an event (its
    id), `c` a process; `attribute` what was asked (`avance`, `contratista`…)."""

    kind: Literal["o", "m", "p", "e", "c"]
    attribute: str
    key: str
