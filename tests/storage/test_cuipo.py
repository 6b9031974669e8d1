"""CUIPO's spending reports (CHIP) imported as downloaded → the budget by office.

The fixtures (written by `fixtures/make_cuipo.py`) are shaped like CHIP's per-entity XLSX:
11 lines above the titles, `(Pesos)` suffixes, numbers as text with a trailing space,
VIGENCIA GASTO and SECCION PRESUPUESTAL only where they change (no-break spaces between),
total rows mixed with the detail rows, reservas and cuentas por pagar of earlier years.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.importers import ImportFailed, ImportResult, import_files
from storage.models import BudgetLine
from tests.storage.helpers import TZ

FIXTURES = Path(__file__).parent / "fixtures"
C = FIXTURES / "cuipo_c_programacion_gastos.xlsx"
D = FIXTURES / "cuipo_d_ejecucion_gastos.xlsx"
M = Decimal(1_000_000)
# office, rubro → apropiación, compromisos, obligaciones, pagos (millions): the detail rows
# of the current year added up; the files' total rows would double every figure.
EXPECTED = {
    ("Concejo de Bucaramanga", "Funcionamiento"): (4_000, 3_000, 2_200, 2_200),
    ("INDERBU", "Inversión"): (6_500, 4_000, 2_000, 1_000),
    ("Secretaría Administrativa", "Funcionamiento"): (15_500, 11_500, 8_500, 8_000),
    ("Secretaría de Educación", "Inversión"): (85_000, 60_000, 47_000, 42_000),
    ("Secretaría de Infraestructura", "Inversión"): (20_000, 12_000, 8_000, None),
    ("Secretaría de Salud y Ambiente", "Inversión"): (9_000, 7_000, 5_500, 5_500),
}


async def _lines(db: Database) -> dict[tuple[str, str], tuple[Decimal | None, ...]]:
    async with db.session() as s:
        rows = (await s.exec(select(BudgetLine))).all()
    return {(x.dependencia, x.rubro): (x.apropiacion_definitiva, x.compromisos, x.obligaciones,
                                       x.pagos) for x in rows}


def _millions(figures: tuple[int | None, ...]) -> tuple[Decimal | None, ...]:
    return tuple(None if f is None else Decimal(f) * M for f in figures)


async def _import(db: Database, *paths: Path) -> ImportResult:
    async with db.session() as session:
        return await import_files(session, "cuipo", list(paths), tz=TZ)


def _edited(path: Path, cell: str, value: str) -> bytes:
    book = load_workbook(path)
    book.active[cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_the_two_chip_downloads_become_the_budget_by_office(db: Database) -> None:
    result = await _import(db, C, D)
    assert result.summary() == "cuipo: 6 filas nuevas, 0 actualizadas, 0 sin cambios."
    assert result.warnings == [
        "Se leyeron 14 filas de C_PROGRAMACION_DE_GASTOS («cuipo_c_programacion_gastos.xlsx») "
        "y 15 de D_EJECUCION_DE_GASTOS («cuipo_d_ejecucion_gastos.xlsx»), con corte al "
        "30-09-2026.",
        "Se sumaron solo las filas de detalle: 10 filas de totales («2», «2.1», «2.3»…) no se "
        "sumaron otra vez.",
        "Se dejaron de lado 2 filas de vigencias anteriores (reservas y cuentas por pagar).",
    ]
    assert await _lines(db) == {key: _millions(v) for key, v in EXPECTED.items()}
    async with db.session() as s:
        line = (await s.exec(select(BudgetLine))).first()
    assert line is not None and (line.vigencia, str(line.fecha_corte)) == (2026, "2026-09-30")
    again = await _import(db, D, C)  # in any order
    assert again.summary() == "cuipo: 0 filas nuevas, 0 actualizadas, 6 sin cambios."


async def test_a_total_that_is_not_the_sum_of_its_rows_is_said_not_used(
    db: Database, tmp_path: Path
) -> None:
    # Row 18 is «2.3 INVERSIÓN»: 120.500 millones in the file, as its detail rows add up.
    edited = tmp_path / "c.xlsx"
    edited.write_bytes(_edited(C, "I18", "130500000000 "))
    result = await _import(db, edited, D)
    assert result.warnings[-1] == (
        "En «c.xlsx», fila 18: el total del código 2.3 ($ 130.500.000.000) no es la suma de "
        "sus filas de detalle ($ 120.500.000.000); se usaron las filas de detalle.")
    assert await _lines(db) == {key: _millions(v) for key, v in EXPECTED.items()}


async def test_an_unmapped_section_or_sector_names_the_file_to_edit(
    db: Database, tmp_path: Path
) -> None:
    edited = tmp_path / "d.xlsx"
    book = load_workbook(D)
    sheet = book.active
    sheet["B26"] = "25 - FONDO DE VIVIENDA "  # the Concejo's section, renamed (row 27 too)
    sheet["E20"] = "3901010 - Servicio de apoyo a la investigación "  # sector 39: no office
    book.save(edited)
    with pytest.raises(ImportFailed) as caught:
        await _import(db, C, edited)
    messages = [str(e) for e in caught.value.errors]
    assert messages == [
        "Fila 20, columna «SECCION PRESUPUESTAL»: el sector MGA «39» de la sección «16 - "
        "ADMINISTRACION CENTRAL» no tiene dependencia en "
        "storage/data/fuentes/cuipo_dependencias.yaml. Agréguelo en «sectores» de esa sección "
        "y vuelva a importar. («d.xlsx»)",
        "Fila 27, columna «SECCION PRESUPUESTAL»: la sección presupuestal «25 - FONDO DE "
        "VIVIENDA» no tiene dependencia en storage/data/fuentes/cuipo_dependencias.yaml. "
        "Agréguela en «secciones» y vuelva a importar. («d.xlsx»)",
    ]
    assert not caught.value.rows_only  # a budget is a whole: no importing «the good rows»
    assert await _lines(db) == {}


async def test_one_report_alone_says_which_is_missing_and_how_to_send_both(
    db: Database,
) -> None:
    with pytest.raises(ImportFailed) as caught:
        await _import(db, C)
    assert str(caught.value) == (
        "Falta el informe D_EJECUCION_DE_GASTOS de CUIPO. Se necesitan los dos del mismo "
        "periodo, C_PROGRAMACION_DE_GASTOS (apropiación) y D_EJECUCION_DE_GASTOS (compromisos, "
        "obligaciones y pagos): en el servidor, «cabildo importar cuipo programacion.xlsx "
        "ejecucion.xlsx»; por Telegram, un solo libro XLSX con los dos informes, cada uno en "
        "su hoja.")
    with pytest.raises(ImportFailed) as caught:
        await _import(db, C, FIXTURES / "secop_procesos_api.csv")
    assert str(caught.value).startswith(
        "En «secop_procesos_api.csv» no encontré un informe de gastos de CUIPO")


async def test_staff_send_one_workbook_in_telegram_and_citizens_see_the_budget(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    admin = api.user(1000)
    admin.send_document("cuipo_2026_t3.xlsx", (FIXTURES / "cuipo_2026_t3.xlsx").read_bytes(),
                        caption="/importar cuipo")
    [done] = await api.wait_for("sendMessage", chat_id=1000)
    assert done.params["text"].startswith(
        "✅ Importación completa: cuipo: 6 filas nuevas, 0 actualizadas, 0 sin cambios.")
    assert ("C_PROGRAMACION_DE_GASTOS («cuipo_2026_t3.xlsx», hoja «C») y 15 de "
            "D_EJECUCION_DE_GASTOS («cuipo_2026_t3.xlsx», hoja «D»)") in done.params["text"]
    citizen = api.user(7111)
    citizen.send_text("/presupuesto")
    [reply] = await api.wait_for("sendMessage", chat_id=7111)
    text = reply.params["text"]
    # 140.000 millones appropriated, 97.500 committed: never the doubled totals.
    assert "💰 <b>Ejecución del presupuesto 2026</b>" in text
    assert "Apropiación definitiva: $ 140.000 millones" in text
    assert "Compromisos: $ 97.500 millones" in text
    assert "Datos con corte al 30 de septiembre de 2026." in text


async def test_a_report_saved_as_csv_reads_the_same(db: Database, tmp_path: Path) -> None:
    # CHIP's XLSX saved as CSV with semicolons by a spreadsheet: the block above the titles
    # has a single cell per line, the data rows many.
    sheet = load_workbook(C).active
    text = "\n".join(";".join("" if v is None else str(v) for v in row)
                     for row in sheet.iter_rows(values_only=True))
    programming = tmp_path / "C_PROGRAMACION_DE_GASTOS.csv"
    programming.write_text(text, encoding="utf-8")
    result = await _import(db, programming, D)
    assert result.created == 6
    assert await _lines(db) == {key: _millions(v) for key, v in EXPECTED.items()}
