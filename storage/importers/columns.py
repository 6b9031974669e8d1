"""A file's columns: match its titles to a kind's columns, and read each cell by its type.

`match_headers` finds every column of a kind (by its title, folded) and says where the
titles seem to be when required ones are missing; `parse_cell` reads one cell by its
column's type, with the number and date style its whole column shows (`column_style`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

from storage.importers.comunas import comuna_code
from storage.importers.errors import CellError, ImportFailed, RowError, shown
from storage.importers.kinds import ColumnSpec, KindSpec
from storage.importers.reading import Sheet
from storage.importers.values import (
    DAY_FIRST,
    MONEY_STYLE,
    PLAIN_STYLE,
    DateOrder,
    NumberStyle,
    date_order,
    header_key,
    normalize,
    number_style,
    parse_count,
    parse_date,
    parse_date_list,
    parse_float,
    parse_latitude,
    parse_local_datetime,
    parse_longitude,
    parse_money,
    parse_non_negative,
    parse_percent,
    parse_positive,
    parse_status,
    parse_text,
    parse_url,
    parse_year,
)
from storage.statuses import WORK_STATUSES


def match_headers(
    spec: KindSpec, headers: list[str], *, sheet: Sheet | None = None
) -> tuple[dict[int, ColumnSpec], list[str]]:
    """Map header positions to columns of `spec`; return them and warnings for unknown ones.

    When required columns are missing and `sheet` is given, the error says where the titles
    seem to be (a lower row, another sheet of the workbook) or what is read.
    """
    known = {header_key(title): column for name, column in spec.columns.items()
             for title in (name, *column.aliases)}
    found: dict[int, ColumnSpec] = {}
    first_seen: dict[str, int] = {}
    warnings: list[str] = []
    errors: list[RowError] = []
    ignored = 0
    # A published source may hold two titles that fold alike (p6dx's `fecha_de_publicacion`
    # and `fecha_de_publicacion_del`): a title written exactly as the mapping's wins there.
    exact = {title.strip().lower(): column for name, column in spec.columns.items()
             for title in (name, *column.aliases)} if spec.source else {}
    exactly = {exact[h.strip().lower()].name for h in headers if h and h.strip().lower() in exact}
    for index, header in enumerate(headers):
        if not header:
            continue
        column = exact.get(header.strip().lower()) or known.get(header_key(header))
        if column is not None and column.name in exactly and header.strip().lower() not in exact:
            column = None  # folds like a column the file also has, written exactly
        if column is None and spec.source:
            ignored += 1
        elif column is None:
            warnings.append(f"Se ignoró la columna «{header}».")
        elif column.name in first_seen:
            errors.append(
                RowError(
                    1,
                    column.name,
                    "aparece dos veces (columnas "
                    f"{get_column_letter(first_seen[column.name] + 1)} y "
                    f"{get_column_letter(index + 1)}); deje solo una.",
                )
            )
        else:
            first_seen[column.name] = index
            found[index] = column
    if ignored:
        warnings.append(f"Se ignoraron {ignored} columnas de {spec.source} que Cabildo no usa.")
    missing = [name for name in spec.required if name not in first_seen]
    if missing:
        names = ", ".join(
            f"«{name}»" + "".join(f" (o «{alias}»)" for alias in spec.columns[name].aliases)
            for name in missing
        )
        what = (
            f"falta la columna obligatoria {names}."
            if len(missing) == 1
            else f"faltan las columnas obligatorias {names}."
        )
        hint = " " + _where_titles_are(spec, known, sheet)
        errors.insert(0, RowError(1, None, what + hint))
    if errors:
        raise ImportFailed(errors=errors)
    return found, warnings


# How many rows are searched for the titles when the first row lacks them.
_TITLE_ROWS_SEARCHED = 20


def _where_titles_are(spec: KindSpec, known: dict[str, ColumnSpec], sheet: Sheet | None) -> str:
    """Say where the required titles seem to be, or that only row 1 of sheet 1 is read."""
    required = {header_key(name) for name in spec.required}

    def has_titles(cells: list[Any]) -> bool:
        found = {header_key(str(c)) for c in cells if isinstance(c, str) and c.strip()}
        return required <= {key for key in found if key in known}

    first = "La primera fila debe tener los títulos de las columnas."
    if sheet is None:
        return first
    for offset, cells in enumerate(sheet.rows[:_TITLE_ROWS_SEARCHED]):
        if has_titles(cells):
            return (f"Los títulos parecen estar en la fila {offset + 2}: solo se leen los de la "
                    "fila 1. Borre las filas de arriba y vuelva a enviarlo.")
    if sheet.is_csv:
        return first
    for name, titles in sheet.other_sheets:
        if has_titles(list(titles)):
            return (f"Los datos parecen estar en la hoja «{name}», pero solo se lee la primera "
                    f"hoja («{sheet.name}»). Pase esa hoja al primer lugar y vuelva a enviarlo.")
    return (f"Solo se lee la primera hoja del libro («{sheet.name}»), y su fila 1 debe tener "
            "los títulos de las columnas.")


NUMBER_TYPES = ("number", "non_negative", "positive", "money")
DATE_TYPES = ("date", "datetime")


@dataclass(frozen=True)
class ColumnStyle:
    """How a column writes what a cell cannot settle alone: `1,234`, `05/08/2023`."""

    numbers: NumberStyle = PLAIN_STYLE
    dates: DateOrder = DAY_FIRST


def column_style(column: ColumnSpec, cells: Iterable[tuple[int, Any]]) -> ColumnStyle:
    """Decide a column's number style or date order from all its (row, cell) pairs."""
    if column.type in NUMBER_TYPES:
        return ColumnStyle(numbers=number_style(cells, money=column.type == "money"))
    if column.type in DATE_TYPES:
        return ColumnStyle(dates=date_order(cells))
    return ColumnStyle()


def parse_cell(
    column: ColumnSpec, raw: Any, tz: ZoneInfo, style: ColumnStyle | None = None
) -> Any:
    """Parse one non-empty cell of `column`; raise `CellError` when it is not valid.

    `style` is what the whole column says about `1,234` and `05/08/2023` (`column_style`);
    without it a cell is read alone.
    """
    kind = column.type
    numbers = style.numbers if style else MONEY_STYLE if kind == "money" else PLAIN_STYLE
    dates = style.dates if style else DAY_FIRST
    if kind in ("text", "code", "comuna", "survey"):
        return parse_text(raw, max_length=column.max_length)
    if kind == "work_status":
        return parse_status(raw, WORK_STATUSES)
    if kind == "url":
        return parse_url(raw, max_length=column.max_length)
    if kind == "number":
        return parse_float(raw, numbers)
    if kind == "non_negative":
        return parse_non_negative(raw, numbers)
    if kind == "positive":
        return parse_positive(raw, numbers)
    if kind == "money":
        return parse_money(raw, numbers)
    if kind == "percent":
        return parse_percent(raw)
    if kind == "year":
        return parse_year(raw)
    if kind == "count":
        return parse_count(raw)
    if kind == "date":
        return parse_date(raw, dates)
    if kind == "dates":
        return parse_date_list(parse_text(raw) if isinstance(raw, str) else raw)
    if kind == "datetime":
        return parse_local_datetime(raw, tz, dates)
    if kind == "latitude":
        return parse_latitude(raw)
    if kind == "longitude":
        return parse_longitude(raw)
    if kind == "comuna_code":
        code = comuna_code(parse_text(raw))
        if column.max_length is not None and len(code) > column.max_length:
            raise CellError(f"tiene {len(code)} caracteres; el máximo es {column.max_length}.")
        return code
    if kind == "comuna_tipo":
        tipo = normalize(parse_text(raw))
        if tipo not in ("comuna", "corregimiento"):
            raise CellError(f"{shown(raw)} no es un tipo válido; use «comuna» o «corregimiento».")
        return tipo
    raise AssertionError(f"unknown column type {kind}")
