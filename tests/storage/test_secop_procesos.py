"""SECOP II processes (datos.gov.co `p6dx-8zbt`) imported as published: the API's CSV and
JSON (field names) and the portal's «Exportar → CSV» (titles), with their ugly parts.

The fixtures (written by `fixtures/make_secop_procesos.py`) have the 59 columns of the
dataset's dictionary in its order, and what a real extract holds: one process in three rows
(two lots, and the awarded lot once more per award), SECOP's statuses (`Publicado`,
`Evaluación`, `Seleccionado`, `Desierto`, `Borrador`), a process still under comments, a
6×10¹⁸-peso base price, a name in two lines, `$450,000` and `09/21/2026 12:00:00 AM` in
the portal export, `{"url": …}` in the JSON.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.importers import ImportFailed, ImportResult, import_bytes
from storage.models import ContractingProcess, Work
from tests.storage.helpers import TZ

FIXTURES = Path(__file__).parent / "fixtures"
ADMIN = 1000


async def _import(db: Database, name: str, data: bytes | None = None, *,
                  skip: bool = True) -> ImportResult:
    async with db.session() as session:
        return await import_bytes(session, "secop_procesos",
                                  data if data is not None else (FIXTURES / name).read_bytes(),
                                  name, tz=TZ, skip_bad_rows=skip)


async def _processes(db: Database) -> dict[str, ContractingProcess]:
    async with db.session() as s:
        return {p.numero_proceso: p for p in (await s.exec(select(ContractingProcess))).all()}


def _content(rows: dict[str, ContractingProcess]) -> dict[str, dict[str, Any]]:
    return {k: p.model_dump(exclude={"id", "updated_at"}) for k, p in rows.items()}


async def test_one_row_per_process_with_cabildos_stages(db: Database) -> None:
    result = await _import(db, "secop_procesos_api.csv")
    assert result.summary() == (
        "secop_procesos: 5 filas nuevas, 0 actualizadas, 0 sin cambios. "
        "1 fila con errores omitida (11)."
    )
    assert result.warnings == [
        "Se ignoraron 46 columnas de SECOP II (p6dx-8zbt) que Cabildo no usa.",
        "Se dejaron de lado 2 filas: 1 en fase «Presentación de observaciones» (aún no "
        "reciben ofertas), 1 en estado «Borrador».",
        "Procesos que venían en varias filas (lotes o adjudicaciones) y quedaron en una: 1. "
        "Su valor suma sus lotes y su estado es el del lote más atrasado.",
    ]
    assert [str(e) for e in result.skipped.errors] == [  # type: ignore[union-attr]
        "Fila 11, columna «precio_base»: «6000000000000000000.000000» es demasiado grande "
        "para un valor en pesos."
    ]
    rows = await _processes(db)
    assert {k: (p.estado, p.modalidad, p.valor) for k, p in rows.items()} == {
        "SI-LP-012-2026": ("Abierto", "Licitación pública", Decimal("6680000000.00")),
        "SI-LP-009-2026": ("En evaluación", "Licitación pública", Decimal("12680000000.00")),
        # Two lots (150 + 95 millones), the first repeated per award; one lot is still
        # being evaluated, so the process is.
        "SI-SAMC-021-2026": ("En evaluación", "Selección abreviada", Decimal("245000000.00")),
        "SE-MC-044-2026": ("Adjudicado", "Mínima cuantía", Decimal("450000.00")),
        "SP-CM-003-2026": ("Desierto", "Concurso de méritos", Decimal("890000000.00")),
    }
    lights = rows["SI-SAMC-021-2026"]
    assert (lights.fecha_apertura, lights.fecha_cierre) == (date(2026, 7, 8), date(2026, 7, 29))
    paving = rows["SI-LP-012-2026"]
    assert paving.objeto == "PAVIMENTACIÓN DE VÍAS EN LOS BARRIOS LIZCANO Y FONTANA"
    assert (paving.fecha_apertura, paving.fecha_cierre) == (date(2026, 9, 21), date(2026, 10, 26))
    assert paving.dependencia == "SECRETARIA DE INFRAESTRUCTURA"
    # Its card says where it came from («Fuente: SECOP II, actualizado el …»).
    assert (paving.fuente, paving.fuente_conjunto, paving.fuente_id) == (
        "SECOP II", "p6dx-8zbt", "SI-LP-012-2026")
    assert paving.enlace_secop == ("https://community.secop.gov.co/Public/Tendering/"
                                   "OpportunityDetail/Index?noticeUID=CO1.NTC.7014086")
    # No selection phase: the process's own publication is its opening.
    assert rows["SE-MC-044-2026"].fecha_apertura == date(2026, 6, 2)


async def test_the_portal_export_and_the_api_json_give_the_same_processes(db: Database) -> None:
    await _import(db, "secop_procesos_api.csv")
    from_api = _content(await _processes(db))
    for name in ("secop_procesos_portal.csv", "secop_procesos_api.json"):
        result = await _import(db, name)
        assert (result.created, result.updated, result.unchanged) == (0, 0, 5), name
        assert _content(await _processes(db)) == from_api, name


async def test_without_skipping_an_outlier_changes_nothing(db: Database) -> None:
    with pytest.raises(ImportFailed) as caught:
        await _import(db, "secop_procesos_api.csv", skip=False)
    assert [e.row for e in caught.value.errors] == [11]
    assert await _processes(db) == {}


async def test_a_lot_with_an_error_keeps_its_whole_process_out(db: Database) -> None:
    data = (FIXTURES / "secop_procesos_api.csv").read_text(encoding="utf-8")
    # The second lot's base price is unreadable: the process would be understated.
    data = data.replace(",95000000.000000,", ",noventa y cinco millones,", 1)
    result = await _import(db, "secop_procesos.csv", data.encode())
    errors = [str(e) for e in result.skipped.errors]  # type: ignore[union-attr]
    assert errors[0] == (
        "Fila 4, columna «referencia_del_proceso»: «SI-SAMC-021-2026» tiene otra fila con "
        "errores (fila 5); corríjala para importarlo completo."
    )
    assert errors[1].startswith("Fila 5, columna «precio_base»: «noventa y cinco millones»")
    assert "SI-SAMC-021-2026" not in await _processes(db)


async def test_an_unknown_status_or_phase_is_a_row_error_that_says_what_to_do(
    db: Database,
) -> None:
    data = (FIXTURES / "secop_procesos_api.csv").read_text(encoding="utf-8")
    data = data.replace(",Desierto,", ",Desiertísimo,", 1).replace(
        "Presentación de oferta,2026-09-14", "Negociación,2026-09-14", 1)
    with pytest.raises(ImportFailed) as caught:
        await _import(db, "secop_procesos.csv", data.encode(), skip=False)
    messages = [str(e) for e in caught.value.errors]
    assert messages[0] == (
        "Fila 2, columna «fase»: la fase «Negociación» de un proceso «Publicado» no se sabe "
        "leer. Agréguela a «fases_de_ofertas» o «fases_previas» en "
        "storage/data/fuentes/secop_procesos.yaml."
    )
    assert messages[1] == (
        "Fila 8, columna «estado_del_procedimiento»: «Desiertísimo» no es un estado conocido. "
        "¿Quiso decir «Desierto»? Los estados son: «Abierto», «En evaluación», «Adjudicado», "
        "«Celebrado», «Desierto», «Cancelado»."
    )
    assert await _processes(db) == {}


async def test_staff_import_processes_in_telegram_and_citizens_see_them(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    # The open process closes in a month from today, whenever the test runs.
    closes = (date.today() + timedelta(days=30)).isoformat()
    data = (FIXTURES / "secop_procesos_api.json").read_text(encoding="utf-8").replace(
        '"2026-10-26T00:00:00.000"', f'"{closes}T00:00:00.000"')
    admin = api.user(ADMIN)
    admin.send_document("p6dx-8zbt.json", data.encode(),
                        caption="/importar secop_procesos omitir")
    [skipped] = await api.wait_for("sendDocument", chat_id=ADMIN)
    [done] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert done.params["text"].startswith(
        "✅ Importación completa: secop_procesos: 5 filas nuevas, 0 actualizadas, 0 sin "
        "cambios. 1 fila con errores omitida (11).")
    assert "quedaron en una: 1." in done.params["text"]
    assert "filas que no se importaron" in skipped.params["caption"]
    citizen = api.user(7302)
    citizen.send_text("/contratacion")
    [intro] = await api.wait_for("sendMessage", chat_id=7302)
    text = intro.params["text"]
    assert "Reciben ofertas: 1\n• Licitación pública: 1" in text
    assert "En evaluación: 2\n" in text
    assert "Adjudicados: 1" in text
    assert "Desiertos, cancelados u otros: 1" in text


async def test_execution_plans_as_api_csv_or_json_set_the_same_progress(db: Database) -> None:
    seen = []
    # The JSON API leaves out a field empty in every row (referencia_de_articulos).
    for name, unused in (("secop_ejecucion_api.csv", 14), ("secop_ejecucion_api.json", 13)):
        async with db.session() as session:
            await import_bytes(session, "secop_contratos",
                               (FIXTURES / "secop_contratos_api.csv").read_bytes(),
                               "contratos.csv", tz=TZ, skip_bad_rows=True)
            result = await import_bytes(session, "secop_ejecucion",
                                        (FIXTURES / name).read_bytes(), name, tz=TZ)
        async with db.session() as s:
            seen.append({w.codigo: w.avance_fisico
                         for w in (await s.exec(select(Work))).all()})
        assert result.warnings[0] == (
            f"Se ignoraron {unused} columnas de SECOP II (mfmm-jqmq) que Cabildo no usa.")
        async with db.session() as s:  # start again from works without progress
            for work in (await s.exec(select(Work))).all():
                work.avance_fisico = None
                s.add(work)
            await s.commit()
    assert seen[0] == seen[1]
    assert seen[0]["CO1.PCCNTR.4913416"] == 62.5
