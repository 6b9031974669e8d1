"""Roles end to end: staff tools are invisible to citizens and granted only by the right people."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.audit import recent_entries
from storage.db import Database
from storage.roles import role_of

ADMIN = 1000  # in the `settings` fixture's ADMIN_IDS
RESTRICTED = ["/panel", "/rol 5 staff", "/difundir", "/importar obras", "/preguntas",
              "/responder 1 hola", "/resumen", "/resultados diagnostico"]


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def test_citizen_gets_unknown_command_for_every_staff_command(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    user = api.user(701)
    for text in RESTRICTED:
        user.send_text(text)
    replies = await api.wait_for("sendMessage", chat_id=701, count=len(RESTRICTED))
    for text, reply in zip(RESTRICTED, replies, strict=True):
        assert reply.params["text"].startswith(f"No conozco el comando {text.split()[0]}")


async def test_forged_staff_button_is_refused(bot: CabildoApp, api: LocalBotAPI) -> None:
    user = api.user(702)
    user.send_text("/menu")
    [menu] = await api.wait_for("sendMessage", chat_id=702)
    forged = user.tap("menu:metas", message_id=menu.response["result"]["message_id"],
                      enqueue=False)
    for data in ("staff:difundir:todos", "adm:rol:702:admin"):
        forged["callback_query"]["data"] = data
        forged["update_id"] = api.new_update_id()
        api.enqueue(dict(forged))
    answers = await api.wait_for("answerCallbackQuery", count=2)
    assert [a.params["text"] for a in answers] == ["Ese botón ya no está disponible."] * 2
    assert len(api.calls_to(702, ["sendMessage"])) == 1


async def test_admin_grants_staff_who_then_sees_the_panel_and_the_log_keeps_it(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    api.user(ADMIN).send_text("/rol 703 staff")
    [done] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert "703 ahora tiene el rol <b>staff</b>" in done.params["text"]
    scoped = [c for c in api.calls if c.method == "setMyCommands" and c.params.get("scope")]
    # The admin's own menu is set at start; the new staff member's when the role is granted.
    assert [c.params["scope"] for c in scoped] == [
        {"type": "chat", "chat_id": ADMIN}, {"type": "chat", "chat_id": 703}
    ]
    assert all("panel" in [c["command"] for c in m.params["commands"]] for m in scoped)

    api.user(703).send_text("/panel")
    [panel] = await api.wait_for("sendMessage", chat_id=703)
    assert "Panel de funcionarios" in panel.params["text"]
    assert "66 obras" in panel.params["text"]
    assert "/rol &lt;id&gt; lider &lt;comuna&gt; — nombrar a un líder" in panel.params["text"]
    api.user(703).tap("🗳️ Presupuestos participativos: resultados")
    [rounds] = await api.wait_for("editMessageText", chat_id=703)
    assert rounds.params["text"].startswith("📊 <b>Presupuestos participativos: resultados</b>")
    assert any(b["callback_data"].startswith("staff:pp:r:")
               for row in rounds.params["reply_markup"]["inline_keyboard"] for b in row)
    async with db.session() as s:
        [entry] = await recent_entries(s)
        assert await role_of(s, telegram_id=703, admin_ids=settings.admin_ids) == "staff"
    assert (entry.actor_id, entry.action) == (ADMIN, "rol")
    assert entry.detail == {"persona": 703, "antes": "ciudadano", "ahora": "staff", "comuna": None}


async def test_staff_may_name_a_leader_of_a_comuna_but_not_more_staff(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    api.user(ADMIN).send_text("/rol 704 staff")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    staff = api.user(704)
    staff.send_text("/rol 705 lider 4")
    staff.send_text("/rol 706 staff")
    staff.send_text("/rol 707 lider")
    leader, refused, no_comuna = await api.wait_for("sendMessage", chat_id=704, count=3)
    assert "705 ahora tiene el rol <b>líder</b> en la comuna 4" in leader.params["text"]
    assert refused.params["text"] == (
        "Solo quien tiene el rol admin puede dar o quitar los roles staff y admin."
    )
    assert "Un líder necesita su comuna" in no_comuna.params["text"]
    async with db.session() as s:
        assert await role_of(s, telegram_id=706, admin_ids=settings.admin_ids) == "ciudadano"


async def test_a_leader_cannot_use_staff_commands(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(ADMIN).send_text("/rol 708 lider 12")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    api.user(708).send_text("/panel")
    [reply] = await api.wait_for("sendMessage", chat_id=708)
    assert reply.params["text"].startswith("No conozco el comando /panel")
