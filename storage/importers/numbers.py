"""Number cells: amounts, counts, percentages, years and coordinates, by one fixed rule.

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
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from storage.importers.errors import CellError, shown

MAX_DIGITS = 30  # significant digits, or digits before the decimal point
MONEY_LIMIT = Decimal(10) ** 18  # NUMERIC(20, 2)
INT_LIMIT = 2**31 - 1
CENTS = Decimal("0.01")
_NUMBER_NOISE = re.compile(r"[\s$]|COP", re.IGNORECASE)
_NUMBER_CHARS = re.compile(r"[0-9.,]*[0-9][0-9.,]*")


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
