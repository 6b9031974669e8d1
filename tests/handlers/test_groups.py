"""A leader links their junta's group to their own comuna, and only to it."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_file
from storage.models import Citizen, Subscription
from storage.roles import set_role

GROUP = -1009001
LEADER, STAFF, CITIZEN = 9101, 9102, 9103


@pytest.fixture
def api() -> LocalBotAPI:
    api = LocalBotAPI()
    api.group(GROUP, "JAC Barrio La Joya")
    for member in (LEADER, STAFF, CITIZEN):
        api.make_admin(GROUP, member)
    return api


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        await set_role(s, actor_id=None, telegram_id=LEADER, role="lider", comuna="4")
        await set_role(s, actor_id=None, telegram_id=STAFF, role="staff")


async def _links(db: Database) -> list[str]:
    async with db.session() as s:
        rows = (await s.exec(select(Subscription).where(Subscription.chat_id == GROUP))).all()
    return sorted(r.value for r in rows)


async def test_leader_links_own_comuna_but_not_another(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    leader = api.user(LEADER)
    leader.send_text("/vincular", chat_id=GROUP)
    [linked] = await api.wait_for("sendMessage", chat_id=GROUP)
    assert linked.params["text"].startswith("✅ Este grupo recibirá las alertas de la comuna 4 -")
    leader.send_text("/vincular 5", chat_id=GROUP)
    _, refused = await api.wait_for("sendMessage", chat_id=GROUP, count=2)
    assert refused.params["text"] == (
        "Como líder solo puede vincular el grupo a su comuna (4 - Occidental)."
    )
    assert await _links(db) == ["4"]


async def test_staff_may_link_any_comuna_and_unlink(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    staff = api.user(STAFF)
    staff.send_text("/vincular 12", chat_id=GROUP)
    await api.wait_for("sendMessage", chat_id=GROUP)
    assert await _links(db) == ["12"]
    staff.send_text("/desvincular", chat_id=GROUP)
    _, done = await api.wait_for("sendMessage", chat_id=GROUP, count=2)
    assert done.params["text"] == "Listo: este grupo ya no recibirá alertas de comunas."
    assert await _links(db) == []


async def test_a_citizen_or_a_non_admin_cannot_link(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.user(CITIZEN).send_text("/vincular 4", chat_id=GROUP)
    [reply] = await api.wait_for("sendMessage", chat_id=GROUP)
    assert reply.params["text"].startswith("No conozco el comando /vincular")
    other = -1009002
    api.group(other, "Otro grupo")
    api.user(LEADER).send_text("/vincular", chat_id=other)
    [not_admin] = await api.wait_for("sendMessage", chat_id=other)
    assert not_admin.params["text"] == (
        "Solo quien administra el grupo puede vincularlo a una comuna."
    )
    api.user(LEADER).send_text("/vincular")
    [private] = await api.wait_for("sendMessage", chat_id=LEADER)
    assert private.params["text"].startswith("Use este comando dentro del grupo")
    assert await _links(db) == []


async def test_start_in_a_group_points_to_the_private_chat_and_keeps_the_persons_chat(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    citizen = api.user(CITIZEN)
    citizen.send_text("/start")
    await api.wait_for("sendMessage", chat_id=CITIZEN)
    citizen.send_text("/start", chat_id=GROUP)
    [reply] = await api.wait_for("sendMessage", chat_id=GROUP)
    assert reply.params["text"].startswith("En los grupos solo envío las alertas de una comuna")
    assert "/vincular" in reply.params["text"]
    async with db.session() as s:
        row = (await s.exec(select(Citizen).where(Citizen.telegram_id == CITIZEN))).one()
    assert row.chat_id == CITIZEN
