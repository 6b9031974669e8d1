"""The example data (storage/sample) can be regenerated from source-shaped exports.

`storage/sample/fuentes/` holds the example's works, processes, budget and goals as SECOP II,
CUIPO and the DNP's planning kit publish them (written once by `generar.py` there);
`python -m storage.sample_sources` imports them through the importers of `cabildo importar`
and writes the example CSVs back.

What is compared: each regenerated file and the committed one are both read by the importer
of their kind (`parse_table`, each comuna resolved to the comuna it names) and compared key
by key and field by field. So `4850000000` and `4850000000.00`, `Norte` and `1`, `7.1290`
and `7.129` are the same; a different value, a missing or an extra row is not.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from storage.demo import SAMPLE_DIR
from storage.importers import cuipo
from storage.sample_sources import OUTPUTS, SOURCES_DIR, differences, main, regenerate


def _count(path: Path) -> int:
    return len(list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")))))


async def test_the_example_works_processes_budget_and_goals_come_back_from_the_sources(
    tmp_path: Path,
) -> None:
    results = await regenerate(tmp_path)

    for kind in OUTPUTS:
        assert differences(kind, tmp_path / f"{kind}.csv") == [], kind
        assert _count(tmp_path / f"{kind}.csv") == _count(SAMPLE_DIR / f"{kind}.csv"), kind
    # What staff read after each import: the source rows that are no work, drafts, other
    # years' budget and total rows are left out and said, never counted in.
    summaries = [r.summary() for r in results]
    assert summaries == [
        "comunas: 20 filas nuevas, 0 actualizadas, 0 sin cambios.",
        "secop_contratos: 60 filas nuevas, 0 actualizadas, 0 sin cambios.",
        "obras: 6 filas nuevas, 0 actualizadas, 0 sin cambios.",
        "secop_ejecucion: 0 filas nuevas, 60 actualizadas, 0 sin cambios.",
        "ubicaciones: 0 filas nuevas, 60 actualizadas, 0 sin cambios.",
        "secop_procesos: 20 filas nuevas, 0 actualizadas, 0 sin cambios.",
        "cuipo: 22 filas nuevas, 0 actualizadas, 0 sin cambios.",
        "plan_indicativo: 57 filas nuevas, 0 actualizadas, 0 sin cambios.",
    ]
    warnings = [w for r in results for w in r.warnings]
    assert "Se dejaron de lado 2 filas: 1 de tipo «Prestación de servicios», 1 en estado " \
           "«Cancelado»." in warnings
    assert "Se dejaron de lado 1 fila: 1 en estado «Borrador»." in warnings
    assert "Se dejaron de lado 1 filas de vigencias anteriores (reservas y cuentas por " \
           "pagar)." in warnings
    assert not [w for w in warnings if "no es la suma de sus filas de detalle" in w]


def _edit_json(name: str, match: Callable[[dict[str, Any]], bool], field: str,
               value: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        records = json.loads(path.read_text(encoding="utf-8"))
        [record] = [r for r in records if match(r)]
        record[field] = value
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return edit


def _follow_up_progress(folder: Path) -> None:
    path = folder / "seguimiento_plan_indicativo.xlsx"
    book = load_workbook(path)
    sheet = book.active
    titles = [c.value for c in sheet[5]]
    row = next(r for r in sheet.iter_rows(min_row=6) if r[titles.index("codigo")].value
               == "L1-P02-M01")
    row[titles.index("avance_2026")].value = "95,1"
    book.save(path)


@pytest.mark.parametrize(("edit", "kind", "expected"), [
    (_edit_json("secop_ejecucion.json",
                lambda r: r["identificadorcontrato"] == "OB-2026-001"
                and r.get("porcentaje_de_avance_real") == "62", "porcentaje_de_avance_real",
                "61"),
     "obras", "OB-2026-001: avance_fisico es 61.0, en sample/obras.csv 62.0"),
    (_edit_json("secop_procesos.json",
                lambda r: r["referencia_del_proceso"] == "SI-LP-012-2026"
                and r["id_del_proceso"].endswith("02"), "precio_base", "3500000000.000000"),
     "contratacion",
     "SI-LP-012-2026: valor es 6620000000.00, en sample/contratacion.csv 6680000000.00"),
    (_follow_up_progress, "metas", "L1-P02-M01: avance es 95.1, en sample/metas.csv 96.1"),
], ids=["ejecucion", "procesos", "seguimiento"])
async def test_a_value_changed_in_a_source_export_is_a_difference(
    tmp_path: Path, edit: Callable[[Path], None], kind: str, expected: str,
) -> None:
    sources = shutil.copytree(SOURCES_DIR, tmp_path / "fuentes")
    edit(sources)

    await regenerate(tmp_path / "salida", sources=sources)

    assert differences(kind, tmp_path / "salida" / f"{kind}.csv") == [expected]


async def test_a_changed_mapping_is_a_difference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The MGA sector «05» of the central administration given to another office.
    mapping = tmp_path / "cuipo_dependencias.yaml"
    mapping.write_text(cuipo.MAPPING_FILE.read_text(encoding="utf-8").replace(
        '"05": Secretaría Administrativa', '"05": Secretaría de Hacienda'), encoding="utf-8")
    monkeypatch.setattr(cuipo, "MAPPING_FILE", mapping)

    await regenerate(tmp_path / "salida")

    found = differences("presupuesto", tmp_path / "salida" / "presupuesto.csv")
    assert "2026|Secretaría Administrativa|Inversión: solo en sample/presupuesto.csv" in found
    assert ("2026|Secretaría de Hacienda|Inversión: apropiacion_definitiva es 22340000000.00, "
            "en sample/presupuesto.csv 12500000000.00") in found


def test_the_command_says_each_file_matches_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "salida")]) == 0

    out = capsys.readouterr().out
    assert "secop_contratos: 60 filas nuevas, 0 actualizadas, 0 sin cambios." in out
    for kind in OUTPUTS:
        assert f"{tmp_path}/salida/{kind}.csv: igual que storage/sample/{kind}.csv" in out


def _command_with(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, old: str,
                  new: str) -> tuple[int, str, str]:
    """Run the command on a copy of the exports where one text file has `old` replaced by
    `new`; return its exit code, output and error output."""
    sources = shutil.copytree(SOURCES_DIR, tmp_path / "fuentes")
    path = sources / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    code = main([str(tmp_path / "salida"), "--fuentes", str(sources)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_lists_what_differs_and_exits_with_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _command_with(
        tmp_path, capsys, "obras_nombres.csv",
        "OB-2026-001,Pavimentación de la Calle 7N en el barrio Kennedy",
        "OB-2026-001,Pavimentación de la Calle 7N")

    assert code == 1
    assert (f"{tmp_path}/salida/obras.csv: 1 diferencia con storage/sample/obras.csv\n"
            "  OB-2026-001: nombre es Pavimentación de la Calle 7N, en sample/obras.csv "
            "Pavimentación de la Calle 7N en el barrio Kennedy\n") in out
    assert f"{tmp_path}/salida/metas.csv: igual que storage/sample/metas.csv" in out


def test_an_export_that_does_not_import_is_said_in_spanish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _command_with(
        tmp_path, capsys, "secop_contratos.csv", ",OB-2026-001,CTO-001-2026,En ejecución,",
        ",OB-2026-001,CTO-001-2026,Terminadísima,")

    assert code == 1
    assert err.startswith("No se regeneraron los datos de ejemplo. ")
    assert "Fila 2, columna «estado_contrato»: «Terminadísima» no es un estado" in err
    assert not (tmp_path / "salida" / "obras.csv").exists()
