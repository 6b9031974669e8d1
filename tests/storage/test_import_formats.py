"""File formats: XLSX cells and sheets, CSV encodings and separators, headers, unreadable files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from storage.db import Database
from storage.models import ContractingProcess, Event, Work
from tests.storage.helpers import csv_bytes, run_import, seed_comunas, table_contents, xlsx_bytes
from tests.storage.importer_support import (
    EN,
    WORK_HEADER,
    comuna_ids,
    expect_failure,
    works_by_code,
    works_csv,
)


async def test_xlsx_with_native_numbers_dates_and_percentages(db: Database) -> None:
    await seed_comunas(db)
    data = xlsx_bytes(
        [
            [
                *WORK_HEADER,
                "valor_contrato",
                "avance_financiero",
                "fecha_inicio",
                "latitud",
                "longitud",
            ],
            [
                "OB-1",
                "Parque",
                4,
                "En ejecución",
                45.5,
                1234567.891,
                0.3,
                datetime(2026, 1, 15),
                7.1193,
                -73.1227,
            ],
            [101, "Vía", "Occidental", "Terminada", 100, 2000000, 1, date(2025, 12, 1), None, None],
            [None] * 10,
            [None] * 10,
        ],
        formats={"G2": "0%", "G3": "0.0%"},
    )
    result = await run_import(db, "obras", data, "obras.xlsx")
    assert result.created == 2
    works = await works_by_code(db)
    first = works["OB-1"]
    assert first.avance_fisico == 45.5
    assert Decimal(first.valor_contrato or 0) == Decimal("1234567.89")
    assert first.avance_financiero == pytest.approx(30)
    assert first.fecha_inicio == date(2026, 1, 15)
    assert first.latitud == pytest.approx(7.1193)
    second = works["101"]
    assert second.avance_financiero == pytest.approx(100)
    assert second.comuna_id == (await comuna_ids(db))["4"]


async def test_xlsx_event_with_native_datetime(db: Database) -> None:
    data = xlsx_bytes(
        [
            ["titulo", "tipo", "inicio", "lugar"],
            ["Rueda de prensa", "prensa", datetime(2026, 5, 4, 10, 30), "Alcaldía"],
        ]
    )
    await run_import(db, "eventos", data, "eventos.xlsx")
    (row,) = await table_contents(db, Event)
    assert row["inicio"] == datetime(2026, 5, 4, 15, 30, tzinfo=UTC)
    assert row["clave"] == "Rueda de prensa|2026-05-04T10:30:00"


async def test_latin1_csv_from_excel(db: Database) -> None:
    data = csv_bytes(
        [
            ["Número proceso", "Modalidad", "Objeto", "Valor", "Estado"],
            ["SA-1", "Selección abreviada", "Adquisición de equipos", "5.000.000", "Abierto"],
        ],
        delimiter=";",
        encoding="cp1252",
    )
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    await run_import(db, "contratacion", data, "contratacion.csv")
    (row,) = await table_contents(db, ContractingProcess)
    assert row["modalidad"] == "Selección abreviada"
    assert row["objeto"] == "Adquisición de equipos"


async def test_tab_separated_file(db: Database) -> None:
    data = csv_bytes(
        [["titulo", "tipo", "periodo", "enlace"], ["Informe", "gestion", "2026", "http://a.co"]],
        delimiter="\t",
    )
    assert (await run_import(db, "informes", data, "informes.txt")).created == 1


async def test_headers_match_ignoring_case_accents_and_spacing(db: Database) -> None:
    await seed_comunas(db)
    header = ["CÓDIGO", " Nombre ", "comuna", "Estado", "AVANCE-FISICO", "Observaciones"]
    result = await run_import(
        db, "obras", works_csv(["OB-1", "Parque", "4", EN, "5", "nota"], header=header), "o.csv"
    )
    assert result.created == 1
    assert result.warnings == ["Se ignoró la columna «Observaciones»."]
    header[4] = "Avance Físico"
    again = await run_import(
        db, "obras", works_csv(["OB-1", "Parque", "4", EN, "6"], header=header), "o.csv"
    )
    assert again.updated == 1


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "foto.png", "una imagen"),
        (bytes(range(256)) * 4, "datos.csv", "no es un CSV ni un XLSX"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "informe.pdf", "un PDF"),
        (
            b"PK\x03\x04garbage-not-a-workbook",
            "obras.xlsx",
            "No se pudo abrir el archivo como XLSX",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "obras.xls", "Excel antiguo (.xls)"),
        (b"", "obras.csv", "El archivo está vacío."),
        (
            b"codigo,nombre,comuna,estado,avance_fisico\r\n\r\n,,,,\r\n",
            "obras.csv",
            "El archivo no tiene filas de datos.",
        ),
    ],
)
async def test_unreadable_files_give_a_plain_message(
    db: Database, data: bytes, filename: str, message: str
) -> None:
    failure = await expect_failure(db, "obras", data, filename)
    assert message in str(failure)
    assert "Traceback" not in str(failure)

async def test_xlsx_row_numbers_count_blank_rows_and_untitled_columns_warn(db: Database) -> None:
    await seed_comunas(db)
    data = xlsx_bytes(
        [
            WORK_HEADER,
            ["OB-1", "Obra", 4, EN, 10, None, "nota suelta"],
            [None, None, None, None, None],
            ["OB-2", "Obra", 4, EN, "mucho"],
        ]
    )
    failure = await expect_failure(db, "obras", data, "obras.xlsx")
    assert [str(e) for e in failure.errors] == [
        "Fila 4, columna «avance_fisico»: «mucho» no es un número."
    ]
    fixed = xlsx_bytes(
        [WORK_HEADER, ["OB-1", "Obra", 4, EN, 10, None, "nota suelta"], [None], ["OB-2", "O", 4]]
    )
    failure = await expect_failure(db, "obras", fixed, "obras.xlsx")
    assert [str(e) for e in failure.errors] == [
        "Fila 4, columna «estado»: está vacía y es obligatoria.",
    ]
    ok = xlsx_bytes([WORK_HEADER, ["OB-1", "Obra", 4, EN, 10, None, "nota suelta"]])
    result = await run_import(db, "obras", ok, "obras.xlsx")
    assert result.warnings == ["Se ignoró la columna G, que no tiene título."]


async def test_xlsx_formula_without_a_cached_value_is_named(db: Database) -> None:
    await seed_comunas(db)
    data = xlsx_bytes([
        [*WORK_HEADER, "avance_financiero"],
        ["OB-1", "Parque", "4", "En ejecución", 10, 5],
        ["OB-2", "Vía", "4", "En ejecución", "=10+20", "=2*5"],  # written by a program
    ])
    failure = await expect_failure(db, "obras", data, "obras.xlsx")
    assert [str(e) for e in failure.errors] == [
        "Fila 3, columna «avance_fisico»: tiene la fórmula «=10+20» sin el valor calculado (el "
        "archivo no se guardó desde Excel o LibreOffice). Ábralo, guárdelo y vuelva a enviarlo, "
        "o escriba el valor.",
        "Fila 3, columna «avance_financiero»: tiene la fórmula «=2*5» sin el valor calculado (el "
        "archivo no se guardó desde Excel o LibreOffice). Ábralo, guárdelo y vuelva a enviarlo, "
        "o escriba el valor.",
    ]
    assert await table_contents(db, Work) == []


def _workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    from io import BytesIO

    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def test_titles_below_row_one_or_on_another_sheet_are_pointed_at(db: Database) -> None:
    await seed_comunas(db)
    works = [WORK_HEADER, ["OB-1", "Parque", "4", "En ejecución", 10]]
    lower = _workbook({"Obras": [["Informe de obras 2026"], [], *works]})
    failure = await expect_failure(db, "obras", lower, "obras.xlsx")
    assert str(failure.errors[0]).endswith(
        "Los títulos parecen estar en la fila 3: solo se leen los de la fila 1. Borre las filas "
        "de arriba y vuelva a enviarlo."
    )
    second = _workbook({"Portada": [["Alcaldía"]], "Datos": works})
    failure = await expect_failure(db, "obras", second, "obras.xlsx")
    assert str(failure.errors[0]).endswith(
        "Los datos parecen estar en la hoja «Datos», pero solo se lee la primera hoja "
        "(«Portada»). Pase esa hoja al primer lugar y vuelva a enviarlo."
    )
    neither = _workbook({"Hoja1": [["a", "b"], [1, 2]]})
    failure = await expect_failure(db, "obras", neither, "obras.xlsx")
    assert str(failure.errors[0]).endswith(
        "Solo se lee la primera hoja del libro («Hoja1»), y su fila 1 debe tener los títulos "
        "de las columnas."
    )
    assert await table_contents(db, Work) == []
