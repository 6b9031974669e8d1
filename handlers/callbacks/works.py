"""Public works (`/obras`, `obra:`): by comuna, by status, nearest, a card, following."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class WorksIndex(CallbackData, prefix="obra:i"):
    """The comunas, to pick one."""


@dataclasses.dataclass(frozen=True)
class WorksOfComuna(CallbackData, prefix="obra:c"):
    """A page of one comuna's works."""

    comuna: str
    page: int


@dataclasses.dataclass(frozen=True)
class WorksInStatus(CallbackData, prefix="obra:s"):
    """A page of the works in a status, in one comuna or (`comuna` empty) everywhere."""

    status: str
    comuna: str
    page: int


@dataclasses.dataclass(frozen=True)
class WorksNear(CallbackData, prefix="obra:n"):
    """The works nearest a shared location (as the list wrote it: 4 decimals)."""

    latitude: str
    longitude: str


@dataclasses.dataclass(frozen=True)
class WorkCard(CallbackData, prefix="obra:w"):
    """One work's card; `back` is the list it was opened from, without `obra:` (`c:4:2`)."""

    codigo: str
    back: str = ""


@dataclasses.dataclass(frozen=True)
class WorkFollow(CallbackData, prefix="obra:f"):
    """Follow, or stop following, one work; `back` as on its card."""

    codigo: str
    back: str = ""
