"""All or nothing: a file with errors changes nothing, and each error names its row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import Database
from storage.importers import Change, ImportFailed, RowError
from storage.models import BudgetLine, Work
from tests.storage.helpers import (
    csv_bytes,
    run_import,
    run_import_file,
    seed_comunas,
    table_contents,
)
from tests.storage.importer_support import (
    EN,
    FIVE_WORKS,
    WORK_HEADER,
    expect_failure,
    works_by_code,
    works_csv,
)


async def test_bad_row_changes_nothing_then_fixed_file_imports_and_reimports(
    db: Database, tmp_path: Path
) -> None:
    await seed_comunas(db)
    await run_import(db, "obras", works_csv(["OB-9", "Obra previa", "2", "Terminada", "100"]), "a")
    before = await table_contents(db, Work)

    bad = [list(r) for r in FIVE_WORKS]
    bad[1][4] = "abc"  # row 3 of the spreadsheet
    path = tmp_path / "obras.csv"
    path.write_bytes(works_csv(*bad))
    with pytest.raises(ImportFailed) as caught:
        await run_import_file(db, "obras", path)
    assert caught.value.errors == [RowError(3, "avance_fisico", "«abc» no es un número.")]
    assert caught.value.total_errors == 1
    assert str(caught.value) == (
        "El archivo tiene 1 error. Corríjalo y vuelva a enviarlo:\n"
        "Fila 3, columna «avance_fisico»: «abc» no es un número."
    )
    assert await table_contents(db, Work) == before

    path.write_bytes(works_csv(*FIVE_WORKS))
    fixed = await run_import_file(db, "obras", path)
    assert fixed.summary() == "obras: 5 filas nuevas, 0 actualizadas, 0 sin cambios."
    assert fixed.created_keys == ["OB-1", "OB-2", "OB-3", "OB-4", "OB-5"]
    works = await works_by_code(db)
    assert works["OB-1"].avance_fisico == pytest.approx(45.3)
    assert works["OB-5"].avance_fisico == pytest.approx(72.5)
    assert works["OB-9"].nombre == "Obra previa"  # rows absent from the file stay

    again = await run_import_file(db, "obras", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert again.changes == []
    assert len(await table_contents(db, Work)) == 6

    changed = [list(r) for r in FIVE_WORKS]
    changed[2][4] = "100"
    changed[2][3] = "Suspendida"
    path.write_bytes(works_csv(*changed))
    updated = await run_import_file(db, "obras", path)
    assert updated.summary() == "obras: 0 filas nuevas, 1 actualizada, 4 sin cambios."
    assert updated.changes == [Change("OB-3", "estado", "Terminada", "Suspendida")]
    after = await works_by_code(db)
    assert after["OB-3"].estado == "Suspendida"
    assert after["OB-3"].updated_at > works["OB-3"].updated_at
    assert after["OB-1"].updated_at == works["OB-1"].updated_at


async def test_all_errors_are_collected_with_spreadsheet_row_numbers(db: Database) -> None:
    await seed_comunas(db)
    rows = [
        ["OB-1", "Obra", "4", EN, "10"],
        ["OB-2", "", "Narnia", EN, "150"],
        ["OB-3", '=HYPERLINK("http://mal.co")', "4", EN, "-5"],
    ]
    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 3, columna «nombre»: está vacía y es obligatoria.",
        "Fila 3, columna «avance_fisico»: «150» debe ser un porcentaje entre 0 y 100.",
        "Fila 3, columna «comuna»: no se encontró la comuna «Narnia».",
        'Fila 4, columna «nombre»: «=HYPERLINK("http://mal.co")» parece una fórmula de hoja '
        "de cálculo; escríbalo sin =, +, - ni @ al inicio.",
        "Fila 4, columna «avance_fisico»: «-5» debe ser un porcentaje entre 0 y 100.",
    ]
    assert str(failure).startswith("El archivo tiene 5 errores.")


async def test_many_errors_are_summarized(db: Database) -> None:
    await seed_comunas(db)
    rows = [[f"OB-{i}", "Obra", "4", EN, "abc"] for i in range(30)]
    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")
    assert failure.total_errors == 30
    lines = str(failure).splitlines()
    assert len(lines) == 23
    assert lines[1].startswith("Fila 2, columna «avance_fisico»")
    assert lines[-2] == "… y 10 errores más."
    assert lines[-1] == "Filas con errores (30): 2–31."  # every bad row, even those not shown


async def test_missing_required_columns_are_named_together(db: Database) -> None:
    data = csv_bytes([["codigo", "nombre", "avance"], ["OB-1", "Obra", "3"]])
    failure = await expect_failure(db, "obras", data, "obras.csv")
    assert str(failure) == (
        "El archivo tiene 1 error. Corríjalo y vuelva a enviarlo:\n"
        "Fila 1: faltan las columnas obligatorias «comuna», «estado», «avance_fisico». "
        "La primera fila debe tener los títulos de las columnas."
    )


async def test_duplicate_columns_are_an_error(db: Database) -> None:
    data = csv_bytes([[*WORK_HEADER, "Avance físico"], ["OB-1", "Obra", "4", EN, "3", "4"]])
    failure = await expect_failure(db, "obras", data, "obras.csv")
    assert failure.errors == [
        RowError(1, "avance_fisico", "aparece dos veces (columnas E y F); deje solo una.")
    ]


async def test_unknown_comuna_and_mismatched_name(db: Database) -> None:
    await seed_comunas(db)
    rows = [["OB-1", "Obra", "Comuna 99", EN, "3"], ["OB-2", "Obra", "Comuna 4 - Norte", EN, "3"]]
    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 2, columna «comuna»: no se encontró la comuna «Comuna 99».",
        "Fila 3, columna «comuna»: en «Comuna 4 - Norte» el número y el nombre no coinciden "
        "(4 es Occidental).",
    ]


async def test_works_need_comunas_loaded_first(db: Database) -> None:
    failure = await expect_failure(db, "obras", works_csv(*FIVE_WORKS), "obras.csv")
    assert "Importe primero las comunas" in str(failure)
    assert await table_contents(db, Work) == []


@pytest.mark.parametrize("formula", ["=1+1", "+57 300", "-cmd", "@SUM(A1)", "\t=A1"])
async def test_formula_cells_are_rejected(db: Database, formula: str) -> None:
    data = csv_bytes(
        [["titulo", "tipo", "periodo", "enlace"], ["Informe", formula, "2026", "http://a.co"]]
    )
    failure = await expect_failure(db, "informes", data, "informes.csv")
    (error,) = failure.errors
    assert (error.row, error.column) == (2, "tipo")
    assert "parece una fórmula de hoja de cálculo" in error.message


async def test_budget_amounts_out_of_order_point_at_the_row(db: Database) -> None:
    header = ["vigencia", "dependencia", "apropiacion_definitiva", "compromisos", "obligaciones",
              "pagos"]  # fmt: skip
    data = csv_bytes(
        [
            header,
            ["2026", "Hacienda", "1.000.000", "900.000", "800.000", "700.000"],
            ["2026", "Salud", "1.000.000", "2.000.000", "", ""],
            ["2026", "Cultura", "1.000.000", "500.000", "600.000", "700.000"],
        ]
    )
    failure = await expect_failure(db, "presupuesto", data, "presupuesto.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 3, columna «compromisos»: los compromisos ($ 2.000.000) superan la apropiación "
        "definitiva ($ 1.000.000); revise que las columnas no estén cruzadas.",
        "Fila 4, columna «obligaciones»: las obligaciones ($ 600.000) superan los compromisos "
        "($ 500.000); revise que las columnas no estén cruzadas.",
        "Fila 4, columna «pagos»: los pagos ($ 700.000) superan las obligaciones ($ 600.000); "
        "revise que las columnas no estén cruzadas.",
    ]
    assert await table_contents(db, BudgetLine) == []


async def test_duplicate_key_in_file_names_both_rows(db: Database) -> None:
    await seed_comunas(db)
    rows = [*FIVE_WORKS, ["OB-2", "Otra", "4", EN, "1"]]
    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 7, columna «codigo»: repite «OB-2», que ya está en la fila 3."
    ]
    data = csv_bytes(
        [
            ["vigencia", "dependencia", "apropiacion_definitiva", "compromisos"],
            ["2026", "Hacienda", "10", "5"],
            ["2026", "Hacienda", "20", "5"],
        ]
    )
    failure = await expect_failure(db, "presupuesto", data, "p.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 3: repite «2026|Hacienda|», que ya está en la fila 2."
    ]


async def test_invalid_values_name_row_and_column(db: Database) -> None:
    await seed_comunas(db)
    header = [*WORK_HEADER, "fecha_inicio", "latitud", "longitud", "enlace_secop",
              "valor_contrato", "nombre_x"]  # fmt: skip
    rows = [
        ["OB-1", "Obra", "4", EN, "1", "31/02/2026", "7.1", "", "www.secop.gov.co", "-5", ""],
        ["OB-2", "N" * 301, "4", EN, "1", "2026-13-01", "95", "-73", "ftp://a.co", "1", ""],
    ]
    failure = await expect_failure(db, "obras", csv_bytes([header, *rows]), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 2, columna «fecha_inicio»: «31/02/2026» no es una fecha válida.",
        "Fila 2, columna «enlace_secop»: «www.secop.gov.co» no es un enlace válido; debe "
        "empezar por https://.",
        "Fila 2, columna «valor_contrato»: «-5» no puede ser negativo.",
        "Fila 3, columna «nombre»: tiene 301 caracteres; el máximo es 300.",
        "Fila 3, columna «fecha_inicio»: «2026-13-01» no es una fecha válida.",
        "Fila 3, columna «latitud»: «95» no es una latitud válida (entre -90 y 90).",
        "Fila 3, columna «enlace_secop»: «ftp://a.co» no es un enlace válido; debe empezar por "
        "https://.",
    ]
    rows = [["OB-1", "Obra", "4", EN, "1", "", "7.1", "", "", "", ""]]
    failure = await expect_failure(db, "obras", csv_bytes([header, *rows]), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 2: escriba la latitud y la longitud juntas, o ninguna de las dos."
    ]


async def test_extra_cells_in_a_comma_csv_are_an_error(db: Database) -> None:
    await seed_comunas(db)
    data = b"codigo,nombre,comuna,estado,avance_fisico\r\nOB-1,Obra,4,Terminada,45,3\r\n"
    failure = await expect_failure(db, "obras", data, "obras.csv")
    (error,) = failure.errors
    assert error.row == 2 and "más celdas que títulos" in error.message
