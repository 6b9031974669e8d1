"""Date cells: dates and local date-times, with the day-first or month-first order a column shows.

Each parser takes one non-empty cell (a string from a CSV, or a native XLSX value) and
returns the value to store, or raises `CellError` with a short Spanish message.

Dates are `YYYY-MM-DD` or `DD/MM/YYYY` (also `D/M/YYYY`, `DD-MM-YYYY`, `YYYY/MM/DD`), or a
native XLSX date; a time after the date (`2023-05-08T00:00:00.000`, as datos.gov.co writes
dates, or `05/08/2023 12:00:00 AM`) is ignored in a date column. Whether `05/08/2023` is
day-first or month-first is decided by the whole column (`DateOrder`, `date_order`): a
second part above 12 somewhere makes it month-first. Local date-times add `HH:MM` or
`HH:MM:SS` (24-hour, or 12-hour with `a. m.`/`p. m.`) and are converted from the
installation's time zone to UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from storage.importers.errors import CellError, shown

DATE_HINT = "use AAAA-MM-DD o DD/MM/AAAA"
DATETIME_HINT = "use AAAA-MM-DD HH:MM o DD/MM/AAAA HH:MM"

_DATE = (
    r"(?:(?P<y1>\d{4})[-/](?P<m1>\d{1,2})[-/](?P<d1>\d{1,2})"
    r"|(?P<d2>\d{1,2})[-/](?P<m2>\d{1,2})[-/](?P<y2>\d{4}))"
)
_TIME = (
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"
    r"(?:\s*(?P<ampm>[ap])\.?\s*m\.?)?"
)
# In a date column, any time after the date is ignored (`2023-05-08T17:12:41.000`,
# `05/08/2023 12:00:00 AM`); a time zone after it too (`Z`, `-05:00`).
_DATE_ONLY = re.compile(
    _DATE + r"(?:[ T]+" + _TIME + r"\s*(?:Z|[+-]\d{2}:?\d{2})?)?", re.IGNORECASE
)
_DATE_TIME = re.compile(_DATE + r"(?:[ T]+" + _TIME + r")?", re.IGNORECASE)


@dataclass(frozen=True)
class DateOrder:
    """Whether a column writes `05/08/2023` day-first or month-first (see `date_order`).

    `month_first` comes from a cell whose second part is above 12 (`05/25/2023`); `mixed`
    says, when cells show both orders, which rows show which: a date that only the column
    could settle (`05/08/2023`) is then an error. `assumed` is set when some date could be
    read both ways and no cell tells: the import report then names the order it assumed.
    """

    month_first: bool = False
    mixed: str | None = None
    assumed: tuple[int, str] | None = None  # the first (row, cell) read day-first by default
    decided_by: tuple[int, str] | None = None  # the first (row, cell) that shows month-first


DAY_FIRST = DateOrder()


def _day_month(text: str) -> tuple[int, int] | None:
    """Return the first two parts of a `DD/MM/YYYY`-shaped date, or None for other shapes."""
    match = _DATE_TIME.fullmatch(text.strip()) or _DATE_ONLY.fullmatch(text.strip())
    if match is None or match["d2"] is None:
        return None
    return int(match["d2"]), int(match["m2"])


def date_order(cells: Iterable[tuple[int, Any]]) -> DateOrder:
    """Decide from all the (row, cell) pairs of a date column which part is the day."""
    day_first: tuple[int, str] | None = None
    month_first: tuple[int, str] | None = None
    undecided: tuple[int, str] | None = None
    for row, cell in cells:
        if not isinstance(cell, str):
            continue
        parts = _day_month(cell[:100])
        if parts is None:
            continue
        first, second = parts
        if first > 12 >= second and day_first is None:
            day_first = (row, cell.strip())
        elif second > 12 >= first and month_first is None:
            month_first = (row, cell.strip())
        elif first <= 12 and second <= 12 and first != second and undecided is None:
            undecided = (row, cell.strip())
    if day_first and month_first:
        mixed = (
            f"en esta columna hay fechas día/mes (fila {day_first[0]}, {shown(day_first[1])}) "
            f"y mes/día (fila {month_first[0]}, {shown(month_first[1])})"
        )
        return DateOrder(mixed=mixed)
    if month_first:
        return DateOrder(month_first=True, decided_by=month_first)
    if day_first is None and undecided is not None:
        return DateOrder(assumed=undecided)
    return DAY_FIRST


def _date_from_match(match: re.Match[str], raw: Any, order: DateOrder = DAY_FIRST) -> date:
    year = match["y1"] or match["y2"]
    month = match["m1"] or match["m2"]
    day = match["d1"] or match["d2"]
    if match["d2"] is not None:
        if order.mixed and int(day) <= 12 and int(month) <= 12 and day != month:
            raise CellError(
                f"no se sabe si {shown(raw)} es día/mes o mes/día: {order.mixed}. "
                "Escriba las fechas como AAAA-MM-DD."
            )
        if order.month_first or (order.mixed and int(month) > 12):
            day, month = month, day
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise CellError(f"{shown(raw)} no es una fecha válida.") from None


def _valid_time(match: re.Match[str]) -> bool:
    if match["h"] is None:
        return True
    hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
    top = 12 if match["ampm"] else 23
    return hour <= top and minute <= 59 and second <= 59


def parse_date(value: Any, order: DateOrder = DAY_FIRST) -> date:
    """Read a date: `YYYY-MM-DD`, `DD/MM/YYYY` (or month-first, per `order`), an XLSX date.

    A time after the date (`2023-05-08T00:00:00.000`) is ignored.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _DATE_ONLY.fullmatch(value.strip())
        if match and _valid_time(match):
            return _date_from_match(match, value, order)
    raise CellError(f"{shown(value)} no es una fecha; {DATE_HINT}.")


def parse_date_list(value: Any) -> list[str]:
    """Read dates separated by `;` into sorted, distinct ISO strings."""
    if isinstance(value, date):
        return [parse_date(value).isoformat()]
    if not isinstance(value, str):
        raise CellError(f"{shown(value)} no es una lista de fechas; sepárelas con «;».")
    parts = [p for p in re.split(r"[;,\n]", value) if p.strip()]
    return sorted({parse_date(p).isoformat() for p in parts})


def parse_local_datetime(value: Any, tz: ZoneInfo, order: DateOrder = DAY_FIRST) -> datetime:
    """Read a local date and time in `tz` (`YYYY-MM-DD HH:MM`, …) and return it in UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        naive = value
    elif isinstance(value, str):
        naive = _naive_datetime(value, order)
    else:
        raise CellError(f"{shown(value)} no es una fecha y hora; {DATETIME_HINT}.")
    local = naive.replace(tzinfo=tz)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        raise CellError(f"{shown(value)} no existe en la hora local (cambio de horario).")
    return utc


def _naive_datetime(raw: str, order: DateOrder = DAY_FIRST) -> datetime:
    match = _DATE_TIME.fullmatch(raw.strip())
    if not match:
        raise CellError(f"{shown(raw)} no es una fecha y hora; {DATETIME_HINT}.")
    day = _date_from_match(match, raw, order)
    if match["h"] is None:
        raise CellError(f"{shown(raw)} no tiene hora; {DATETIME_HINT}.")
    hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
    ampm = (match["ampm"] or "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise CellError(f"{shown(raw)} no es una hora válida.")
        hour = hour % 12 + (12 if ampm == "p" else 0)
    try:
        return datetime.combine(day, time(hour, minute, second))
    except ValueError:
        raise CellError(f"{shown(raw)} no es una hora válida.") from None
