"""Regenerate the example data from the source-shaped exports in `storage/sample/fuentes/`.

    python -m storage.sample_sources [carpeta] [--fuentes carpeta-de-exportaciones]

Imports the exports, as staff would (SECOP II contracts, their execution plans, the filled
«obras sin comuna» file, SECOP II processes, CUIPO, the plan indicativo with its follow-up),
into a throwaway SQLite database through the same functions as `cabildo importar`, and
writes `obras.csv`, `contratacion.csv`, `presupuesto.csv` and `metas.csv` to the folder
with the open data's writer, in the example's column order. Then it says, per file, whether
it holds what `storage/sample/` holds (compared as the importers read both files).

What no source carries comes from two files of the Alcaldía beside the exports:
`obras_en_contratacion.csv` (an ordinary `obras` file: works with no contract in SECOP yet)
and `obras_nombres.csv` (the short names staff give SECOP's works, whose name on import is
the contract's object).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.exports import to_csv
from storage.importers import (
    ImportFailed,
    ImportResult,
    import_files,
    parse_table,
    resolve_comunas,
)
from storage.importers.comunas import ComunaRef
from storage.importers.parsing import key_text
from storage.migrate import upgrade
from storage.opendata import columns, dataset_rows

SOURCES_DIR = SAMPLE_DIR / "fuentes"
TZ = ZoneInfo("America/Bogota")
# What is imported, in order (kind, files): comunas first, the works' contracts before their
# execution and places.
IMPORTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("secop_contratos", ("secop_contratos.csv",)),
    ("obras", ("obras_en_contratacion.csv",)),
    ("secop_ejecucion", ("secop_ejecucion.json",)),
    ("ubicaciones", ("ubicaciones.csv",)),
    ("secop_procesos", ("secop_procesos.json",)),
    ("cuipo", ("cuipo_c_programacion_gastos.xlsx", "cuipo_d_ejecucion_gastos.xlsx")),
    ("plan_indicativo", ("kpt_plan_indicativo.xlsx", "seguimiento_plan_indicativo.xlsx")),
)
# The example files written back (each is an import kind).
OUTPUTS = ("obras", "contratacion", "presupuesto", "metas")
NAMES_FILE = "obras_nombres.csv"


def _read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


async def regenerate(
    folder: Path, *, sources: Path = SOURCES_DIR, sample: Path = SAMPLE_DIR
) -> list[ImportResult]:
    """Import the exports in `sources` into a new SQLite database and write the example
    CSVs to `folder`; return what each import did. Raises `ImportFailed` as an import would.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{scratch}/muestra.db"
        await asyncio.to_thread(upgrade, url)
        database = Database(url)
        try:
            async with database.session() as session:
                results = [await import_files(session, "comunas", [sample / "comunas.csv"],
                                              tz=TZ)]
                for kind, names in IMPORTS:
                    results.append(await import_files(
                        session, kind, [sources / name for name in names], tz=TZ))
                tables = {kind: await dataset_rows(session, kind) for kind in OUTPUTS}
        finally:
            await database.dispose()
    short_names = {row["codigo"]: row["nombre"] for row in _read_csv(sources / NAMES_FILE)}
    for kind, rows in tables.items():
        header = next(csv.reader(io.StringIO((sample / f"{kind}.csv").read_text("utf-8-sig"))))
        ordered = _in_order(kind, header, rows, short_names)
        (folder / f"{kind}.csv").write_bytes(to_csv(header, ordered))
    return results


def _in_order(kind: str, header: list[str], rows: list[list[Any]],
              names: dict[str, str]) -> list[list[Any]]:
    """Return the open data's rows in the example's column order (SECOP works named)."""
    position = [columns(kind).index(name) for name in header]
    ordered = [[row[i] for i in position] for row in rows]
    if kind == "obras":
        code, name = header.index("codigo"), header.index("nombre")
        for row in ordered:
            row[name] = names.get(row[code], row[name])
    return ordered


def _comunas(sample: Path) -> list[ComunaRef]:
    table = parse_table("comunas", (sample / "comunas.csv").read_bytes(), "comunas.csv", tz=TZ)
    return [ComunaRef(number, row.values["codigo"], row.values["nombre"])
            for number, row in enumerate(table.rows, start=1)]


def read_as_imported(kind: str, path: Path, comunas: list[ComunaRef]) -> dict[Any, dict[str,
                                                                                          Any]]:
    """Return a file's rows as the `kind` import reads them: key → field → value (a comuna
    as the comuna it names, numbers as numbers, dates as dates)."""
    table = parse_table(kind, path.read_bytes(), path.name, tz=TZ)
    resolve_comunas(table, comunas)
    if table.errors:
        raise ValueError(f"{path}: {table.errors[0]}")
    return {row.key: row.values for row in table.rows}


def differences(kind: str, regenerated: Path, sample: Path = SAMPLE_DIR) -> list[str]:
    """Return how a regenerated example file differs from the sample's (empty: the same)."""
    comunas = _comunas(sample)
    ours = read_as_imported(kind, regenerated, comunas)
    theirs = read_as_imported(kind, sample / f"{kind}.csv", comunas)
    where = f"{sample.name}/{kind}.csv"
    found = [f"{key_text(key)}: solo en {where}" for key in theirs if key not in ours]
    found += [f"{key_text(key)}: no está en {where}" for key in ours if key not in theirs]
    for key in sorted(theirs.keys() & ours.keys()):
        for field in sorted(theirs[key].keys() | ours[key].keys()):
            if theirs[key].get(field) != ours[key].get(field):
                found.append(f"{key_text(key)}: {field} es {ours[key].get(field)}, en {where} "
                             f"{theirs[key].get(field)}")
    return found


def main(argv: list[str] | None = None) -> int:
    """Regenerate the example CSVs into a folder and compare them with the shipped ones."""
    parser = argparse.ArgumentParser(
        prog="python -m storage.sample_sources",
        description="Regenera los datos de ejemplo (obras, contratación, presupuesto, metas) "
                    "importando las exportaciones de las fuentes de storage/sample/fuentes.")
    parser.add_argument("carpeta", nargs="?", default="muestra-regenerada",
                        help="dónde escribir los CSV (por defecto, muestra-regenerada)")
    parser.add_argument("--fuentes", default=str(SOURCES_DIR),
                        help="la carpeta de las exportaciones (por defecto, "
                             "storage/sample/fuentes)")
    args = parser.parse_args(argv)
    folder = Path(args.carpeta)
    try:
        results = asyncio.run(regenerate(folder, sources=Path(args.fuentes)))
    except ImportFailed as exc:
        print(f"No se regeneraron los datos de ejemplo. {exc}", file=sys.stderr)
        return 1
    for result in results:
        for warning in result.warnings:
            print(f"Aviso: {warning}")
        print(result.summary())
    same = True
    for kind in OUTPUTS:
        found = differences(kind, folder / f"{kind}.csv")
        same = same and not found
        noun = "diferencia" if len(found) == 1 else "diferencias"
        state = "igual que" if not found else f"{len(found)} {noun} con"
        print(f"{folder / kind}.csv: {state} storage/sample/{kind}.csv")
        for line in found[:20]:
            print(f"  {line}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
