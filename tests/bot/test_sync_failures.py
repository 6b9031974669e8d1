"""`cabildo sincronizar secop` when datos.gov.co fails or the source, NIT or a row is wrong."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.sync import run_sync
from storage.db import Database
from storage.importers import ImportFailed
from storage.models import AuditEntry
from tests.bot.sync_support import (
    DATASET,
    NIT,
    OUTLIER,
    PARK,
    PROCESSES,
    WALL,
    Waits,
    client,
    content,
    outbox,
    recorded_rows,
    row,
    sync,
    works,
)
from tests.bot.sync_support import datos as datos  # a fixture: pytest looks for it here
from tests.utils.datos import CUT_PAGE, TOO_MANY, UNAVAILABLE, FakeDatosGov, Fault


async def test_429s_are_waited_out_and_a_malformed_page_imports_nothing(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    await sync(db, settings, datos)
    before = content(await works(db))
    rows = datos.datasets[DATASET]
    row(rows, PARK)["estado_contrato"] = "terminado"  # on page 1: read, then dropped
    row(rows, WALL)["estado_contrato"] = "terminado"
    datos.faults = [TOO_MANY, Fault(429, b"", {"Retry-After": "7"}), UNAVAILABLE]
    datos.fault_on_offset[4] = CUT_PAGE  # page 3 arrives cut in half
    waits = Waits()
    with pytest.raises(ImportFailed) as caught:
        await sync(db, settings, datos, waits=waits)
    assert str(caught.value) == (
        f"La página 3 del conjunto {DATASET} en {datos.url} llegó dañada: no es JSON (¿una "
        "página de error o una respuesta cortada?); intente más tarde."
    )
    assert waits.seconds == [0.0, 7.0, 2.0]  # Retry-After, then back-off (0.5 × 2²)
    assert content(await works(db)) == before
    async with db.session() as s:
        assert len((await s.exec(select(AuditEntry))).all()) == 2  # the first run only
    assert await outbox(db) == []
    # Once the source answers again, the same run goes through.
    report = await sync(db, settings, datos)
    assert report.changed == 2


async def test_a_source_that_hangs_is_timed_out_and_asked_again(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    # The timeout leaves room for a loaded 2-core machine to answer the other pages.
    datos.faults = [Fault(200, b"[]", delay=3.0)]
    waits = Waits()
    report = await run_sync(db, settings, "secop", NIT,
                            client=client(datos, waits, timeout=1.0))
    assert report.changed == 5 + 5  # works and processes
    assert waits.seconds == [0.5]  # one back-off, after the timeout


async def test_a_source_that_keeps_answering_429_gives_up_with_a_spanish_sentence(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    datos.faults = [TOO_MANY] * 5
    waits = Waits()
    with pytest.raises(ImportFailed) as caught:
        await sync(db, settings, datos, waits=waits)
    assert str(caught.value) == (
        f"datos.gov.co no entregó la página 1 del conjunto {DATASET} en {datos.url} tras 5 "
        "intentos; el último respondió 429 (demasiadas consultas). Intente más tarde. "
        "Configure DATOS_GOV_APP_TOKEN para tener un límite más alto."
    )
    assert len(waits.seconds) == 4
    assert await works(db) == {}


async def test_a_refused_query_and_an_unknown_nit_say_what_to_check(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    datos.faults = [Fault(400, b'{"code": "query.soql.no-such-column", "error": true, '
                               b'"message": "No such column: nit_entidad"}')]
    with pytest.raises(ImportFailed) as caught:
        await sync(db, settings, datos)
    assert str(caught.value) == (
        f"datos.gov.co rechazó la consulta al pedir la página 1 del conjunto {DATASET} en "
        f"{datos.url} (400: «No such column: nit_entidad»)."
    )
    datos.datasets[DATASET] = datos.datasets[PROCESSES] = []
    with pytest.raises(ImportFailed) as caught:
        await sync(db, settings, datos)
    assert str(caught.value) == (
        f"datos.gov.co no tiene filas de SECOP II para el NIT {NIT} con ese filtro "
        f"({DATASET}, {PROCESSES}). Revise el NIT: va sin puntos ni dígito de verificación, "
        "como 890201222."
    )
    assert await works(db) == {}


async def test_a_bad_row_in_the_source_stops_the_run_unless_bad_rows_are_skipped(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    datos.datasets[DATASET] = recorded_rows(outlier=True)
    with pytest.raises(ImportFailed) as caught:
        await sync(db, settings, datos)
    assert "«6000000000000000000» es demasiado grande para un valor en pesos" in str(
        caught.value)
    assert caught.value.rows_only
    assert await works(db) == {}
    report = await run_sync(db, settings, "secop", NIT, client=client(datos),
                            skip_bad_rows=True)
    text = report.text(settings.locale)
    assert "→ obras: 5 nuevas, 0 con cambios, 0 sin cambios." in text
    assert "Filas de la fuente con errores, que no se importaron (1):" in text
    assert OUTLIER not in await works(db)


async def test_an_unknown_source_or_a_nit_that_is_no_number_asks_nothing(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    with pytest.raises(ImportFailed) as caught:
        await run_sync(db, settings, "secopp", NIT, client=client(datos))
    assert str(caught.value) == (
        "No conozco la fuente «secopp». Las fuentes que se pueden sincronizar son: secop."
    )
    with pytest.raises(ImportFailed) as caught:
        await run_sync(db, settings, "secop", "1' OR '1'='1", client=client(datos))
    assert str(caught.value) == "El NIT debe tener solo números (se leyó «1' OR '1'='1»)."
    assert datos.requests == []
