"""CSV and XLSX exports that a spreadsheet opens safely.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would run as a formula
in Excel or LibreOffice (CSV injection); such text cells get a leading apostrophe, the
spreadsheet convention for "this is text". Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def column_title(text: str, width: int = 80) -> str:
    """Return `text` as a column title of at most `width` characters, cut between words
    (with «…») rather than in the middle of one."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    short = textwrap.shorten(flat, width, placeholder="…")
    if short == "…":  # the first word alone is longer than `width`
        return flat[: width - 1] + "…"
    return short.removesuffix("…").rstrip(" ,;:.") + "…"


def safe_cell(value: Any) -> str:
    """Render one value for a CSV cell, neutralising anything a spreadsheet would execute."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """Return UTF-8 CSV (with BOM, so Excel reads accents) of `rows` under `header`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str) -> bytes:
    """Return the same as `to_csv` as an XLSX workbook (one sheet named `title`); numbers stay
    numbers and text that looks like a formula stays text."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31] or "datos")
    sheet.append([safe_cell(h) for h in header])
    for row in rows:
        sheet.append([v if isinstance(v, int | float) and not isinstance(v, bool)
                      else safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
