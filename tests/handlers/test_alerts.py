"""Alerts: subscribe after consent, and one message per person per import that changes data."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.models import Comuna, Subscription, Work
from storage.privacy import give_consent

ADMIN = 1000


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def test_alerts_need_consent_then_toggle_a_comuna(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(6001)
    user.send_text("/alertas")
    [notice] = await api.wait_for("sendMessage", chat_id=6001)
    assert "Para recibir alertas" in notice.params["text"]
    user.tap("✅ Acepto")  # accepting opens the alerts screen asked for
    await api.wait_for("answerCallbackQuery")
    _, screen = await api.wait_for("sendMessage", chat_id=6001, count=2)
    assert screen.params["text"].startswith("🔔 <b>Alertas</b>")
    user.tap("4 · Occidental")
    [*_, shown] = await api.wait_for("editMessageText", chat_id=6001, count=2)
    assert "Comunas activas: 4 Occidental." in shown.params["text"]
    user.tap("🗞️ Resumen semanal")
    await api.wait_for("editMessageText", chat_id=6001, count=3)
    async with db.session() as s:
        subs = (await s.exec(select(Subscription).where(Subscription.chat_id == 6001))).all()
    assert sorted((x.kind, x.value) for x in subs) == [("comuna", "4"), ("tema", "resumen")]


async def test_an_import_alerts_each_follower_once_with_all_changes(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        four = (await s.exec(select(Comuna).where(Comuna.codigo == "4"))).one()
        works4 = (await s.exec(select(Work).where(Work.comuna_id == four.id)
                               .order_by(col(Work.codigo)))).all()[:2]
        five = (await s.exec(select(Comuna).where(Comuna.codigo == "5"))).one()
        # A work nobody follows by comuna (not 4, not 5), the same one on every database.
        other = (await s.exec(select(Work).where(col(Work.comuna_id).not_in([four.id, five.id]))
                              .order_by(col(Work.codigo)))).first()
        assert other is not None and len(works4) == 2
        for chat in (6101, 6102, 6103):
            await give_consent(s, telegram_id=chat, chat_id=chat)
        s.add(Subscription(chat_id=6101, kind="comuna", value="4"))
        s.add(Subscription(chat_id=6102, kind="obra", value=other.codigo))
        s.add(Subscription(chat_id=6103, kind="comuna", value="5"))
        await s.commit()
    rows = "".join(
        f"{w.codigo},{w.nombre},{w.comuna_id},En ejecución,{min(w.avance_fisico + 7, 100)}\n"
        for w in [*works4, other]
    )
    csv = "codigo,nombre,comuna,estado,avance_fisico\n" + rows
    admin = api.user(ADMIN)
    admin.send_document("obras.csv", csv.encode(), caption="/importar obras")
    [done] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert "🔔 2 alertas de cambios en cola" in done.params["text"]
    [alert] = await api.wait_for("sendMessage", chat_id=6101)
    assert alert.params["text"].count("🏗️") == 2
    assert all(w.nombre[:30] in alert.params["text"] for w in works4)
    [followed] = await api.wait_for("sendMessage", chat_id=6102)
    assert other.nombre[:30] in followed.params["text"]
    admin.send_document("obras.csv", csv.encode(), caption="/importar obras")  # no changes now
    await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert api.calls_to(6103, ["sendMessage"]) == []
    assert len(api.calls_to(6101, ["sendMessage"])) == 1
