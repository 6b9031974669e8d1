"""Cell parsers: numbers, money, percentages, years, dates, local date-times, text, links.

Each parser takes one non-empty cell (a string from a CSV, or a native XLSX value) and
returns the value to store, or raises `CellError` with a short Spanish message.

Numbers are read with one fixed rule, so the same text always means the same value:

- Spaces, `$`, `COP` and a trailing `%` are ignored; a leading `-` (or parentheses, as
  accountants write) makes the number negative.
- Both `.` and `,` present: the rightmost one is the decimal separator and the other one
  groups thousands (`1.234.567,89` and `1,234,567.89` are both 1234567.89).
- Only commas: several commas group thousands (`1,234,567`); a single comma is the decimal
  separator (`45,3` is 45.3) unless it is followed by exactly three digits after an integer
  part of one to three digits that is not zero (`1,234`, `$450,000`): see below.
- Only dots: several dots group thousands (`1.234.567`). A single dot is the decimal
  separator (`45.3`, `0.125`, `1234.567`), with the same exception (`1.234`).
- Thousands groups must be well formed (one to three digits, then groups of exactly three);
  anything else is an error, never a guess.
- A single separator before exactly three digits (`1,234`, `1.234`) is the one case a cell
  cannot settle alone. The whole column decides (`NumberStyle`, `number_style`): if another
  cell shows which separator is the decimal one (`45,3`, `1.234.567`, `1,234.50`,
  `19000000.000000`), it is read that way; if cells show both, the column mixes two ways of
  writing and such a cell is an error that says how to fix it. When no cell tells, money
  reads it as thousands (`$450,000` is 450000: the datos.gov.co portal writes money so), and
  other numbers keep the Colombian habit (`1.234` is 1234, `1,234` is 1.234).
- Columns that can never reach a thousand (percentages, coordinates) read a single `.` or
  `,` as the decimal separator always, so a longitude `-73.122` stays -73.122.

Dates are `YYYY-MM-DD` or `DD/MM/YYYY` (also `D/M/YYYY`, `DD-MM-YYYY`, `YYYY/MM/DD`), or a
native XLSX date; a time after the date (`2023-05-08T00:00:00.000`, as datos.gov.co writes
dates, or `05/08/2023 12:00:00 AM`) is ignored in a date column. Whether `05/08/2023` is
day-first or month-first is decided by the whole column (`DateOrder`, `date_order`): a
second part above 12 somewhere makes it month-first. Local date-times add `HH:MM` or
`HH:MM:SS` (24-hour, or 12-hour with `a. m.`/`p. m.`) and are converted from the
installation's time zone to UTC.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from storage.importers.errors import CellError, shown
from storage.importers.reading import Percent
from storage.statuses import Vocabulary
from storage.text import fold_words

MAX_DIGITS = 30  # significant digits, or digits before the decimal point
MONEY_LIMIT = Decimal(10) ** 18  # NUMERIC(20, 2)
INT_LIMIT = 2**31 - 1
CENTS = Decimal("0.01")
FORMULA_STARTS = ("=", "+", "-", "@")
SPREADSHEET_ERRORS = frozenset(
    {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)
DATE_HINT = "use AAAA-MM-DD o DD/MM/AAAA"
DATETIME_HINT = "use AAAA-MM-DD HH:MM o DD/MM/AAAA HH:MM"

_NUMBER_NOISE = re.compile(r"[\s$]|COP", re.IGNORECASE)
_NUMBER_CHARS = re.compile(r"[0-9.,]*[0-9][0-9.,]*")
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
_CONNECTORS = frozenset({"de", "del", "la", "las", "el", "los"})


def normalize(text: str) -> str:
    """Fold case, accents and punctuation: `Avance Físico` → `avance_fisico`."""
    return fold_words(text).replace(" ", "_")


def header_key(text: str) -> str:
    """Fold a column title for matching, without `de`, `la`…: `Fecha de corte` → `fecha_corte`."""
    words = normalize(text).split("_")
    return "_".join(w for w in words if w not in _CONNECTORS) or normalize(text)


def check_spreadsheet_junk(value: Any) -> None:
    """Reject formulas (`=`, `@`) and spreadsheet error values (`#N/A`) in any column."""
    if not isinstance(value, str):
        return
    text = value.strip()
    if text.startswith(("=", "@")):
        raise CellError(_formula(text))
    if text.upper() in SPREADSHEET_ERRORS:
        raise CellError(f"{shown(text)} es un error de la hoja de cálculo, no un dato.")


def _formula(text: str) -> str:
    return (
        f"{shown(text)} parece una fórmula de hoja de cálculo; "
        "escríbalo sin =, +, - ni @ al inicio."
    )


# --- numbers -----------------------------------------------------------------


@dataclass(frozen=True)
class NumberStyle:
    """How one column writes its numbers, as far as its cells show (see `number_style`).

    `decimal` is the decimal separator some cell of the column shows (`.` or `,`), or None
    when none does; `mixed` says, when cells show both, which rows show which (a cell that
    only the column could settle is then an error); `groups` tells whether a lone separator
    before three digits groups thousands when no cell tells (money) or follows the
    Colombian habit (other numbers).
    """

    decimal: str | None = None
    mixed: str | None = None
    groups: bool = False


MONEY_STYLE = NumberStyle(groups=True)
PLAIN_STYLE = NumberStyle()


def _separators_of(text: str) -> str | None:
    """Return the cleaned digits and separators of a number cell, or None if it is none."""
    s = _NUMBER_NOISE.sub("", text)
    if s.endswith("%"):
        s = s[:-1]
    if s.startswith("(") and s.endswith(")"):
        s = s[1:-1]
    if s[:1] in ("-", "+", "−"):
        s = s[1:]
    return s if _NUMBER_CHARS.fullmatch(s) else None


def _undecided(whole: str, fraction: str) -> bool:
    """Tell whether `whole<sep>fraction` may be thousands as well as decimals (`1,234`)."""
    return len(fraction) == 3 and 1 <= len(whole) <= 3 and whole.isdigit() and whole[0] != "0"


def decimal_shown(text: str) -> str | None:
    """Return the decimal separator a number cell shows on its own (`45,3` → `,`), or None.

    `1.234.567` shows `,` (dots group thousands), `1,234.5` shows `.`; `1,234`, `1.234`
    and `1234` show nothing.
    """
    s = _separators_of(text[: 8 * MAX_DIGITS])
    if s is None:
        return None
    has_dot, has_comma = "." in s, "," in s
    if has_dot and has_comma:
        return "." if s.rfind(".") > s.rfind(",") else ","
    sep = "." if has_dot else "," if has_comma else ""
    if not sep:
        return None
    if s.count(sep) > 1:
        return "," if sep == "." else "."
    whole, fraction = s.split(sep)
    return None if _undecided(whole, fraction) else sep


def number_style(cells: Iterable[tuple[int, Any]], *, money: bool) -> NumberStyle:
    """Decide how a column writes numbers from all its (row, cell) pairs.

    Only text cells count (an XLSX number has no separators). The first row showing each
    decimal separator is kept, to name it when the column mixes both.
    """
    first: dict[str, tuple[int, str]] = {}
    for row, cell in cells:
        if isinstance(cell, str):
            sep = decimal_shown(cell)
            if sep is not None and sep not in first:
                first[sep] = (row, cell.strip())
                if len(first) == 2:
                    break
    if len(first) == 2:
        (dot_row, dot_text), (comma_row, comma_text) = first["."], first[","]
        mixed = (
            f"en esta columna hay números con punto decimal (fila {dot_row}, {shown(dot_text)}) "
            f"y con coma decimal (fila {comma_row}, {shown(comma_text)})"
        )
        return NumberStyle(mixed=mixed, groups=money)
    decimal = next(iter(first), None)
    return NumberStyle(decimal=decimal, groups=money)


def parse_number(
    value: Any, *, grouping: bool = True, style: NumberStyle = PLAIN_STYLE
) -> Decimal:
    """Read a number written the Colombian or the English way (see the module docstring).

    `style` is how the number's column writes numbers; it only matters for a cell with a
    single separator before three digits (`1,234`). Numbers of more than MAX_DIGITS digits
    are refused: no figure of a municipality needs them, and a 5,000-digit "number" only
    costs memory and time further on.
    """
    return _within_digits(_number(value, grouping=grouping, style=style))


def _number(value: Any, *, grouping: bool, style: NumberStyle = PLAIN_STYLE) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"{shown(value)} no es un número.")
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_DIGITS:  # before turning it into text or a Decimal
            raise CellError(_too_many_digits())
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"{shown(value)} no es un número.")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CellError(f"{shown(value)} no es un número.")
        return value
    if not isinstance(value, str):
        raise CellError(f"{shown(value)} no es un número.")
    if sum(ch.isdigit() for ch in value[: 8 * MAX_DIGITS]) > 4 * MAX_DIGITS:
        raise CellError(_too_many_digits())
    number = _number_from_text(value, grouping=grouping, style=style)
    if number is None:
        raise CellError(f"{shown(value)} no es un número.")
    return number


def _within_digits(number: Decimal) -> Decimal:
    if len(number.as_tuple().digits) > MAX_DIGITS or number.adjusted() >= MAX_DIGITS:
        raise CellError(_too_many_digits())
    return number


def _too_many_digits() -> str:
    return f"es un número de más de {MAX_DIGITS} cifras; revise el valor."


def _number_from_text(text: str, *, grouping: bool, style: NumberStyle) -> Decimal | None:
    s = _NUMBER_NOISE.sub("", text)
    if s.endswith("%"):
        s = s[:-1]
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s[:1] in ("-", "+", "−"):
        negative, s = negative != (s[0] != "+"), s[1:]
    if not _NUMBER_CHARS.fullmatch(s):
        return None
    digits = _plain_digits(s, grouping=grouping, style=style, raw=text)
    if digits is None:
        return None
    try:
        number = Decimal(digits)
    except InvalidOperation:
        return None
    return -number if negative else number


def _plain_digits(s: str, *, grouping: bool, style: NumberStyle, raw: str) -> str | None:
    """Turn `1.234,5` style text into `1234.5`, or None when the separators make no sense."""
    has_dot, has_comma = "." in s, "," in s
    if has_dot and has_comma:
        decimal_sep = "." if s.rfind(".") > s.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        if s.count(decimal_sep) != 1:
            return None
        whole, fraction = s.split(decimal_sep)
        joined = _ungroup(whole, thousands)
        if joined is None or not fraction.isdigit():
            return None
        return f"{joined}.{fraction}"
    sep = "." if has_dot else "," if has_comma else ""
    if not sep:
        return s
    if s.count(sep) > 1:
        return _ungroup(s, sep)
    whole, fraction = s.split(sep)
    if not fraction.isdigit() or not (whole == "" or whole.isdigit()):
        return None
    if grouping and _undecided(whole, fraction) and _groups_thousands(sep, style, raw):
        return whole + fraction
    return f"{whole or '0'}.{fraction}"


def _groups_thousands(sep: str, style: NumberStyle, raw: str) -> bool:
    """Tell whether the lone `sep` of `1,234` (or `1.234`) groups thousands in its column."""
    if style.mixed:
        raise CellError(
            f"no se sabe si en {shown(raw)} el «{sep}» separa miles o decimales: "
            f"{style.mixed}. Escriba todos los valores de la misma forma, o sin separador "
            "de miles (por ejemplo 450000)."
        )
    if style.decimal is not None:
        return style.decimal != sep
    return style.groups or sep == "."


def _ungroup(text: str, sep: str) -> str | None:
    groups = text.split(sep)
    first, rest = groups[0], groups[1:]
    if not (1 <= len(first) <= 3 and first.isdigit()):
        return None
    if not all(len(g) == 3 and g.isdigit() for g in rest):
        return None
    return "".join(groups)


def parse_float(value: Any, style: NumberStyle = PLAIN_STYLE) -> float:
    """Read any number as a float."""
    return float(parse_number(value, style=style))


def parse_non_negative(value: Any, style: NumberStyle = PLAIN_STYLE) -> float:
    """Read a number that cannot be negative."""
    number = parse_number(value, style=style)
    if number < 0:
        raise CellError(f"{shown(value)} no puede ser negativo.")
    return float(number)


def parse_positive(value: Any, style: NumberStyle = PLAIN_STYLE) -> float:
    """Read a number greater than zero."""
    number = parse_number(value, style=style)
    if number <= 0:
        raise CellError(f"{shown(value)} debe ser mayor que cero.")
    return float(number)


def parse_money(value: Any, style: NumberStyle = MONEY_STYLE) -> Decimal:
    """Read an amount in pesos: not negative, rounded to cents.

    Alone (without its column's `style`), `$450,000` and `1.234` group thousands.
    """
    number = parse_number(value, style=style)
    if number < 0:
        raise CellError(f"{shown(value)} no puede ser negativo.")
    if number >= MONEY_LIMIT:
        raise CellError(f"{shown(value)} es demasiado grande para un valor en pesos.")
    return number.quantize(CENTS, rounding=ROUND_HALF_UP)


def parse_percent(value: Any) -> float:
    """Read a percentage from 0 to 100 (`45,3 %`, `45.3`, an XLSX percent cell)."""
    number = parse_number(value, grouping=False)
    if not 0 <= number <= 100:
        raise CellError(f"{shown(value)} debe ser un porcentaje entre 0 y 100.")
    return float(number)


def parse_year(value: Any) -> int:
    """Read a four-digit year such as 2026."""
    if isinstance(value, str):
        text = value.strip()
        year = int(text) if re.fullmatch(r"\d{4}", text) else None
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        year = int(value) if value == int(value) else None
    else:
        year = None
    if year is None or not 1900 <= year <= 2100:
        raise CellError(f"{shown(value)} no es un año de cuatro cifras (por ejemplo 2026).")
    return year


def parse_count(value: Any) -> int:
    """Read a whole number greater than zero."""
    try:
        number = parse_number(value)
    except CellError:
        number = None
    if number is None or number != number.to_integral_value() or not 0 < number <= INT_LIMIT:
        raise CellError(f"{shown(value)} no es un número entero mayor que cero.")
    return int(number)


def parse_latitude(value: Any) -> float:
    """Read a latitude in degrees, −90 to 90."""
    number = parse_number(value, grouping=False)
    if not -90 <= number <= 90:
        raise CellError(f"{shown(value)} no es una latitud válida (entre -90 y 90).")
    return float(number)


def parse_longitude(value: Any) -> float:
    """Read a longitude in degrees, −180 to 180."""
    number = parse_number(value, grouping=False)
    if not -180 <= number <= 180:
        raise CellError(f"{shown(value)} no es una longitud válida (entre -180 y 180).")
    return float(number)


# --- dates -------------------------------------------------------------------


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


# --- text --------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """Render any cell as the text a person sees in the spreadsheet."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "Sí" if value else "No"
    if isinstance(value, Percent):
        return f"{_plain_number(value)}%"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return _plain_number(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _plain_number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def parse_text(value: Any, *, max_length: int | None = None) -> str:
    """Read free text: trimmed, not a spreadsheet formula, within `max_length`."""
    text = cell_text(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        raise CellError(_formula(text))
    if max_length is not None and len(text) > max_length:
        raise CellError(f"tiene {len(text)} caracteres; el máximo es {max_length}.")
    return text


def parse_status(value: Any, vocabulary: Vocabulary) -> str:
    """Read a status of the kind's vocabulary (any spelling it lists); return its name."""
    text = parse_text(value)
    status = vocabulary.find(text)
    if status is not None:
        return status.name
    near = vocabulary.nearest(text)
    hint = f" ¿Quiso decir «{near.name}»?" if near is not None else ""
    names = ", ".join(f"«{name}»" for name in vocabulary.names())
    raise CellError(f"{shown(text)} no es un estado conocido.{hint} Los estados son: {names}.")


def parse_url(value: Any, *, max_length: int | None = None) -> str:
    """Read an http(s) link."""
    text = parse_text(value, max_length=max_length)
    try:
        parts = urlsplit(text) if not re.search(r"\s", text) else None
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise CellError(f"{shown(text)} no es un enlace válido; debe empezar por https://.")
    return text
