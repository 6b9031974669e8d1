"""Roles: what a role change stores and logs, and who it leaves out of broadcast audiences."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.broadcasts import Audience, recipients
from storage.citizens import touch_citizen
from storage.db import Database
from storage.models import AuditEntry, Citizen
from storage.roles import RoleError, RoleUnchanged, role_of, set_role
from tests.storage.helpers import seed_comunas


async def _audit_count(db: Database) -> int:
    async with db.session() as s:
        return len((await s.exec(select(AuditEntry))).all())


async def test_a_person_named_before_writing_counts_in_no_audience_until_they_write(
    db: Database,
) -> None:
    await seed_comunas(db)
    async with db.session() as s:
        await touch_citizen(s, telegram_id=10, chat_id=10)
        change = await set_role(s, actor_id=None, telegram_id=900004, role="lider", comuna="4")
        assert change.new_person
        # The role holds at once (access checks read it) …
        assert await role_of(s, telegram_id=900004, admin_ids=()) == "lider"
        # … but nobody sends to a chat Telegram would refuse.
        assert await recipients(s, Audience("todos")) == [10]
        assert await recipients(s, Audience("lideres")) == []
        await set_role(s, actor_id=None, telegram_id=900004, role="ciudadano")
        assert await recipients(s, Audience("todos")) == [10]
    async with db.session() as s:
        await touch_citizen(s, telegram_id=900004, chat_id=900004)
        assert await recipients(s, Audience("todos")) == [10, 900004]
        again = await set_role(s, actor_id=None, telegram_id=900004, role="lider",
                               comuna="Occidental")
        assert not again.new_person and again.comuna == "4"
        assert await recipients(s, Audience("lideres")) == [900004]


async def test_the_same_role_again_changes_and_logs_nothing(db: Database) -> None:
    await seed_comunas(db)
    async with db.session() as s:
        await set_role(s, actor_id=1000, telegram_id=111, role="staff")
    before = await _audit_count(db)
    async with db.session() as s:
        with pytest.raises(RoleUnchanged, match=r"^La persona 111 ya tenía ese rol \(staff\)"):
            await set_role(s, actor_id=1000, telegram_id=111, role="staff")
        await set_role(s, actor_id=1000, telegram_id=222, role="lider", comuna="Comuna 4")
        with pytest.raises(RoleUnchanged, match="ya tenía ese rol"):
            await set_role(s, actor_id=1000, telegram_id=222, role="lider", comuna="occidental")
        moved = await set_role(s, actor_id=1000, telegram_id=222, role="lider", comuna="norte")
    assert (moved.old, moved.new, moved.comuna) == ("lider", "lider", "1")
    assert await _audit_count(db) == before + 2


@pytest.mark.parametrize(
    ("telegram_id", "comuna", "message"),
    [
        (-5, "4", "El id -5 no es de una persona"),
        (0, "4", "El id 0 no es de una persona"),
        (333, "occidentall", "No conozco la comuna «occidentall»."),
        (333, "4 norte", "En «4 norte» el número y el nombre no coinciden (4 es Occidental)."),
    ],
)
async def test_refused_role_changes_store_nothing(
    db: Database, telegram_id: int, comuna: str, message: str
) -> None:
    await seed_comunas(db)
    async with db.session() as s:
        with pytest.raises(RoleError) as refused:
            await set_role(s, actor_id=None, telegram_id=telegram_id, role="lider",
                           comuna=comuna)
        assert str(refused.value).startswith(message)
        assert (await s.exec(select(Citizen))).all() == []
    assert await _audit_count(db) == 0


async def test_the_last_admin_cannot_be_demoted(db: Database) -> None:
    async with db.session() as s:
        await set_role(s, actor_id=None, telegram_id=501, role="admin")
        with pytest.raises(RoleError, match="última persona administradora"):
            await set_role(s, actor_id=501, telegram_id=501, role="ciudadano")
        # With another admin (in the database or in ADMIN_IDS) it is allowed.
        await set_role(s, actor_id=None, telegram_id=502, role="admin")
        await set_role(s, actor_id=501, telegram_id=501, role="ciudadano")
        change = await set_role(s, actor_id=None, telegram_id=502, role="staff",
                                admin_ids=frozenset({1000}))
    assert (change.old, change.new) == ("admin", "staff")
