"""Paging long lists with inline buttons, the same way in every area."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import InlineKeyboardButton

from handlers.callbacks import CallbackData

T = TypeVar("T")

PREVIOUS = "◀️ Anterior"
NEXT = "Siguiente ▶️"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, its number (0-based) and how many pages there are."""

    items: Sequence[T]
    number: int
    count: int

    @property
    def label(self) -> str:
        """Return 'Página 2 de 5' (1-based, for people)."""
        return f"Página {self.number + 1} de {self.count}"


def paginate(items: Sequence[T], page: int, per_page: int = 8) -> Page[T]:
    """Return page `page` of `items`, clamped to the pages that exist."""
    count = max(1, math.ceil(len(items) / per_page))
    number = min(max(page, 0), count - 1)
    start = number * per_page
    return Page(items[start : start + per_page], number, count)


def page_row(page: Page[Any], at: Callable[[int], CallbackData]) -> list[InlineKeyboardButton]:
    """Return the previous/next buttons for `page`; `at(n)` is the action showing page n."""
    row = []
    if page.number > 0:
        row.append(InlineKeyboardButton(PREVIOUS, callback_data=at(page.number - 1).encode()))
    if page.number < page.count - 1:
        row.append(InlineKeyboardButton(NEXT, callback_data=at(page.number + 1).encode()))
    return row
