"""Read a CSV or XLSX file into headers and rows, or fail with a plain Spanish message.

CSV: comma, semicolon or tab (whichever the header line uses most), UTF-8 with or without
BOM, UTF-16 with BOM (Excel's "Unicode text"), and Windows-1252 / Latin-1 as a fallback
when the bytes are not valid UTF-8. XLSX: the first sheet, cached values (never formula
text), native numbers and dates kept as Python values.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from storage.importers.errors import ImportFailed

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an .xlsx protected by a password
_NOT_TABLES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "una imagen"),
    (b"\xff\xd8\xff", "una imagen"),
    (b"GIF8", "una imagen"),
    (b"RIFF", "un archivo multimedia"),
    (b"%PDF", "un PDF"),
    (b"\x1f\x8b", "un archivo comprimido"),
    (b"Rar!", "un archivo comprimido"),
    (b"7z\xbc\xaf", "un archivo comprimido"),
)
# Control characters never found in a real CSV (tab, CR and LF excluded).
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_DELIMITERS = ("\t", ";", ",")  # ties go to the first: least likely inside a title
_ASK_FOR_TABLE = "Envíe un archivo CSV o XLSX."


class Percent(Decimal):
    """An XLSX number formatted as a percentage, already multiplied by 100 (45 for 45 %)."""


# How many other sheets of a workbook are looked at when the first one lacks the titles.
_OTHER_SHEETS = 10


@dataclass
class Sheet:
    """The header cells and data rows of a file, and whether it came from a CSV.

    For an XLSX: the first sheet's name, the title rows of the other sheets (to point at
    the right one when the first lacks the titles), and the formulas of cells that have no
    cached value (a file written by a program, never opened and saved in a spreadsheet).
    """

    headers: list[str]
    rows: list[list[Any]]  # row i is spreadsheet row i + 2; trailing blank rows removed
    is_csv: bool
    name: str | None = None
    other_sheets: list[tuple[str, list[str]]] = field(default_factory=list)
    # (index in `rows`, column index) → the formula, for cells whose cached value is missing
    uncached: dict[tuple[int, int], str] = field(default_factory=dict)


def read_table(data: bytes, filename: str) -> tuple[list[str], list[list[Any]]]:
    """Return the header cells and the data rows of a CSV or XLSX file."""
    sheet = read_sheet(data, filename)
    return sheet.headers, sheet.rows


def read_sheet(data: bytes, filename: str) -> Sheet:
    """Read a CSV or XLSX file, telling which it was."""
    if not data.strip():
        raise ImportFailed("El archivo está vacío.")
    suffix = PurePath(filename or "").suffix.lower()
    if data.startswith(_OLE) or suffix == ".xls":
        raise ImportFailed(
            "El archivo es de Excel antiguo (.xls) o está protegido con contraseña. "
            "Guárdelo como .xlsx o CSV, sin contraseña, y vuelva a enviarlo."
        )
    if suffix == ".ods":
        raise ImportFailed("Los archivos .ods no se pueden leer. Guárdelo como .xlsx o CSV.")
    for magic, what in _NOT_TABLES:
        if data.startswith(magic):
            raise ImportFailed(f"El archivo es {what}, no una tabla. {_ASK_FOR_TABLE}")
    is_csv = not data.startswith(_ZIP)
    if not is_csv:
        sheet = _read_xlsx(data)
    elif suffix in {".xlsx", ".xlsm"}:
        raise ImportFailed(f"El archivo no es un XLSX válido. {_ASK_FOR_TABLE}")
    else:
        headers, rows = _read_csv(data)
        sheet = Sheet(headers, rows, True)
    while sheet.rows and is_blank_row(sheet.rows[-1]):
        sheet.rows.pop()
    return sheet


def is_blank_row(row: list[Any]) -> bool:
    """Tell whether every cell of a row is empty or only spaces."""
    return all(is_blank(cell) for cell in row)


def is_blank(cell: Any) -> bool:
    """Tell whether a cell is empty or only spaces."""
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFailed(f"No se pudo leer el texto del archivo. {_ASK_FOR_TABLE}") from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    header = re.sub(r'"[^"]*"', "", header)  # ignore separators inside quoted titles
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(data: bytes) -> tuple[list[str], list[list[Any]]]:
    text = _decode(data).removeprefix("\ufeff")
    if _BINARY.search(text):
        raise ImportFailed(f"El archivo no es un CSV ni un XLSX. {_ASK_FOR_TABLE}")
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    except csv.Error:
        raise ImportFailed(f"El archivo CSV está mal formado. {_ASK_FOR_TABLE}") from None
    if not records:
        raise ImportFailed("El archivo está vacío.")
    headers = [cell.strip() for cell in records[0]]
    rows: list[list[Any]] = [list(record) for record in records[1:]]
    return headers, rows


def _read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors on damaged packages
        raise ImportFailed(
            f"No se pudo abrir el archivo como XLSX; puede estar dañado. {_ASK_FOR_TABLE}"
        ) from None
    others: list[tuple[str, list[str]]] = []
    try:
        if not book.worksheets:
            raise ImportFailed("El archivo XLSX no tiene hojas.")
        sheet = book.worksheets[0]
        name = str(sheet.title)
        part = getattr(sheet, "_worksheet_path", None)
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # stored dimensions are often wrong (whole columns)
        table: list[list[Any]] = []
        for cells in sheet.iter_rows():
            table.append([_cell_value(cell) for cell in cells])
        for other in book.worksheets[1 : 1 + _OTHER_SHEETS]:
            first = next(other.iter_rows(max_row=1, values_only=True), ())
            others.append((str(other.title), [_title(cell) for cell in first]))
    except ImportFailed:
        raise
    except Exception:
        raise ImportFailed(
            f"No se pudo leer la primera hoja del XLSX; puede estar dañada. {_ASK_FOR_TABLE}"
        ) from None
    finally:
        book.close()
    if not table:
        raise ImportFailed("El archivo está vacío.")
    headers = [_title(cell) for cell in table[0]]
    while headers and not headers[-1]:
        headers.pop()
    uncached = _uncached_formulas(data, part, table) if part else {}
    return Sheet(headers, table[1:], False, name, others, uncached)


def _title(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _uncached_formulas(
    data: bytes, part: str, table: list[list[Any]]
) -> dict[tuple[int, int], str]:
    """Return the formulas of the first sheet whose cells have no cached value.

    The data-only read gives such cells as empty; this second read (only when the sheet
    has formulas at all) tells them apart so the error can say so.
    """
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read(part.lstrip("/"))
        if b"<f>" not in xml and b"<f " not in xml:
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:
        return {}
    found: dict[tuple[int, int], str] = {}
    try:
        for cells in book.worksheets[0].iter_rows(min_row=2):
            for cell in cells:
                value = getattr(cell, "value", None)
                row, column = getattr(cell, "row", None), getattr(cell, "column", None)
                if not (isinstance(value, str) and value.startswith("=")) or not row:
                    continue
                line, index = row - 1, (column or 1) - 1
                cached = table[line][index] if line < len(table) and index < len(
                    table[line]) else None
                if cached is None:
                    found[(line - 1, index)] = value
    except Exception:
        return found
    finally:
        book.close()
    return found


def _cell_value(cell: Any) -> Any:
    value = getattr(cell, "value", None)
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and "%" in str(getattr(cell, "number_format", "") or "")
    ):
        return Percent(Decimal(repr(value)) * 100)
    return value
