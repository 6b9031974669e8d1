"""Paging long lists with inline buttons, the same way in every area."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import InlineKeyboardButton

T = TypeVar("T")

PREVIOUS = "◀️ Anterior"
NEXT = "Siguiente ▶️"
MAX_CALLBACK_BYTES = 64


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


def callback(*parts: object) -> str:
    """Join parts into callback data (`obra:p:3`), refusing anything over Telegram's 64 bytes."""
    data = ":".join(str(p) for p in parts)
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def nav_row(page: Page[object], *prefix: object) -> list[InlineKeyboardButton]:
    """Return the previous/next buttons for `page`; their data is `prefix + page number`."""
    row = []
    if page.number > 0:
        row.append(InlineKeyboardButton(PREVIOUS, callback_data=callback(*prefix, page.number - 1)))
    if page.number < page.count - 1:
        row.append(InlineKeyboardButton(NEXT, callback_data=callback(*prefix, page.number + 1)))
    return row
