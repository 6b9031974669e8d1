"""Read a CSV or XLSX file into headers and rows, or fail with a plain Spanish message.

CSV: comma, semicolon or tab (whichever the header line uses most), UTF-8 with or without
BOM, UTF-16 with BOM (Excel's "Unicode text"), and Windows-1252 / Latin-1 as a fallback
when the bytes are not valid UTF-8. XLSX: the first sheet, cached values (never formula
text), native numbers and dates kept as Python values. An XLSX is a zip: its directory is
checked first (uncompressed size, compression ratio), then the sheet's stored dimension,
and rows are read cut to the titles' width and at most MAX_ROWS of them, so a zip bomb or a
cell in column XFD costs nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from openpyxl.utils import get_column_letter

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
# How many rows are read to find the titles when row 1 has none (parsing searches 20).
_TITLE_ROWS = 20
# Untitled columns read beside the last titled one (to warn that they are ignored).
_UNTITLED_MARGIN = 8

# What an XLSX may hold. Checked from the zip directory and the sheet's stored dimension
# before openpyxl reads a row, then enforced again while reading.
MAX_UNPACKED = 100_000_000  # bytes, all parts together, uncompressed
MAX_RATIO = 100  # uncompressed ÷ compressed, for parts over _RATIO_FROM bytes
_RATIO_FROM = 1_000_000
MAX_MEMBERS = 10_000
MAX_COLUMNS = 500
MAX_ROWS = 100_000  # data rows, after the titles


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

    def data_rows(self) -> list[tuple[int, list[Any]]]:
        """Return the rows that hold any data, each with its spreadsheet row number (the
        titles are row 1); raise `ImportFailed` when there is none."""
        rows = [(offset + 2, cells) for offset, cells in enumerate(self.rows)
                if not is_blank_row(cells)]
        if not rows:
            raise ImportFailed("El archivo no tiene filas de datos.")
        return rows


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
    if suffix == ".json" or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        sheet = _read_json(data)
    elif not is_csv:
        sheet = _read_xlsx(data)
    elif suffix in {".xlsx", ".xlsm"}:
        raise ImportFailed(f"El archivo no es un XLSX válido. {_ASK_FOR_TABLE}")
    else:
        headers, rows = _read_csv(data)
        sheet = Sheet(headers, rows, True)
    while sheet.rows and is_blank_row(sheet.rows[-1]):
        sheet.rows.pop()
    return sheet


def _read_json(data: bytes) -> Sheet:
    """Read a JSON array of objects, as the datos.gov.co API answers (`…/jbjy-vk9h.json`).

    The titles are the keys, in the order first seen; an object inside a cell (SECOP's
    `{"url": …}`) stays JSON text, for the kind to read.
    """
    try:
        items = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ImportFailed(
            "El archivo JSON no se puede leer: está incompleto o mal formado. "
            "Descárguelo de nuevo."
        ) from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ImportFailed(
            "El archivo JSON debe ser una lista de filas ([{…}, {…}]), como la que entrega "
            "datos.gov.co."
        )
    if len(items) > MAX_ROWS:
        raise ImportFailed(
            f"El archivo tiene más de {MAX_ROWS:,} filas de datos; ".replace(",", ".")
            + "divídalo en partes más pequeñas."
        )
    headers = list(dict.fromkeys(str(key) for item in items for key in item))
    rows = [[_json_cell(item.get(header)) for header in headers] for item in items]
    return Sheet(headers, rows, True)


def _json_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and not value.is_integer():
        return repr(value)  # «12.5», read as written, never through a float's rounding
    return value


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


def _check_package(data: bytes) -> None:
    """Refuse an XLSX whose zip directory promises more than the bot may unpack.

    Python's zipfile never inflates a member past the size its directory entry declares, so
    the declared sizes bound what openpyxl can read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportFailed(
            f"No se pudo abrir el archivo como XLSX; puede estar dañado. {_ASK_FOR_TABLE}"
        ) from None
    unpacked = sum(member.file_size for member in members)
    inflated = any(
        member.file_size > _RATIO_FROM
        and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED or inflated:
        raise ImportFailed(
            "El XLSX es demasiado grande por dentro: descomprimido pasaría de "
            f"{MAX_UNPACKED // 1_000_000} MB o se infla de forma anormal. Guarde solo la tabla "
            "en un libro nuevo, o envíela como CSV."
        )


def _check_dimension(sheet: Any) -> None:
    """Refuse a sheet whose stored dimension reaches past the row or column cap."""
    rows, columns = getattr(sheet, "max_row", None), getattr(sheet, "max_column", None)
    name = str(sheet.title)
    if isinstance(columns, int) and columns > MAX_COLUMNS:
        raise ImportFailed(
            f"La hoja «{name}» llega hasta la columna {get_column_letter(columns)}; se leen "
            f"hasta {MAX_COLUMNS} columnas. Borre las columnas sobrantes a la derecha (o copie "
            "solo la tabla en una hoja nueva) y vuelva a enviarlo."
        )
    if isinstance(rows, int) and rows > MAX_ROWS + 1:
        raise ImportFailed(_too_many_rows(name))


def _too_many_rows(name: str) -> str:
    return (
        f"La hoja «{name}» tiene más de {MAX_ROWS:,} filas de datos; ".replace(",", ".")
        + "divida el archivo o borre las filas sobrantes (también las vacías con formato) y "
        "vuelva a enviarlo."
    )


def _read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    _check_package(data)
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
        _check_dimension(sheet)
        part = getattr(sheet, "_worksheet_path", None)
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # stored dimensions are often wrong (too small)
        table = _first_sheet_rows(sheet, name)
        for other in book.worksheets[1 : 1 + _OTHER_SHEETS]:
            first = next(other.iter_rows(max_row=1, max_col=MAX_COLUMNS, values_only=True), ())
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
    width = max((len(row) for row in table), default=0)
    uncached = _uncached_formulas(data, part, table, width) if part else {}
    return Sheet(headers, table[1:], False, name, others, uncached)


def _first_sheet_rows(sheet: Any, name: str) -> list[list[Any]]:
    """Read the first sheet, cut to the titles' width and at most MAX_ROWS data rows.

    A stray cell far to the right (column XFD) or far below would otherwise make openpyxl
    pad every row to that width or fill every missing row up to it. Blank rows past the
    cap are skipped (formatting often reaches below a table), up to as many again; a row
    with content past the cap, or that many blank ones, refuses the file.
    """
    first = next(sheet.iter_rows(max_row=1, max_col=MAX_COLUMNS), ())
    titles = [_title(_cell_value(cell)) for cell in first]
    titled = max((i + 1 for i, title in enumerate(titles) if title), default=0)
    if titled:
        # A few untitled columns beside the table are read, to warn that they are ignored.
        width, last_row = min(titled + _UNTITLED_MARGIN, MAX_COLUMNS), None
    else:  # no titles in row 1: read the top rows only, to say where the titles are
        width, last_row = MAX_COLUMNS, 1 + _TITLE_ROWS
    table: list[list[Any]] = []
    for number, cells in enumerate(sheet.iter_rows(max_col=width, max_row=last_row), start=1):
        row = [_cell_value(cell) for cell in cells]
        if number > MAX_ROWS + 1:
            if number > 2 * MAX_ROWS + 1 or not is_blank_row(row):
                raise ImportFailed(_too_many_rows(name))
            continue
        table.append(row)
    return table
def _title(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _uncached_formulas(
    data: bytes, part: str, table: list[list[Any]], width: int
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
        formulas = book.worksheets[0]
        if hasattr(formulas, "reset_dimensions"):
            formulas.reset_dimensions()
        rows = formulas.iter_rows(min_row=2, max_row=len(table), max_col=max(width, 1))
        for cells in rows:
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


# Reports with a block of lines above their titles (CHIP's CUIPO, the DNP's planning kit)
# are read whole, every sheet, as rows of cells: the kind finds its titles itself.
_RAW_COLUMNS = 80


def read_raw_sheets(data: bytes, filename: str) -> list[tuple[str, list[list[Any]]]]:
    """Return every sheet of an XLSX (or the one table of a CSV) as (name, rows of cells).

    Row i of a sheet is spreadsheet row i + 1; nothing is taken as titles. The same limits
    as `read_sheet` hold (zip directory, stored dimension, MAX_ROWS).
    """
    if not data.strip():
        raise ImportFailed("El archivo está vacío.")
    suffix = PurePath(filename or "").suffix.lower()
    if data.startswith(_OLE) or suffix == ".xls":
        raise ImportFailed(
            "El archivo es de Excel antiguo (.xls) o está protegido con contraseña. "
            "Guárdelo como .xlsx o CSV, sin contraseña, y vuelva a enviarlo."
        )
    for magic, what in _NOT_TABLES:
        if data.startswith(magic):
            raise ImportFailed(f"El archivo es {what}, no una tabla. {_ASK_FOR_TABLE}")
    if not data.startswith(_ZIP):
        text = _decode(data).removeprefix("\ufeff")
        if _BINARY.search(text):
            raise ImportFailed(f"El archivo no es un CSV ni un XLSX. {_ASK_FOR_TABLE}")
        lines = text.splitlines()[:_TITLE_ROWS + 20]
        counts = {d: max((line.count(d) for line in lines), default=0) for d in _DELIMITERS}
        delimiter = max(_DELIMITERS, key=lambda d: counts[d])
        try:
            records = [list(r) for r in csv.reader(io.StringIO(text, newline=""),
                                                   delimiter=delimiter)]
        except csv.Error:
            raise ImportFailed(f"El archivo CSV está mal formado. {_ASK_FOR_TABLE}") from None
        if len(records) > MAX_ROWS + _TITLE_ROWS:
            raise ImportFailed(_too_many_rows(PurePath(filename or "archivo").name))
        return [(PurePath(filename or "archivo").name, records)]
    from openpyxl import load_workbook

    _check_package(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ImportFailed(
            f"No se pudo abrir el archivo como XLSX; puede estar dañado. {_ASK_FOR_TABLE}"
        ) from None
    sheets: list[tuple[str, list[list[Any]]]] = []
    try:
        for sheet in book.worksheets[:_OTHER_SHEETS + 1]:
            name = str(sheet.title)
            _check_dimension(sheet)
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()
            rows: list[list[Any]] = []
            for number, cells in enumerate(sheet.iter_rows(max_col=_RAW_COLUMNS), start=1):
                if number > MAX_ROWS + _TITLE_ROWS:
                    raise ImportFailed(_too_many_rows(name))
                rows.append([_cell_value(cell) for cell in cells])
            while rows and is_blank_row(rows[-1]):
                rows.pop()
            sheets.append((name, rows))
    except ImportFailed:
        raise
    except Exception:
        raise ImportFailed(
            f"No se pudo leer el XLSX; puede estar dañado. {_ASK_FOR_TABLE}"
        ) from None
    finally:
        book.close()
    return sheets
