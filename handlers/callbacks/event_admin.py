"""Staff's events (`/evento`, `staff:ev:`): the new-event wizard, changes, cancelling and
postponing, attendance and its sheet."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handlers.callbacks.codec import CallbackData

EventField = Literal["inicio", "lugar", "capacidad", "titulo"]


@dataclasses.dataclass(frozen=True)
class StaffEventNew(CallbackData, prefix="staff:ev:nuevo"):
    """Start the new-event wizard."""


@dataclasses.dataclass(frozen=True)
class StaffEventMenu(CallbackData, prefix="staff:ev:e"):
    """An event's menu: registrants, and what may be changed."""

    event: int


@dataclasses.dataclass(frozen=True)
class StaffEventField(CallbackData, prefix="staff:ev:c"):
    """Change one field of an event: date and time, place, places or title."""

    event: int
    field: EventField


@dataclasses.dataclass(frozen=True)
class StaffEventCallOff(CallbackData, prefix="staff:ev:x"):
    """Cancel an event: ask the reason."""

    event: int


@dataclasses.dataclass(frozen=True)
class StaffEventCallOffConfirm(CallbackData, prefix="staff:ev:xok"):
    """Cancel the event the wizard holds, with its reason, and tell everyone."""


@dataclasses.dataclass(frozen=True)
class StaffEventPostpone(CallbackData, prefix="staff:ev:p"):
    """Postpone an event: ask the new date."""

    event: int


@dataclasses.dataclass(frozen=True)
class StaffEventPostponeConfirm(CallbackData, prefix="staff:ev:pok"):
    """Postpone the event the wizard holds to its new date, and tell everyone."""


@dataclasses.dataclass(frozen=True)
class StaffAttendance(CallbackData, prefix="staff:ev:a"):
    """A page of an event's registration numbers, to mark who came."""

    event: int
    page: int


@dataclasses.dataclass(frozen=True)
class StaffAttendanceMark(CallbackData, prefix="staff:ev:t"):
    """Mark registration `number` present (`present` 1) or not (0), from page `page`."""

    event: int
    number: int
    present: int
    page: int


@dataclasses.dataclass(frozen=True)
class StaffAttendanceCsv(CallbackData, prefix="staff:ev:csv"):
    """The attendance sheet as CSV (with the Excel button under it)."""

    event: int


@dataclasses.dataclass(frozen=True)
class StaffAttendanceXlsx(CallbackData, prefix="staff:ev:xlsx"):
    """The attendance sheet as XLSX."""

    event: int


@dataclasses.dataclass(frozen=True)
class StaffEventClose(CallbackData, prefix="staff:ev:cancelar"):
    """Close the wizard (or an event's menu) without changing anything."""


@dataclasses.dataclass(frozen=True)
class StaffEventKind(CallbackData, prefix="staff:ev:k"):
    """New event: the kind, by its place in the list of kinds."""

    index: int


@dataclasses.dataclass(frozen=True)
class StaffEventComuna(CallbackData, prefix="staff:ev:m"):
    """New event: its comuna, by code (`-` for the whole city)."""

    comuna: str


@dataclasses.dataclass(frozen=True)
class StaffEventSkip(CallbackData, prefix="staff:ev:s"):
    """New event: skip an optional step."""


@dataclasses.dataclass(frozen=True)
class StaffEventSave(CallbackData, prefix="staff:ev:ok"):
    """New event: save it and announce it now."""


@dataclasses.dataclass(frozen=True)
class StaffEventLater(CallbackData, prefix="staff:ev:luego"):
    """New event: ask when to announce it."""
