"""Staff files cannot exhaust memory or CPU: zip bombs, far cells, deep YAML, huge numbers.

Every hostile file is built here, small: a zip whose sheet inflates to 110 MB weighs about
100 KB, and a sheet with a cell in column XFD is a few kilobytes. Each one gets a Spanish
sentence, and the memory Python allocates while reading it stays small (tracemalloc).
"""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from storage.db import Database
from storage.importers import ImportFailed, reading
from storage.importers.parsing import parse_table
from storage.importers.survey_reading import parse_definition
from storage.models import Survey, Work
from tests.storage.helpers import csv_bytes, run_import, seed_comunas, table_contents

TZ = ZoneInfo("America/Bogota")
HEADER = ["codigo", "nombre", "comuna", "estado", "avance_fisico"]
EN = "En ejecución"  # a works status of the vocabulary (storage/data/estados.yaml)
SHEET = "xl/worksheets/sheet1.xml"
MB = 1_000_000


def _peak(read: Callable[[], Any]) -> tuple[Any, int]:
    """Run `read`; return what it returned (or raised) and the peak bytes Python allocated."""
    tracemalloc.start()
    try:
        try:
            outcome: Any = read()
        except ImportFailed as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _workbook(rows: list[list[Any]], far: dict[tuple[int, int], Any] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Obras"
    for row in rows:
        sheet.append(row)
    for (row_number, column), value in (far or {}).items():
        sheet.cell(row=row_number, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rezip(data: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    """Return the XLSX with each part passed through `change(name, content)`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info)))
    return out.getvalue()


def _bomb(inflated: int) -> bytes:
    """Return a valid-looking XLSX whose sheet inflates to `inflated` bytes of rows.

    The sheet is written to the zip chunk by chunk, so neither this test nor the file
    ever holds it whole.
    """
    base = _workbook([HEADER])
    out = io.BytesIO()
    row = b'<row><c t="inlineStr"><is><t>OB</t></is></c></row>' * 1000
    with zipfile.ZipFile(io.BytesIO(base)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info.filename, source.read(info))
                continue
            with target.open(SHEET, "w", force_zip64=True) as sheet:
                sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/'
                            b'spreadsheetml/2006/main"><sheetData>')
                written = 0
                while written < inflated:
                    sheet.write(row)
                    written += len(row)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


async def test_a_zip_bomb_is_refused_from_the_zip_directory(db: Database) -> None:
    await seed_comunas(db)
    bomb = _bomb(110 * MB)
    assert len(bomb) < 1 * MB
    failure, peak = _peak(lambda: parse_table("obras", bomb, "obras.xlsx", tz=TZ))
    assert str(failure) == (
        "El XLSX es demasiado grande por dentro: descomprimido pasaría de 100 MB o se infla "
        "de forma anormal. Guarde solo la tabla en un libro nuevo, o envíela como CSV."
    )
    assert peak < 5 * MB  # the 110 MB were never inflated
    # Smaller, but inflating 1,000 times: refused by its compression ratio.
    small = _bomb(5 * MB)
    with pytest.raises(ImportFailed, match="se infla de forma anormal"):
        await run_import(db, "obras", small, "obras.xlsx")
    assert await table_contents(db, Work) == []


async def test_a_cell_in_the_last_column_is_refused_by_the_sheet_dimension(db: Database) -> None:
    await seed_comunas(db)
    rows = [HEADER, *[[f"OB-{n}", "Parque", 4, "En ejecución", 10] for n in range(1, 2001)]]
    far = {(n, 16384): "x" for n in range(2, 2002)}
    data = _workbook(rows, far)
    assert len(data) < 300_000
    failure, peak = _peak(lambda: parse_table("obras", data, "obras.xlsx", tz=TZ))
    assert str(failure) == (
        "La hoja «Obras» llega hasta la columna XFD; se leen hasta 500 columnas. Borre las "
        "columnas sobrantes a la derecha (o copie solo la tabla en una hoja nueva) y vuelva "
        "a enviarlo."
    )
    assert peak < 5 * MB
    assert await table_contents(db, Work) == []


@pytest.mark.slow
@pytest.mark.parametrize("dimension", ['<dimension ref="A1:E2001"/>', ""])
async def test_a_far_column_behind_a_wrong_or_missing_dimension_is_cut_off(
    db: Database, dimension: str
) -> None:
    await seed_comunas(db)
    rows = [HEADER, *[[f"OB-{n}", "Parque", 4, "En ejecución", 10] for n in range(1, 2001)]]
    far = {(n, 16384): "x" for n in range(2, 2002)}

    def lie(name: str, content: bytes) -> bytes:
        if name != SHEET:
            return content
        return re.sub(rb"<dimension[^>]*/>", dimension.encode(), content)

    data = _rezip(_workbook(rows, far), lie)
    table, peak = _peak(lambda: parse_table("obras", data, "obras.xlsx", tz=TZ))
    assert len(table.rows) == 2000
    assert peak < 60 * MB  # 2,000 rows × 16,384 cells took gigabytes before
    result = await run_import(db, "obras", data, "obras.xlsx")
    assert result.created == 2000


async def test_rows_past_the_cap_are_refused_but_blank_ones_are_ignored(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_comunas(db)
    monkeypatch.setattr(reading, "MAX_ROWS", 50)
    rows = [[f"OB-{n}", "Parque", 4, "En ejecución", 10] for n in range(1, 52)]
    with pytest.raises(ImportFailed) as caught:
        await run_import(db, "obras", _workbook([HEADER, *rows]), "obras.xlsx")
    assert str(caught.value) == (
        "La hoja «Obras» tiene más de 50 filas de datos; divida el archivo o borre las filas "
        "sobrantes (también las vacías con formato) y vuelva a enviarlo."
    )
    # A cell far below, hidden behind a dimension that says otherwise: refused while reading.
    far_below = _rezip(
        _workbook([HEADER, *rows[:50]], {(1_000_000, 1): "suelta"}),
        lambda name, content: re.sub(rb"<dimension[^>]*/>", b"", content)
        if name == SHEET else content,
    )
    with pytest.raises(ImportFailed, match="tiene más de 50 filas de datos"):
        await run_import(db, "obras", far_below, "obras.xlsx")
    assert await table_contents(db, Work) == []
    # Fifty rows and empty formatted rows below them (no dimension to go by) are fine.
    blank_below = _rezip(
        _workbook([HEADER, *rows[:50], *[[None]] * 30]),
        lambda name, content: re.sub(rb"<dimension[^>]*/>", b"", content)
        if name == SHEET else content,
    )
    assert (await run_import(db, "obras", blank_below, "obras.xlsx")).created == 50


async def test_numbers_of_more_than_30_digits_are_refused_with_the_cell(db: Database) -> None:
    await seed_comunas(db)
    huge = "9" * 5000
    with pytest.raises(ImportFailed) as caught:
        await run_import(db, "obras", csv_bytes([HEADER, ["OB-1", "Parque", 4, EN, huge]]),
                         "obras.csv")
    assert [str(e) for e in caught.value.errors] == [
        "Fila 2, columna «avance_fisico»: es un número de más de 30 cifras; revise el valor."
    ]
    native = _workbook([HEADER, ["OB-1", "Parque", 4, EN, 10**40]])
    with pytest.raises(ImportFailed) as caught:
        await run_import(db, "obras", native, "obras.xlsx")
    assert [str(e) for e in caught.value.errors] == [
        "Fila 2, columna «avance_fisico»: es un número de más de 30 cifras; revise el valor."
    ]
    ok = csv_bytes([HEADER, ["OB-1", "Parque", 4, EN, "45,5"]])
    assert (await run_import(db, "obras", ok, "obras.csv")).created == 1


SURVEY_HEAD = "slug: abusiva\ntitulo: Prueba\npreguntas:\n  - tipo: escala\n    texto: "


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("anidada.yaml", (SURVEY_HEAD + "[" * 2000 + "]" * 2000).encode(),
         "La encuesta tiene más de 8 niveles de listas o campos anidados (línea 5). Revise la "
         "sangría o los corchetes."),
        ("sangria.yaml", ("slug: abusiva\ntitulo:\n"
                          + "".join("  " * i + "-\n" for i in range(1, 60))).encode(),
         "La encuesta tiene más de 8 niveles de listas o campos anidados (línea 10). Revise la "
         "sangría o los corchetes."),
        ("numero.yaml", (SURVEY_HEAD + "9" * 5000).encode(),
         "La línea 5 tiene un número de más de 30 cifras. Si es un texto, escríbalo entre "
         "comillas."),
        ("anidada.json", b'{"slug": ' + b"[" * 4000 + b"]" * 4000 + b"}",
         "La encuesta tiene más de 8 niveles de listas o campos anidados (línea 1). Revise la "
         "sangría o los corchetes."),
        ("numero.json", b'{"slug": "abusiva", "titulo": ' + b"9" * 5000 + b"}",
         "El JSON tiene un número de más de 30 cifras. Si es un texto, escríbalo entre "
         "comillas."),
    ],
)
async def test_hostile_survey_definitions_get_a_spanish_sentence(
    db: Database, name: str, data: bytes, message: str
) -> None:
    assert len(data) < 12_000
    with pytest.raises(ImportFailed) as caught:
        await run_import(db, "encuesta", data, name)
    assert str(caught.value) == message
    assert await table_contents(db, Survey) == []


def test_a_quoted_long_number_in_a_survey_is_only_text() -> None:
    definition = parse_definition(
        (SURVEY_HEAD.replace("escala", "texto") + "'Radicado " + "7" * 40 + "'").encode(),
        "encuesta.yaml", tz=TZ,
    )
    assert definition.questions[0].text == "Radicado " + "7" * 40
