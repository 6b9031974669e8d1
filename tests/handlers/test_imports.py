"""Staff load data by sending a file with `/importar <tipo>`; everyone else cannot."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_file
from storage.models import AuditEntry, Work

ADMIN = 1000
GOOD = (
    "codigo,nombre,comuna,estado,avance_fisico\n"
    "OB-9001,Parque del barrio Kennedy,1,En ejecución,35\n"
    "OB-9002,Andenes de la carrera 27,Comuna 12 - Cabecera del Llano,Terminada,100\n"
)
BAD = GOOD + "OB-9003,Muro de contención,14,Suspendida,ciento\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Use a 1 MB upload limit, to test it cheaply."""
    return dataclasses.replace(settings, max_upload_mb=1)


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)


async def _works(db: Database) -> list[str]:
    async with db.session() as s:
        return list((await s.exec(select(Work.codigo).order_by(Work.codigo))).all())


async def test_admin_imports_all_or_nothing_and_it_is_audited(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_document("obras.csv", BAD.encode(), caption="/importar obras")
    [failed] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert failed.params["text"].startswith("❌ No se importó nada.")
    assert "Fila 4" in failed.params["text"] and "avance_fisico" in failed.params["text"]
    assert await _works(db) == []

    admin.send_document("obras.csv", GOOD.encode(), caption="/importar obras")
    _, done = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert done.params["text"] == (
        "✅ Importación completa: obras: 2 filas nuevas, 0 actualizadas, 0 sin cambios."
    )
    assert await _works(db) == ["OB-9001", "OB-9002"]
    async with db.session() as s:
        [entry] = (await s.exec(select(AuditEntry))).all()
    assert (entry.actor_id, entry.action, entry.detail["tipo"], entry.detail["nuevas"]) == (
        ADMIN, "importar", "obras", 2
    )


async def test_a_file_over_the_limit_is_refused(bot: CabildoApp, api: LocalBotAPI) -> None:
    big = GOOD.encode() + b"#" * (1024 * 1024 + 10)
    api.user(ADMIN).send_document("obras.csv", big, caption="/importar obras")
    [reply] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert reply.params["text"] == "El archivo pesa 1,0 MB; el límite es 1 MB. No se importó nada."


async def test_a_citizen_upload_is_treated_as_an_unknown_command(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.user(901).send_document("obras.csv", GOOD.encode(), caption="/importar obras")
    [reply] = await api.wait_for("sendMessage", chat_id=901)
    assert reply.params["text"].startswith("No conozco el comando /importar")
    assert await _works(db) == []


async def test_importar_without_a_file_explains_how(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(ADMIN).send_text("/importar obras")
    [reply] = await api.wait_for("sendMessage", chat_id=ADMIN)
    text = reply.params["text"]
    assert "envíe el archivo (CSV o XLSX; una encuesta en JSON o YAML) como documento" in text
    assert "metas, presupuesto, obras" in reply.params["text"]


async def test_a_file_without_the_command_is_answered_and_imports_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_document("obras.csv", GOOD.encode())
    admin.send_document("obras.csv", GOOD.encode(), caption="importar obras")
    first, second = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    for reply in (first, second):
        assert "escriba en el comentario: <code>/importar &lt;tipo&gt;</code>" in (
            reply.params["text"])
    assert await _works(db) == []
    api.user(902).send_document("foto.csv", GOOD.encode())
    [citizen] = await api.wait_for("sendMessage", chat_id=902)
    assert citizen.params["text"].startswith("Por ahora no recibo archivos")
    assert await _works(db) == []


async def test_the_command_in_the_caption_is_read_in_any_case(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.user(ADMIN).send_document("obras.csv", GOOD.encode(), caption="/IMPORTAR Obras")
    [reply] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert reply.params["text"].startswith("✅ Importación completa")
    assert len(await _works(db)) > 0


async def test_staff_can_import_the_good_rows_and_get_the_bad_ones_back(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_document("obras.csv", BAD.encode(), caption="/importar obras")
    [failed] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert failed.params["text"].endswith(
        "Para importar solo las filas buenas, envíe el archivo otra vez con el comentario "
        "<code>/importar obras omitir</code>: le devuelvo las filas con errores en un archivo "
        "para corregirlas y enviarlas de nuevo."
    )
    assert await _works(db) == []

    admin.send_document("obras.csv", BAD.encode(), caption="/importar obras omitir")
    await api.wait_for("sendDocument", chat_id=ADMIN)
    done, sent = api.messages(ADMIN)[-2:]
    assert done["text"] == (
        "✅ Importación completa: obras: 2 filas nuevas, 0 actualizadas, 0 sin cambios. "
        "1 fila con errores omitida (4)."
    )
    assert await _works(db) == ["OB-9001", "OB-9002"]
    assert sent["document"]["file_name"] == "obras-filas-con-error.csv"
    assert sent["caption"].startswith("Estas son las filas que no se importaron")
    assert api.file_bytes(sent["document"]["file_id"]).decode("utf-8-sig").splitlines() == [
        "error,codigo,nombre,comuna,estado,avance_fisico",
        '"Fila 4, columna «avance_fisico»: «ciento» no es un número.",OB-9003,Muro de contención,'
        "14,Suspendida,ciento",
    ]


async def test_the_caption_alone_lists_every_kind_and_how_two_file_reports_come(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    admin = api.user(ADMIN)
    admin.send_text("/importar")
    [usage] = await api.wait_for("sendMessage", chat_id=ADMIN)
    text = usage.params["text"]
    for kind in ("secop_contratos", "secop_procesos", "secop_ejecucion", "cuipo",
                 "plan_indicativo", "ubicaciones"):
        assert kind in text
    assert "envíe un solo libro XLSX con los dos, cada uno en su hoja" in text
