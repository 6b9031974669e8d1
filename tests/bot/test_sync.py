"""`cabildo sincronizar secop`: what a run stores, reports and alerts, and the command."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.cli import main
from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from bot.sync import run_sync
from storage.db import Database
from storage.importers import ImportFailed
from storage.models import AuditEntry, ContractingProcess, Subscription, Work
from storage.privacy import give_consent
from storage.summary import week_data
from storage.types import utcnow
from tests.bot.sync_support import (
    BRIDGE,
    DATASET,
    DRAFT,
    NIT,
    PARK,
    PROCESSES,
    ROAD,
    WALL,
    client,
    content,
    outbox,
    recorded_processes,
    recorded_rows,
    row,
    sync,
    works,
)
from tests.bot.sync_support import datos as datos  # a fixture: pytest looks for it here
from tests.utils.datos import FakeDatosGov, Fault, serving_in_thread

# What the processes' part of a report says when none of them changed.
PROCESSES_UNCHANGED = [
    f"{PROCESSES}: 9 filas leídas en 5 páginas → contratacion: 0 nuevas, 0 con cambios, "
    "5 sin cambios.",
    "Aviso: Se dejaron de lado 2 filas: 1 en fase «Presentación de observaciones» (aún no "
    "reciben ofertas), 1 en estado «Borrador».",
    "Aviso: Procesos que venían en varias filas (lotes o adjudicaciones) y quedaron en una: "
    "1. Su valor suma sus lotes y su estado es el del lote más atrasado.",
]


async def test_first_run_pages_through_the_api_and_reports_the_new_works(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    report = await run_sync(db, settings, "secop", NIT,
                            client=client(datos, app_token="abcDEF123token"))
    assert report.text(settings.locale).splitlines()[:8] == [
        f"Sincronización con SECOP II (NIT {NIT}), datos.gov.co:",
        "jbjy-vk9h: 6 filas leídas en 4 páginas → obras: 5 nuevas, 0 con cambios, "
        "0 sin cambios.",
        "Nuevas:",
        f"• {BRIDGE} «ADECUACIÓN DEL POLIDEPORTIVO DEL BARRIO MUTIS»",
        f"• {PARK} «MEJORAMIENTO DEL PARQUE DEL BARRIO KENNEDY»",
        f"• {ROAD} «CONSTRUCCIÓN DE LA PLACA HUELLA Y OBRAS DE DRENAJE EN LA VEREDA LOS S…»",
        f"• {WALL} «CONSTRUCCIÓN DEL MURO DE CONTENCIÓN EN EL BARRIO MORRORICO»",
        f"• {DRAFT} «ANDENES DE LA CALLE 45»",
    ]
    assert report.text(settings.locale).splitlines()[8:10] == [
        "Aviso: Se dejaron de lado 1 fila: 1 en estado «Cancelado».",
        "Aviso: 5 obras nuevas llegaron «sin ubicar»: SECOP no publica la comuna, la "
        "dirección, las coordenadas ni el avance físico. No aparecen en las listas por comuna "
        "ni en el mapa hasta que se complete su comuna: /panel da el archivo para escribirla "
        "(«/importar ubicaciones»). Una nueva importación de SECOP no borra lo que se complete.",
    ]
    assert sorted(await works(db)) == sorted([PARK, ROAD, BRIDGE, WALL, DRAFT])
    # What was asked: the NIT's works, in a stable order, page after page, with the token.
    assert [r.path for r in datos.requests] == (
        [f"/resource/{DATASET}.json"] * 4 + [f"/resource/{PROCESSES}.json"] * 5)
    assert [(r.params["$limit"], r.params["$offset"]) for r in datos.requests[:4]] == [
        ("2", "0"), ("2", "2"), ("2", "4"), ("2", "6")]
    first = datos.requests[0]
    assert first.params["$where"] == f"nit_entidad = '{NIT}' AND tipo_de_contrato = 'Obra'"
    assert first.params["$order"] == "id_contrato"
    # Only the fields the mapping reads: no personal data travels.
    assert first.params["$select"].split(",")[:3] == [
        "id_contrato", "objeto_del_contrato", "estado_contrato"]
    assert "nombre_representante_legal" not in first.params["$select"]
    assert first.headers["X-App-Token"] == "abcDEF123token"
    # Provenance: SECOP II, the dataset, the contract's id there, and when.
    park = (await works(db))[PARK]
    assert (park.fuente, park.fuente_conjunto, park.fuente_id) == ("SECOP II", DATASET, PARK)
    assert park.importado_at is not None
    # The audit log keeps it as an import, so the weekly summary sees the new works.
    async with db.session() as s:
        [entry, _processes] = (await s.exec(select(AuditEntry))).all()
        week = await week_data(s, end=utcnow())
    assert entry.action == "importar" and entry.detail["sincronizacion"] == {
        "fuente": "secop", "nit": NIT, "filas": 6, "paginas": 4}
    assert sorted(w.codigo for w in week.new_works) == sorted(
        [PARK, ROAD, BRIDGE, WALL, DRAFT])


async def processes(db: Database) -> dict[str, ContractingProcess]:
    async with db.session() as s:
        return {p.numero_proceso: p for p in (await s.exec(select(ContractingProcess))).all()}


async def test_one_sync_brings_the_works_and_the_processes_of_the_entity(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    report = await sync(db, settings, datos)

    assert report.text(settings.locale).splitlines()[10:17] == [
        f"{PROCESSES}: 9 filas leídas en 5 páginas → contratacion: 5 nuevas, 0 con cambios, "
        "0 sin cambios.",
        "Nuevas:",
        "• SI-LP-012-2026 «PAVIMENTACIÓN DE VÍAS EN LOS BARRIOS LIZCANO Y FONTANA»",
        "• SI-LP-009-2026 «CONSTRUCCIÓN DEL PUENTE VEHICULAR SOBRE LA QUEBRADA LA FLORA»",
        "• SI-SAMC-021-2026 «SUMINISTRO E INSTALACIÓN DE LUMINARIAS LED: LOTE 1 PARQUES, "
        "LOTE 2 VÍ…»",
        "• SE-MC-044-2026 «MANTENIMIENTO DE BAÑOS DEL COLEGIO INEM»",
        "• SP-CM-003-2026 «INTERVENTORÍA DEL PLAN MAESTRO DE ESPACIO PÚBLICO»",
    ]
    found = await processes(db)
    assert sorted(found) == ["SE-MC-044-2026", "SI-LP-009-2026", "SI-LP-012-2026",
                             "SI-SAMC-021-2026", "SP-CM-003-2026"]
    lights = found["SI-SAMC-021-2026"]
    # Its lots and award came on pages 2 and 3: read whole first, they make one process.
    assert lights.valor == Decimal("245000000.00")
    assert (lights.fuente, lights.fuente_conjunto) == ("SECOP II", PROCESSES)
    assert len(await works(db)) == 5
    asked = [r for r in datos.requests if r.path == f"/resource/{PROCESSES}.json"]
    assert asked[0].params["$where"] == f"starts_with(nit_entidad, '{NIT}')"
    assert asked[0].params["$order"] == ":id"  # unique per row, unlike any field of p6dx
    assert "nombre_del_adjudicador" not in asked[0].params["$select"]
    async with db.session() as s:
        entries = (await s.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    assert [e.detail["archivo"] for e in entries] == [
        f"datos.gov.co {DATASET}", f"datos.gov.co {PROCESSES}"]


async def test_a_dataset_that_fails_to_import_leaves_the_others_unstored_too(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    await sync(db, settings, datos)
    async with db.session() as s:
        await give_consent(s, telegram_id=7301, chat_id=7301)
        s.add(Subscription(chat_id=7301, kind="obra", value=PARK))
        await s.commit()
    before = (content(await works(db)), await processes(db))
    row(datos.datasets[DATASET], PARK)["estado_contrato"] = "terminado"  # imports well
    datos.datasets[PROCESSES] = recorded_processes(outlier=True)  # then this one fails

    with pytest.raises(ImportFailed) as caught:
        await sync(db, settings, datos)

    assert str(caught.value).splitlines() == [
        f"El conjunto {PROCESSES} no se pudo importar. Los conjuntos de SECOP II se importan "
        "todos juntos o ninguno: no se guardó nada de ninguno de ellos.",
        "El archivo tiene 1 error. Corríjalo y vuelva a enviarlo:",
        "Fila 11, columna «precio_base»: «6000000000000000000.000000» es demasiado grande "
        "para un valor en pesos.",
    ]
    assert caught.value.rows_only  # so staff may still choose to skip that row
    assert (content(await works(db)), await processes(db)) == before
    async with db.session() as s:
        assert len((await s.exec(select(AuditEntry))).all()) == 2  # the first run's
    assert await outbox(db) == []  # no alert for a change that was not stored
    report = await run_sync(db, settings, "secop", NIT, client=client(datos),
                            skip_bad_rows=True)
    assert (report.changed, report.alerts) == (1, 1)
    assert (await works(db))[PARK].estado == "Terminada"


async def test_a_second_run_that_changes_nothing_reports_zero_and_queues_nothing(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    await sync(db, settings, datos)
    async with db.session() as s:
        s.add(Subscription(chat_id=7001, kind="obra", value=PARK))
        await s.commit()
    before = content(await works(db))
    report = await sync(db, settings, datos)
    assert report.text(settings.locale).splitlines()[1:] == [
        "jbjy-vk9h: 6 filas leídas en 4 páginas → obras: 0 nuevas, 0 con cambios, "
        "5 sin cambios.",
        "Aviso: Se dejaron de lado 1 fila: 1 en estado «Cancelado».",
        *PROCESSES_UNCHANGED,
        "No hubo cambios: no se envía ninguna alerta.",
    ]
    assert (report.changed, report.alerts) == (0, 0)
    assert content(await works(db)) == before  # not even the import date moved
    assert await outbox(db) == []


async def test_staff_filled_location_and_name_survive_a_sync(
    db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    await sync(db, settings, datos)
    async with db.session() as s:
        park = (await s.exec(select(Work).where(Work.codigo == PARK))).one()
        park.nombre, park.direccion, park.latitud, park.longitud = (
            "Parque Kennedy", "Cra 12 # 3-45", 7.14, -73.12)
        park.avance_fisico = 35.0
        s.add(park)
        await s.commit()
    row(datos.datasets[DATASET], PARK)["estado_contrato"] = "terminado"
    await sync(db, settings, datos)
    park = (await works(db))[PARK]
    assert park.estado == "Terminada"
    assert (park.nombre, park.direccion, park.latitud, park.longitud, park.avance_fisico) == (
        "Parque Kennedy", "Cra 12 # 3-45", 7.14, -73.12, 35.0)


async def test_three_changed_contracts_alert_each_follower_once(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings, datos: FakeDatosGov
) -> None:
    await sync(db, settings, datos)
    async with db.session() as s:
        for chat in (7101, 7102, 7103):
            await give_consent(s, telegram_id=chat, chat_id=chat)
        # 7101 follows two of the works that change, 7102 one, 7103 one that does not.
        for chat, key in ((7101, PARK), (7101, WALL), (7102, DRAFT), (7103, ROAD)):
            s.add(Subscription(chat_id=chat, kind="obra", value=key))
        await s.commit()
    rows = datos.datasets[DATASET]
    row(rows, PARK)["estado_contrato"] = "terminado"
    row(rows, PARK)["valor_pagado"] = "450000.000000"
    row(rows, WALL)["valor_del_contrato"] = "950000000"
    row(rows, DRAFT)["fecha_de_fin_del_contrato"] = "2024-05-20T00:00:00.000"
    report = await sync(db, settings, datos)
    assert report.text(settings.locale).splitlines()[1:] == [
        "jbjy-vk9h: 6 filas leídas en 4 páginas → obras: 0 nuevas, 3 con cambios, "
        "2 sin cambios.",
        "Cambios:",
        f"• {PARK} «MEJORAMIENTO DEL PARQUE DEL BARRIO KENNEDY»: estado En ejecución → "
        "Terminada; avance financiero 20 % → 100 %",
        f"• {WALL} «CONSTRUCCIÓN DEL MURO DE CONTENCIÓN EN EL BARRIO MORRORICO»: valor del "
        "contrato $ 800 millones → $ 950 millones; avance financiero 15 % → 12,6 %",
        f"• {DRAFT} «ANDENES DE LA CALLE 45»: fin previsto 20 de febrero de 2024 → 20 de mayo "
        "de 2024",
        "Aviso: Se dejaron de lado 1 fila: 1 en estado «Cancelado».",
        *PROCESSES_UNCHANGED,
        "2 alertas de cambios en cola para quienes siguen estas obras (las envía el bot en "
        "marcha).",
    ]
    [both] = await api.wait_for("sendMessage", chat_id=7101)
    [one] = await api.wait_for("sendMessage", chat_id=7102)
    assert both.params["text"].count("🏗️") == 2
    assert "estado En ejecución → Terminada" in both.params["text"]
    assert "valor del contrato $ 800 millones → $ 950 millones" in both.params["text"]
    assert "fin previsto 20 de febrero de 2024 → 20 de mayo de 2024" in one.params["text"]
    queued = await outbox(db)
    assert sorted(m.chat_id for m in queued) == [7101, 7102]  # one each, none for 7103
    assert api.calls_to(7103, ["sendMessage"]) == []
    # The weekly summary tells the status change.
    async with db.session() as s:
        week = await week_data(s, end=utcnow())
    assert [(c.key, c.field, c.old, c.new) for c in week.works] == [
        (PARK, "estado", "En ejecución", "Terminada")]


def test_the_command_reports_in_spanish_and_fails_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "LOG_LEVEL", "SECOP_NIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    fake = FakeDatosGov()
    fake.datasets[DATASET] = recorded_rows()
    fake.datasets[PROCESSES] = recorded_processes()
    with serving_in_thread(fake):
        monkeypatch.setenv("DATOS_GOV_URL", fake.url)
        assert main(["sincronizar", "secop", "--nit", "890.201.222-1"]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[:2] == [
            f"Sincronización con SECOP II (NIT {NIT}), datos.gov.co:",
            "jbjy-vk9h: 6 filas leídas en 1 página → obras: 5 nuevas, 0 con cambios, "
            "0 sin cambios.",
        ]
        monkeypatch.setenv("SECOP_NIT", NIT)  # the setting, when --nit is not given
        assert main(["sincronizar", "secop"]) == 0
        assert "obras: 0 nuevas, 0 con cambios, 5 sin cambios." in capsys.readouterr().out
        fake.faults = [Fault(403, b'{"message": "Invalid app_token specified"}')]
        assert main(["sincronizar", "secop"]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            "No se importó nada. datos.gov.co rechazó el token de aplicación al pedir la "
            f"página 1 del conjunto {DATASET} en {fake.url} (403: «Invalid app_token "
            "specified»). Revise DATOS_GOV_APP_TOKEN.\n"
        )
    assert main(["sincronizar", "secop", "--nit", "ALCALDIA"]) == 1
    assert capsys.readouterr().err == (
        "--nit debe ser el NIT de la entidad, solo números y sin dígito de verificación, "
        "como 890201222 (se leyó «ALCALDIA»).\n"
    )
