"""Cell parsers: numbers, money, percentages, years, dates, local date-times, text, links.

Each parser takes one non-empty cell (a string from a CSV, or a native XLSX value) and
returns the value to store, or raises `CellError` with a short Spanish message.

Numbers (`storage.importers.numbers`) and dates (`storage.importers.dates`) have their own
modules, with their rules; every parser is importable from here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from storage.importers.dates import (
    DATE_HINT,
    DATETIME_HINT,
    DAY_FIRST,
    DateOrder,
    date_order,
    parse_date,
    parse_date_list,
    parse_local_datetime,
)
from storage.importers.errors import CellError, shown
from storage.importers.numbers import (
    CENTS,
    INT_LIMIT,
    MAX_DIGITS,
    MONEY_LIMIT,
    MONEY_STYLE,
    PLAIN_STYLE,
    NumberStyle,
    decimal_shown,
    number_style,
    parse_count,
    parse_float,
    parse_latitude,
    parse_longitude,
    parse_money,
    parse_non_negative,
    parse_number,
    parse_percent,
    parse_positive,
    parse_year,
)
from storage.importers.reading import Percent
from storage.statuses import Vocabulary
from storage.text import fold_words

__all__ = [  # every cell parser, wherever it is written
    "CENTS",
    "DATETIME_HINT",
    "DATE_HINT",
    "DAY_FIRST",
    "FORMULA_STARTS",
    "INT_LIMIT",
    "MAX_DIGITS",
    "MONEY_LIMIT",
    "MONEY_STYLE",
    "PLAIN_STYLE",
    "SPREADSHEET_ERRORS",
    "DateOrder",
    "NumberStyle",
    "cell_text",
    "check_spreadsheet_junk",
    "date_order",
    "decimal_shown",
    "header_key",
    "normalize",
    "number_style",
    "parse_count",
    "parse_date",
    "parse_date_list",
    "parse_float",
    "parse_latitude",
    "parse_local_datetime",
    "parse_longitude",
    "parse_money",
    "parse_non_negative",
    "parse_number",
    "parse_percent",
    "parse_positive",
    "parse_status",
    "parse_text",
    "parse_url",
    "parse_year",
]

FORMULA_STARTS = ("=", "+", "-", "@")
SPREADSHEET_ERRORS = frozenset(
    {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)
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
