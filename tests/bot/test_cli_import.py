"""`cabildo importar` as an operator uses it: import, re-import, bad rows, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cli import main
from storage.demo import SAMPLE_DIR
from tests.bot.cli_support import _works
from tests.bot.cli_support import operator as operator  # a fixture: pytest looks for it here

HEADER = "codigo;nombre;comuna;estado;avance_fisico;valor_contrato;fecha_inicio\n"
ROWS = [
    "OB-1;Parque La Joya;Comuna 4 - Occidental;En ejecución;45,5;1.250.000.000;01/03/2026\n",
    "OB-2;Andenes Cabecera;12;Terminada;100;350.000.000;2026-01-15\n",
    "OB-3;Polideportivo Café Madrid;Norte;En ejecución;{avance};2.100.000.000,50;15/02/2026\n",
    "OB-4;Muro de contención Morrorico;14;Suspendida;30;800.000.000;01/04/2026\n",
]


def test_bad_row_changes_nothing_fixed_file_imports_reimport_updates(
    operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]) == 0
    path = operator / "obras.csv"
    path.write_text(HEADER + "".join(ROWS[:2]), encoding="utf-8-sig")
    assert main(["import", "obras", str(path)]) == 0
    before = _works(database_url)
    capsys.readouterr()

    path.write_text(HEADER + "".join(ROWS).format(avance="mucho"), encoding="utf-8-sig")
    assert main(["import", "obras", str(path)]) == 1
    err = capsys.readouterr().err
    assert "No se importó nada" in err
    assert "Fila 4" in err and "avance_fisico" in err
    assert _works(database_url) == before

    path.write_text(HEADER + "".join(ROWS).format(avance="62"), encoding="utf-8-sig")
    assert main(["import", "obras", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 filas nuevas" in out and "2 sin cambios" in out
    assert len(_works(database_url)) == 4

    path.write_text(
        HEADER + "".join(ROWS).format(avance="70").replace("Suspendida;30", "En ejecución;35"),
        encoding="utf-8-sig",
    )
    assert main(["import", "obras", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 filas nuevas" in out and "2 actualizadas" in out
    assert _works(database_url) == [
        ("OB-1", "En ejecución", 45.5),
        ("OB-2", "Terminada", 100.0),
        ("OB-3", "En ejecución", 70.0),
        ("OB-4", "En ejecución", 35.0),
    ]


def _secop_like_rows(count: int) -> list[list[str]]:
    """Works as a SECOP extract brings them: portal money, a timestamp, SECOP statuses."""
    rows = []
    for i in range(1, count + 1):
        value = "$6,000,000,000,000,000,000" if i % 2 and i <= 41 else "$450,000"
        estado = "Terminadísima" if i == 44 else "Liquidado" if i % 3 == 0 else "Modificado"
        rows.append([f"CO1.PCCNTR.{i}", f"Obra {i}", "4", estado, "10", value,
                     "2023-05-08T00:00:00.000"])
    return rows


def test_bad_rows_are_all_named_and_can_be_set_aside_to_fix(
    operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv
    import io

    assert main(["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]) == 0
    header = ["codigo", "nombre", "comuna", "estado", "avance_fisico", "valor_contrato",
              "fecha_inicio"]
    path = operator / "secop.csv"
    out = io.StringIO()
    csv.writer(out).writerows([header, *_secop_like_rows(60)])
    path.write_text(out.getvalue(), encoding="utf-8")
    capsys.readouterr()

    # All or nothing: every bad row is named, even past the 20 errors shown in full.
    assert main(["importar", "obras", str(path)]) == 1
    err = capsys.readouterr().err
    assert "El archivo tiene 22 errores" in err
    assert "Fila 2, columna «valor_contrato»: «$6,000,000,000,000,000,000» es demasiado " \
           "grande para un valor en pesos." in err
    assert "Filas con errores (22): 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, " \
           "32, 34, 36, 38, 40, 42, 45." in err
    assert err.rstrip().endswith("repita el comando con --omitir-filas-con-error.")
    assert _works(database_url) == []

    # The good rows go in; the bad ones wait in a CSV next to the file, with their errors.
    assert main(["importar", "obras", str(path), "--omitir-filas-con-error"]) == 0
    printed = capsys.readouterr().out
    assert "obras: 38 filas nuevas, 0 actualizadas, 0 sin cambios. 22 filas con errores " \
           "omitidas (2, 4, 6" in printed
    rejected = operator / "secop-filas-con-error.csv"
    assert f"Las 22 filas omitidas están en {rejected}" in printed
    works = _works(database_url)
    assert len(works) == 38
    assert ("CO1.PCCNTR.6", "Terminada", 10.0) in works  # «Liquidado»

    with rejected.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["error", *header]
    assert len(table) == 23
    assert table[1][0] == ("Fila 2, columna «valor_contrato»: «$6,000,000,000,000,000,000» "
                           "es demasiado grande para un valor en pesos.")
    assert table[1][1:] == [*_secop_like_rows(1)[0]]
    assert table[-1][0].startswith("Fila 45, columna «estado»: «Terminadísima» no es un "
                                   "estado conocido. ¿Quiso decir «Terminada»?")

    # Fixed there, the same file imports as it is.
    for row in table[1:]:
        row[6] = "$1,200,000"
        row[4] = row[4].replace("Terminadísima", "Terminada")
    out = io.StringIO()
    csv.writer(out).writerows(table)
    rejected.write_text(out.getvalue(), encoding="utf-8")
    assert main(["importar", "obras", str(rejected)]) == 0
    printed = capsys.readouterr().out
    assert "Aviso: Se ignoró la columna «error»." in printed
    assert "obras: 22 filas nuevas" in printed
    assert len(_works(database_url)) == 60


def test_missing_file_is_a_clear_message(
    operator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "obras", "no-existe.csv"]) == 1
    assert "No se pudo leer el archivo no-existe.csv" in capsys.readouterr().err


def test_file_problems_are_said_in_spanish(
    operator: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "obras", str(operator / "no-existe.csv")]) == 1
    assert capsys.readouterr().err.endswith("no-existe.csv: no existe.\n")
    assert main(["import", "obras", str(operator)]) == 1
    assert capsys.readouterr().err.endswith(": es una carpeta, no un archivo.\n")

    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    big = operator / "grande.csv"
    big.write_text(HEADER + ROWS[0] * 13_500, encoding="utf-8")
    assert main(["import", "obras", str(big)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("El archivo pesa 1,1 MB; el límite es 1 MB (MAX_UPLOAD_MB)")
    assert _works_count(operator) == 0


def _works_count(_: Path) -> int:
    return len(_works(os.environ["DATABASE_URL"]))


def test_a_report_in_two_files_imports_in_one_command(
    operator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures = Path(__file__).parent.parent / "storage" / "fixtures"
    programming = str(fixtures / "cuipo_c_programacion_gastos.xlsx")
    execution = str(fixtures / "cuipo_d_ejecucion_gastos.xlsx")
    assert main(["importar", "cuipo", programming]) == 1
    assert capsys.readouterr().err.startswith(
        "No se importó nada. Falta el informe D_EJECUCION_DE_GASTOS de CUIPO.")
    assert main(["importar", "cuipo", programming, execution]) == 0
    out = capsys.readouterr().out
    assert "cuipo: 6 filas nuevas, 0 actualizadas, 0 sin cambios." in out
    assert "Aviso: Se sumaron solo las filas de detalle" in out
    assert main(["importar", "cuipos", programming, execution]) == 1
    assert "¿Quiso decir «cuipo»?" in capsys.readouterr().err
    # Only the reports that come in several files take several.
    assert main(["importar", "obras", programming, execution]) == 1
    assert capsys.readouterr().err == (
        "No se importó nada. El tipo «obras» se importa de un archivo a la vez; solo «cuipo» y "
        "«plan_indicativo» reciben varios.\n")
