"""The database side of an import: stored values kept, rollback, queries, skipped rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.importers import Change, ImportFailed, import_bytes, parse_table
from storage.importers.core import Changes
from storage.models import Work
from tests.storage.helpers import TZ, csv_bytes, run_import, seed_comunas, table_contents
from tests.storage.importer_support import (
    EN,
    FIVE_WORKS,
    WORK_HEADER,
    expect_failure,
    works_by_code,
    works_csv,
)


async def test_column_absent_from_the_file_keeps_stored_values(db: Database) -> None:
    await seed_comunas(db)
    header = [*WORK_HEADER, "contratista"]
    await run_import(db, "obras", csv_bytes([header, ["OB-1", "Obra", "4", EN, "1", "ACME"]]), "a")
    result = await run_import(db, "obras", works_csv(["OB-1", "Obra", "4", EN, "2"]), "b")
    assert result.changes == [Change("OB-1", "avance_fisico", 1.0, 2.0)]
    assert (await works_by_code(db))["OB-1"].contratista == "ACME"
    result = await run_import(
        db, "obras", csv_bytes([header, ["OB-1", "Obra", "4", EN, "2", ""]]), "c"
    )
    assert result.changes == [Change("OB-1", "contratista", "ACME", None)]

async def test_an_empty_progress_or_comuna_makes_a_new_work_unreported_or_sin_ubicar(
    db: Database,
) -> None:
    await seed_comunas(db)
    rows = [["OB-1", "Parque", "", EN, "10"], ["OB-2", "Vía", "4", EN, ""],
            ["OB-3", "Colegio", "", EN, ""]]

    result = await run_import(db, "obras", works_csv(*rows), "obras.csv")

    assert result.created == 3
    assert result.warnings == [
        "2 filas nuevas con «comuna» vacía: «sin ubicar»: no aparece en el mapa ni en las "
        "listas por comuna hasta que se complete su comuna (/panel da el archivo para hacerlo).",
        "2 filas nuevas con «avance_fisico» vacía: sin avance físico reportado: se muestra "
        "«no reportado».",
    ]
    works = await works_by_code(db)
    assert [(w.comuna_id is None, w.avance_fisico) for w in works.values()] == [
        (True, 10.0), (False, None), (True, None)]
    again = await run_import(db, "obras", works_csv(*rows), "obras.csv")
    assert (again.created, again.updated, again.unchanged, again.warnings) == (0, 0, 3, [])


async def test_an_empty_cell_never_erases_a_stored_progress_or_comuna(db: Database) -> None:
    await seed_comunas(db)
    await run_import(db, "obras", works_csv(*FIVE_WORKS), "obras.csv")
    before = await table_contents(db, Work)
    rows = [list(r) for r in FIVE_WORKS]
    rows[0][4] = ""  # OB-1 reported 45,3 %
    rows[1][2] = ""  # OB-2 is in comuna 4

    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")

    assert [str(e) for e in failure.errors] == [
        "Fila 2, columna «avance_fisico»: está vacía, pero «OB-1» ya tiene «avance_fisico» y "
        "una celda vacía no lo borra; escriba el valor.",
        "Fila 3, columna «comuna»: está vacía, pero «OB-2» ya tiene «comuna» y una celda "
        "vacía no lo borra; escriba el valor.",
    ]
    assert await table_contents(db, Work) == before


async def test_database_error_rolls_back_without_leaking_sql(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_comunas(db)
    async with db.session() as session:

        async def failing_flush() -> None:  # the import's last write, refused
            raise IntegrityError("INSERT INTO work (codigo) VALUES (?)", {}, Exception("boom"))

        monkeypatch.setattr(session, "flush", failing_flush)
        with pytest.raises(ImportFailed) as caught:
            await import_bytes(session, "obras", works_csv(*FIVE_WORKS), "obras.csv", tz=TZ)
    text = str(caught.value)
    assert "No se guardó nada" in text
    assert "INSERT" not in text and "work" not in text
    assert await table_contents(db, Work) == []


async def test_import_uses_one_select_per_table(db: Database) -> None:
    await seed_comunas(db)
    rows = [[f"OB-{i}", f"Obra {i}", str(i % 17 + 1), EN, "10"] for i in range(300)]
    data = works_csv(*rows)
    await run_import(db, "obras", data, "obras.csv")
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        result = await run_import(db, "obras", data.replace(b",10\r\n", b",11\r\n"), "obras.csv")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert result.updated == 300
    assert len(selects) == 2  # comunas, then works


def test_parsing_needs_no_database() -> None:
    table = parse_table("obras", works_csv(*FIVE_WORKS), "obras.csv", tz=TZ)
    assert [row.key for row in table.rows] == [
        ("OB-1",),
        ("OB-2",),
        ("OB-3",),
        ("OB-4",),
        ("OB-5",),
    ]
    assert [row.comuna for row in table.with_comuna] == [
        "4", "Occidental", "Comuna 1 - Norte", "C1", "centro"
    ]  # fmt: skip
    assert table.errors == []

async def test_skipping_bad_rows_leaves_out_every_row_with_an_error(db: Database) -> None:
    await seed_comunas(db)
    rows = [
        ["OB-1", "Obra", "4", EN, "10"],
        ["OB-2", "Obra", "Narnia", EN, "10"],  # found unknown only against the database
        ["OB-1", "Otra", "4", EN, "10"],  # repeats the key of row 2
        ["OB-3", "Obra", "4", "Terminadísima", "10"],
        ["OB-4", "Obra", "4", EN, "10"],
    ]
    async with db.session() as session:
        result = await import_bytes(
            session, "obras", works_csv(*rows), "obras.csv", tz=TZ, skip_bad_rows=True
        )
    assert result.created_keys == ["OB-1", "OB-4"]
    assert result.skipped is not None and result.skipped.rows == [3, 4, 5]
    assert sorted(await works_by_code(db)) == ["OB-1", "OB-4"]
    # A problem of the file itself still changes nothing.
    with pytest.raises(ImportFailed) as caught:
        async with db.session() as session:
            await import_bytes(session, "obras", csv_bytes([["codigo"], ["OB-9"]]), "o.csv",
                               tz=TZ, skip_bad_rows=True)
    assert not caught.value.rows_only
    assert sorted(await works_by_code(db)) == ["OB-1", "OB-4"]


def test_an_imports_changes_read_as_change_records() -> None:
    changes = Changes([Change("OB-1", "estado", "Contratada", "En ejecución")])
    changes.add("OB-2", "avance_fisico", None, 12.5)
    assert changes == [Change("OB-1", "estado", "Contratada", "En ejecución"),
                       Change("OB-2", "avance_fisico", None, 12.5)]
    assert changes[1] == Change("OB-2", "avance_fisico", None, 12.5)
    assert changes[:1] == [Change("OB-1", "estado", "Contratada", "En ejecución")]
    assert len(changes) == 2 and not Changes()
    assert [c.key for c in changes] == ["OB-1", "OB-2"]
