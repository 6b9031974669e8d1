"""Cell parsers: numbers, money, percentages, years, dates, local date-times, text, links.

Each parser takes one non-empty cell (a string from a CSV, or a native XLSX value) and
returns the value to store, or raises `CellError` with a short Spanish message.

Numbers are read with one fixed rule, so the same text always means the same value:

- Spaces, `$`, `COP` and a trailing `%` are ignored; a leading `-` (or parentheses, as
  accountants write) makes the number negative.
- Both `.` and `,` present: the rightmost one is the decimal separator and the other one
  groups thousands (`1.234.567,89` and `1,234,567.89` are both 1234567.89).
- Only commas: several commas group thousands (`1,234,567`); a single comma is the decimal
  separator (`45,3` is 45.3, and `1,234` is 1.234).
- Only dots: several dots group thousands (`1.234.567`). A single dot followed by exactly
  three digits, after an integer part of one to three digits that is not zero, groups
  thousands too (`1.234` is 1234, the Colombian habit); any other single dot is the decimal
  separator (`45.3`, `0.125`, `1234.567`).
- Thousands groups must be well formed (one to three digits, then groups of exactly three);
  anything else is an error, never a guess.
- Columns that can never reach a thousand (percentages, coordinates) read a single `.` or
  `,` as the decimal separator always, so a longitude `-73.122` stays -73.122.

Dates are `YYYY-MM-DD` or `DD/MM/YYYY` (also `D/M/YYYY`, `DD-MM-YYYY`, `YYYY/MM/DD`), or a
native XLSX date. Local date-times add `HH:MM` or `HH:MM:SS` (24-hour, or 12-hour with
`a. m.`/`p. m.`) and are converted from the installation's time zone to UTC.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from storage.importers.errors import CellError, shown
from storage.importers.reading import Percent
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
_DATE_ONLY = re.compile(_DATE + r"(?:[ T]+0{1,2}:00(?::00)?)?", re.IGNORECASE)
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


def parse_number(value: Any, *, grouping: bool = True) -> Decimal:
    """Read a number written the Colombian or the English way (see the module docstring).

    Numbers of more than MAX_DIGITS digits are refused: no figure of a municipality needs
    them, and a 5,000-digit "number" only costs memory and time further on.
    """
    return _within_digits(_number(value, grouping=grouping))


def _number(value: Any, *, grouping: bool) -> Decimal:
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
    number = _number_from_text(value, grouping=grouping)
    if number is None:
        raise CellError(f"{shown(value)} no es un número.")
    return number


def _within_digits(number: Decimal) -> Decimal:
    if len(number.as_tuple().digits) > MAX_DIGITS or number.adjusted() >= MAX_DIGITS:
        raise CellError(_too_many_digits())
    return number


def _too_many_digits() -> str:
    return f"es un número de más de {MAX_DIGITS} cifras; revise el valor."


def _number_from_text(text: str, *, grouping: bool) -> Decimal | None:
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
    digits = _plain_digits(s, grouping=grouping)
    if digits is None:
        return None
    try:
        number = Decimal(digits)
    except InvalidOperation:
        return None
    return -number if negative else number


def _plain_digits(s: str, *, grouping: bool) -> str | None:
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
    if (
        grouping
        and sep == "."
        and len(fraction) == 3
        and 1 <= len(whole) <= 3
        and not whole.startswith("0")
    ):
        return whole + fraction
    return f"{whole or '0'}.{fraction}"


def _ungroup(text: str, sep: str) -> str | None:
    groups = text.split(sep)
    first, rest = groups[0], groups[1:]
    if not (1 <= len(first) <= 3 and first.isdigit()):
        return None
    if not all(len(g) == 3 and g.isdigit() for g in rest):
        return None
    return "".join(groups)


def parse_float(value: Any) -> float:
    """Read any number as a float."""
    return float(parse_number(value))


def parse_non_negative(value: Any) -> float:
    """Read a number that cannot be negative."""
    number = parse_number(value)
    if number < 0:
        raise CellError(f"{shown(value)} no puede ser negativo.")
    return float(number)


def parse_positive(value: Any) -> float:
    """Read a number greater than zero."""
    number = parse_number(value)
    if number <= 0:
        raise CellError(f"{shown(value)} debe ser mayor que cero.")
    return float(number)


def parse_money(value: Any) -> Decimal:
    """Read an amount in pesos: not negative, rounded to cents."""
    number = parse_number(value)
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


def _date_from_match(match: re.Match[str], raw: Any) -> date:
    year = match["y1"] or match["y2"]
    month = match["m1"] or match["m2"]
    day = match["d1"] or match["d2"]
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise CellError(f"{shown(raw)} no es una fecha válida.") from None


def parse_date(value: Any) -> date:
    """Read a date: `YYYY-MM-DD`, `DD/MM/YYYY` or a native XLSX date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _DATE_ONLY.fullmatch(value.strip())
        if match:
            return _date_from_match(match, value)
    raise CellError(f"{shown(value)} no es una fecha; {DATE_HINT}.")


def parse_date_list(value: Any) -> list[str]:
    """Read dates separated by `;` into sorted, distinct ISO strings."""
    if isinstance(value, date):
        return [parse_date(value).isoformat()]
    if not isinstance(value, str):
        raise CellError(f"{shown(value)} no es una lista de fechas; sepárelas con «;».")
    parts = [p for p in re.split(r"[;,\n]", value) if p.strip()]
    return sorted({parse_date(p).isoformat() for p in parts})


def parse_local_datetime(value: Any, tz: ZoneInfo) -> datetime:
    """Read a local date and time in `tz` (`YYYY-MM-DD HH:MM`, …) and return it in UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        naive = value
    elif isinstance(value, str):
        naive = _naive_datetime(value)
    else:
        raise CellError(f"{shown(value)} no es una fecha y hora; {DATETIME_HINT}.")
    local = naive.replace(tzinfo=tz)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        raise CellError(f"{shown(value)} no existe en la hora local (cambio de horario).")
    return utc


def _naive_datetime(raw: str) -> datetime:
    match = _DATE_TIME.fullmatch(raw.strip())
    if not match:
        raise CellError(f"{shown(raw)} no es una fecha y hora; {DATETIME_HINT}.")
    day = _date_from_match(match, raw)
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
