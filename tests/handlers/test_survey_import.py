"""Staff import a survey definition from Telegram with `/importar encuesta`."""

from __future__ import annotations

from sqlmodel import select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.models import Survey
from tests.handlers.survey_support import ADMIN, EXPORT
from tests.handlers.survey_support import seed as seed  # overrides conftest's `seed`


async def test_staff_import_a_definition_from_telegram_with_clear_errors(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_document("exportable.yaml", EXPORT.encode(), caption="/importar encuesta")
    [done] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert done.params["text"].startswith("✅ Importación completa: encuesta: 1 fila nueva")
    broken = EXPORT.replace("slug: exportable", "slug: rota").replace(
        "opciones: [Sí, \"No\", \"=HYPERLINK(1)\"]", "opciones: [Sí]")
    admin.send_document("rota.yaml", broken.encode(), caption="/importar encuesta")
    _, failed = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert failed.params["text"].startswith("❌ No se importó nada.")
    assert "Pregunta 1, campo «opciones»: hacen falta al menos 2 opciones" in (
        failed.params["text"])
    async with db.session() as s:
        slugs = (await s.exec(select(Survey.slug))).all()
    assert "rota" not in slugs and "exportable" in slugs
