"""Contracting (`/contratacion`, `contr:`): a stage's processes, one process's card."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handlers.callbacks.codec import CallbackData

Stage = Literal["a", "e", "d", "o"]


@dataclasses.dataclass(frozen=True)
class ContractingPage(CallbackData, prefix="contr"):
    """A page of one stage's processes: `a` taking bids, `e` evaluated, `d` awarded, `o` other."""

    group: Stage
    page: int


@dataclasses.dataclass(frozen=True)
class ProcessCard(CallbackData, prefix="contr:p"):
    """One process's card."""

    numero: str
