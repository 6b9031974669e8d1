"""The agenda (`/agenda`, `ev:`): lists, filters, an event's card, attending, its calendar."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class AgendaList(CallbackData, prefix="ev:l"):
    """A page of upcoming events: `scope` is `t` all, `c<código>` a comuna, `k<tipo>` a
    kind, `q<palabras>` the events whose kind or title holds the words (only letters,
    digits and spaces)."""

    scope: str
    page: int


@dataclasses.dataclass(frozen=True)
class AgendaFilters(CallbackData, prefix="ev:f"):
    """The comunas and kinds to filter the agenda by."""


@dataclasses.dataclass(frozen=True)
class EventCard(CallbackData, prefix="ev:e"):
    """One event's card (and its pin on the map)."""

    event: int


@dataclasses.dataclass(frozen=True)
class EventAttend(CallbackData, prefix="ev:r"):
    """Take a place at an event."""

    event: int


@dataclasses.dataclass(frozen=True)
class EventWaitlist(CallbackData, prefix="ev:w"):
    """Join a full event's waiting list."""

    event: int


@dataclasses.dataclass(frozen=True)
class EventLeave(CallbackData, prefix="ev:x"):
    """Give up one's place, or leave the waiting list."""

    event: int


@dataclasses.dataclass(frozen=True)
class EventCalendar(CallbackData, prefix="ev:i"):
    """The event's .ics file (it removes a cancelled event from calendars)."""

    event: int
