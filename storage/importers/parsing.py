"""Turn a file into validated rows of one kind. Synchronous and free of database access.

`parse_table` does everything that needs only the file; `resolve_comunas` then turns the
written comunas into ids, given the comunas of the database; `raise_for_errors` stops the
import when any row is wrong. All three can run off the event loop.
Titles are matched and cells read by `storage.importers.columns`.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

from storage.importers.columns import ColumnStyle, column_style, match_headers, parse_cell
from storage.importers.comunas import ComunaIndex, ComunaRef
from storage.importers.errors import CellError, ImportFailed, RowError, shown
from storage.importers.kinds import KINDS, ColumnSpec, KindSpec, RowContext
from storage.importers.other import BUNDLE_KINDS, OTHER_KINDS
from storage.importers.reading import is_blank, read_sheet
from storage.importers.sources import SOURCE_KINDS
from storage.importers.values import (
    cell_text,
    check_spreadsheet_junk,
    normalize,
    parse_date,
)

ALL_KINDS = (*KINDS, *SOURCE_KINDS, *BUNDLE_KINDS, *OTHER_KINDS)
SPECS: dict[str, KindSpec] = {**KINDS, **SOURCE_KINDS}
KEY_SEPARATOR = "|"


@dataclass
class ParsedRow:
    """One valid-looking data row: model field → value, and its key."""

    row: int
    values: dict[str, Any]
    key: tuple[Any, ...] = ()
    comuna: str | None = None  # as written; becomes values["comuna_id"] once resolved
    blank: list[str] = field(default_factory=list)  # `KindSpec.may_be_blank` columns left empty

    @property
    def key_text(self) -> str:
        """Return the key as one string, parts joined by `|`."""
        return key_text(self.key)


@dataclass
class ParsedTable:
    """Every row of a file, parsed and checked, plus what went wrong."""

    spec: KindSpec
    rows: list[ParsedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    comuna_column: str | None = None
    with_comuna: list[ParsedRow] = field(default_factory=list)  # every row naming a comuna
    headers: list[str] = field(default_factory=list)  # the titles, as the file writes them
    cells: list[list[Any]] = field(default_factory=list)  # the data rows as read (row 2 first)


@dataclass
class SkippedRows:
    """The rows left out of an import for their errors, and a CSV of them to fix."""

    errors: list[RowError]
    rows: list[int]
    csv: bytes


def key_text(key: tuple[Any, ...]) -> str:
    """Join the parts of a key with `|`."""
    return KEY_SEPARATOR.join("" if part is None else str(part) for part in key)


def get_spec(kind: str) -> KindSpec:
    """Return the spec of a kind named in Spanish, or fail listing the valid ones."""
    spec = SPECS.get(normalize(kind or ""))
    if spec is None:
        near = difflib.get_close_matches(normalize(kind or ""), ALL_KINDS, n=1, cutoff=0.7)
        hint = f" ¿Quiso decir «{near[0]}»?" if near else ""
        raise ImportFailed(
            f"No conozco el tipo {shown(kind)}.{hint} Los tipos son: {', '.join(ALL_KINDS)}."
        )
    return spec


def parse_table(kind: str, data: bytes, filename: str, *, tz: ZoneInfo) -> ParsedTable:
    """Read and check every row of a file of `kind`; raise `ImportFailed` if unreadable."""
    spec = get_spec(kind)
    sheet = read_sheet(data, filename)
    columns, warnings = match_headers(spec, sheet.headers, sheet=sheet)
    table = ParsedTable(spec, warnings=warnings, headers=sheet.headers, cells=sheet.rows)
    _warn_untitled(table, sheet.headers, sheet.rows, sheet.is_csv)
    present = {column.name for column in columns.values()}
    table.comuna_column = next((c for c in present if spec.columns[c].type == "comuna"), None)
    absent_keys = {
        c.field: c.default
        for c in spec.columns.values()
        if c.field in spec.key and c.name not in present and c.default is not None
    }
    styles = {
        index: column_style(
            column, ((offset + 2, cells[index]) for offset, cells in enumerate(sheet.rows)
                     if index < len(cells))
        )
        for index, column in columns.items()
    }
    table.warnings.extend(_date_order_notes(columns, styles))
    context = RowContext(tz)
    left_out: dict[str, int] = {}
    first_row_of: dict[tuple[Any, ...], int] = {}
    groups: dict[tuple[Any, ...], list[ParsedRow]] = {}
    bad_keys: dict[tuple[Any, ...], int] = {}
    width = max((i + 1 for i, header in enumerate(sheet.headers) if header), default=0)
    for number, cells in sheet.data_rows():
        errors_before = len(table.errors)
        if sheet.is_csv and any(not is_blank(cell) for cell in cells[width:]):
            table.errors.append(
                RowError(
                    number,
                    None,
                    "tiene más celdas que títulos. Si el separador es la coma, escriba entre "
                    'comillas los números con coma decimal ("45,3").',
                )
            )
        parsed = ParsedRow(number, dict(absent_keys))
        for index, column in columns.items():
            raw = cells[index] if index < len(cells) else None
            if is_blank(raw):
                formula = sheet.uncached.get((number - 2, index))  # keyed by index in rows
                if formula is not None:
                    table.errors.append(RowError(number, column.name, _uncached(formula)))
                elif column.name in spec.may_be_blank:
                    parsed.values[column.field] = None
                    parsed.blank.append(column.name)
                elif column.name in spec.required:
                    table.errors.append(
                        RowError(number, column.name, "está vacía y es obligatoria.")
                    )
                else:
                    parsed.values[column.field] = column.default
                continue
            try:
                check_spreadsheet_junk(raw)
                value = parse_cell(column, raw, tz, styles[index])
            except CellError as exc:
                table.errors.append(RowError(number, column.name, str(exc)))
                continue
            if column.type == "comuna":
                parsed.comuna = value
                table.with_comuna.append(parsed)
            else:
                parsed.values[column.field] = value
        reason = spec.leave_out(parsed.values) if spec.leave_out is not None else None
        if reason is not None:  # a contract that is no work: its other cells do not matter
            left_out[reason] = left_out.get(reason, 0) + 1
            del table.errors[errors_before:]
            if parsed.comuna is not None:
                table.with_comuna.remove(parsed)
            continue
        if len(table.errors) == errors_before and spec.check is not None:
            problems = spec.check(parsed.values, context)
            table.errors.extend(RowError(number, col, msg) for col, msg in problems)
        parsed.key = tuple(parsed.values.get(f) for f in spec.key)
        if len(table.errors) > errors_before:
            if spec.collapse is not None and None not in parsed.key:
                bad_keys.setdefault(parsed.key, number)  # its other rows cannot go alone
            continue
        if spec.collapse is not None:  # lots and awards of one process: merged below
            groups.setdefault(parsed.key, []).append(parsed)
            continue
        _drop_derived(parsed)
        first = first_row_of.setdefault(parsed.key, number)
        if first != number:
            table.errors.append(
                RowError(
                    number,
                    _key_column(spec, present),
                    f"repite {shown(parsed.key_text)}, que ya está en la fila {first}.",
                )
            )
            continue
        table.rows.append(parsed)
    if left_out:
        total = sum(left_out.values())
        reasons = ", ".join(f"{count} {reason}" for reason, count in left_out.items())
        table.warnings.append(
            f"Se dejaron de lado {total} {'fila' if total == 1 else 'filas'}: {reasons}."
        )
    if spec.collapse is not None:
        _collapse(table, groups, bad_keys)
    return table


def _drop_derived(parsed: ParsedRow) -> None:
    """Remove the values read only to derive or filter: they are no column of the table."""
    for name in [name for name in parsed.values if name.startswith("_")]:
        del parsed.values[name]


def _collapse(
    table: ParsedTable,
    groups: dict[tuple[Any, ...], list[ParsedRow]],
    bad_keys: dict[tuple[Any, ...], int],
) -> None:
    """Merge the rows of each key into one (at its first row), in the file's order.

    When another row of the same key has an error, the merged row is wrong too (a lot
    missing from the total): it gets an error naming that row, so it is never stored alone.
    """
    spec = table.spec
    assert spec.collapse is not None
    merged = 0
    for key, group in groups.items():
        first = group[0]
        if key in bad_keys:
            table.errors.append(RowError(
                first.row, _key_column(spec, set(spec.columns)),
                f"{shown(key_text(key))} tiene otra fila con errores (fila {bad_keys[key]}); "
                "corríjala para importarlo completo."))
            continue
        if len(group) > 1:
            first.values = spec.collapse([row.values for row in group])
            merged += 1
        _drop_derived(first)
        table.rows.append(first)
    table.rows.sort(key=lambda row: row.row)
    if merged and spec.collapsed_note:
        table.warnings.append(spec.collapsed_note.format(count=merged))


def _date_order_notes(
    columns: dict[int, ColumnSpec], styles: dict[int, ColumnStyle]
) -> list[str]:
    """Say, per date column, which order was read when some date could be read both ways."""
    notes = []
    for index, column in columns.items():
        order = styles[index].dates
        if order.decided_by is not None:
            row, text = order.decided_by
            notes.append(
                f"Las fechas de la columna «{column.name}» se leyeron como mes/día "
                f"(MM/DD/AAAA), porque la fila {row} tiene {shown(text)}."
            )
        elif order.assumed is not None:
            row, text = order.assumed
            notes.append(
                f"Las fechas de la columna «{column.name}» se leyeron como día/mes "
                f"(DD/MM/AAAA): {shown(text)} (fila {row}) es el {_spanish_date(text)}. "
                "Si eran mes/día, escríbalas como AAAA-MM-DD y vuelva a importar."
            )
    return notes


_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre")


def _spanish_date(text: str) -> str:
    """Return `05/08/2023` read day-first in words: `5 de agosto de 2023`."""
    day = parse_date(text)
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"


def _uncached(formula: str) -> str:
    return (
        f"tiene la fórmula {shown(formula)} sin el valor calculado (el archivo no se guardó "
        "desde Excel o LibreOffice). Ábralo, guárdelo y vuelva a enviarlo, o escriba el valor."
    )


def _key_column(spec: KindSpec, present: set[str]) -> str | None:
    names = spec.key_columns()
    return names[0] if len(names) == 1 and names[0] in present else None


def _warn_untitled(
    table: ParsedTable, headers: list[str], rows: list[list[Any]], is_csv: bool
) -> None:
    """Warn about data under columns without a title (a CSV's extra cells are errors instead)."""
    titled = max((i + 1 for i, header in enumerate(headers) if header), default=0)
    widest = titled if is_csv else max((len(r) for r in rows), default=0)
    for index in range(widest):
        if index < titled and headers[index]:
            continue
        if any(index < len(r) and not is_blank(r[index]) for r in rows):
            letter = get_column_letter(index + 1)
            table.warnings.append(f"Se ignoró la columna {letter}, que no tiene título.")


def resolve_comunas(table: ParsedTable, comunas: Iterable[ComunaRef]) -> None:
    """Turn each written comuna into `comuna_id`, adding an error for each unknown one."""
    pending = table.with_comuna
    if not pending:
        return
    index = ComunaIndex(comunas)
    if not index:
        raise ImportFailed(
            "No hay comunas cargadas. Importe primero las comunas (tipo «comunas») "
            "y luego vuelva a enviar este archivo."
        )
    for row in pending:
        try:
            row.values["comuna_id"] = index.resolve(row.comuna or "").id
        except CellError as exc:
            table.errors.append(RowError(row.row, table.comuna_column, str(exc)))


def survey_columns(table: ParsedTable) -> list[ColumnSpec]:
    """Return the columns of the table's kind that name a survey."""
    return [c for c in table.spec.columns.values() if c.type == "survey"]


def resolve_surveys(table: ParsedTable, slugs: Iterable[str]) -> None:
    """Check that each survey a row names exists, adding an error for each unknown one.

    Slugs are matched without regard to case; the row then keeps the survey's own slug.
    """
    known = {slug.lower(): slug for slug in slugs}
    for column in survey_columns(table):
        for row in table.rows:
            written = row.values.get(column.field)
            if written is None:
                continue
            found = known.get(str(written).lower())
            if found is None:
                table.errors.append(
                    RowError(row.row, column.name, f"no existe la encuesta {shown(written)}.")
                )
            else:
                row.values[column.field] = found


def set_aside_bad_rows(table: ParsedTable) -> SkippedRows | None:
    """Take every row with an error out of the table, and return them as a CSV to fix.

    The CSV has the file's own columns, with the errors of each row in a first column
    «error»; once fixed, it imports as it is (that column is ignored). A problem of the
    file itself (a missing column, row 1) still stops the import: `raise_for_errors`.
    """
    if not table.errors:
        return None
    errors = sorted(table.errors, key=lambda error: error.row)
    if any(error.row <= 1 for error in errors):
        raise_for_errors(table)
    by_row: dict[int, list[str]] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(str(error))
    table.rows = [row for row in table.rows if row.row not in by_row]
    table.errors = []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["error", *table.headers])
    for number, messages in by_row.items():
        cells = table.cells[number - 2] if 0 <= number - 2 < len(table.cells) else []
        writer.writerow(["; ".join(messages),
                         *("" if is_blank(cell) else cell_text(cell) for cell in cells)])
    return SkippedRows(errors, list(by_row), out.getvalue().encode("utf-8-sig"))


def raise_for_errors(table: ParsedTable) -> None:
    """Raise `ImportFailed` listing the errors, first rows first, if there are any."""
    if table.errors:
        errors = sorted(table.errors, key=lambda error: error.row)
        raise ImportFailed(errors=errors)
