"""The bot notices being blocked, unblocked, added to or removed from groups, and migrations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers import membership
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_bytes, import_file
from storage.models import AuditEntry, Citizen, OutboxMessage, Subscription
from storage.roles import set_role

ADMIN, LEADER = 1000, 9201
PEOPLE = [4101, 4102]  # two subscribers of comuna 4
GROUP, OTHER_GROUP = -1009201, -1009202
OLD_GROUP, NEW_GROUP = -4009203, -1004009203
WORKS = "codigo,nombre,comuna,estado,avance_fisico\nOB-M1,Parque del Agua,4,En ejecución,{}\n"


@pytest.fixture
def api() -> LocalBotAPI:
    api = LocalBotAPI()
    api.group(GROUP, "JAC La Joya")
    api.group(OTHER_GROUP, "JAC Otra")
    api.group(OLD_GROUP, "JAL Comuna 4", kind="group")
    for group in (GROUP, OTHER_GROUP, OLD_GROUP):
        api.make_admin(group, LEADER)
    return api


@pytest.fixture
def instant_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send the note about being added at once instead of after a few seconds."""
    monkeypatch.setattr(membership, "WELCOME_DELAY", timedelta(0))


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        await import_bytes(s, "obras", WORKS.format(40).encode(), "obras.csv", tz=settings.tz)
        await set_role(s, actor_id=None, telegram_id=LEADER, role="lider", comuna="4")
        s.add_all(Citizen(telegram_id=p, chat_id=p) for p in PEOPLE)
        s.add_all(Subscription(chat_id=p, kind="comuna", value="4") for p in PEOPLE)
        s.add(Subscription(chat_id=OLD_GROUP, kind="comuna", value="4"))
        await s.commit()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until `check` holds (the bot handles updates in the background)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        await asyncio.sleep(0.05)


async def _blocked(db: Database, person: int) -> bool | None:
    async with db.session() as s:
        row = (await s.exec(select(Citizen).where(Citizen.telegram_id == person))).first()
    return None if row is None else row.blocked_at is not None


async def _links(db: Database, chat: int) -> list[str]:
    async with db.session() as s:
        rows = (await s.exec(select(Subscription).where(Subscription.chat_id == chat))).all()
    return sorted(r.value for r in rows)


async def _audit(db: Database, action: str) -> list[AuditEntry]:
    async with db.session() as s:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(
            col(AuditEntry.id)
        )
        return list((await s.exec(query)).all())


async def _import_change(api: LocalBotAPI, progress: int, reports: int) -> str:
    """Change the comuna-4 work as the admin; return the import report's text."""
    api.user(ADMIN).send_document(
        "obras.csv", WORKS.format(progress).encode(), caption="/importar obras"
    )
    done = await api.wait_for("sendMessage", chat_id=ADMIN, count=reports)
    return str(done[-1].params["text"])


async def _comuna_4_audience(api: LocalBotAPI) -> str:
    """Open /difundir for comuna 4 as the admin; return the line with the recipients."""
    admin = api.user(ADMIN)
    sent = len(api.calls_to(ADMIN, ["sendMessage"]))
    edited = len(api.calls_to(ADMIN, ["editMessageText"]))
    admin.send_text("/difundir")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=sent + 1)
    admin.tap("🏘️ Por comuna")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=edited + 1)
    admin.tap("4 · Occidental")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=edited + 2)
    admin.tap("Listo ▶️")
    [*_, ask] = await api.wait_for("editMessageText", chat_id=ADMIN, count=edited + 3)
    admin.send_text("/cancelar")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=sent + 2)
    return str(ask.params["text"])


async def test_a_blocked_person_counts_in_no_audience_gets_no_alert_until_unblocking(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    blocker, other = (api.user(p) for p in PEOPLE)
    blocker.block_bot()
    await eventually(lambda: _blocked_db(db, blocker.id))
    # The other subscriber and the junta's group, not the person who blocked the bot.
    assert "Occidental (2 personas)" in await _comuna_4_audience(api)
    report = await _import_change(api, 50, reports=3)
    assert "🔔 2 alertas de cambios en cola" in report
    await api.wait_for("sendMessage", chat_id=other.id)
    assert api.calls_to(blocker.id) == []  # nothing was even tried

    blocker.unblock_bot()
    await eventually(lambda: _reachable_db(db, blocker.id))
    assert "Occidental (3 personas)" in await _comuna_4_audience(api)
    report = await _import_change(api, 60, reports=6)
    assert "🔔 3 alertas de cambios en cola" in report
    [alert] = await api.wait_for("sendMessage", chat_id=blocker.id)
    assert "Parque del Agua" in alert.params["text"]
    assert api.messages(blocker.id)[0]["text"] == alert.params["text"]


async def _blocked_db(db: Database, person: int) -> bool:
    return await _blocked(db, person) is True


async def _reachable_db(db: Database, person: int) -> bool:
    return await _blocked(db, person) is False


async def test_an_unknown_person_who_unblocks_is_created_and_stale_or_repeated_updates_do_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    person = api.user(4199)
    now = int(time.time())
    person.unblock_bot(date=now)
    person.unblock_bot(date=now)  # the same update again
    person.block_bot(date=now - 60)  # older than the unblock, handled after it: stale
    person.send_text("/menu")  # updates of one chat are handled in order: a sync point
    await api.wait_for("sendMessage", chat_id=person.id)
    assert await _blocked(db, person.id) is False

    person.block_bot(date=now + 60)
    person.block_bot(date=now + 60)
    person.unblock_bot(date=now + 30)  # older than the block: stale
    await eventually(lambda: _blocked_db(db, person.id))
    person.unblock_bot(date=now + 120)
    person.send_text("/menu")
    await api.wait_for("sendMessage", chat_id=person.id, count=2)
    assert await _blocked(db, person.id) is False
    assert len(api.calls_to(person.id, ["sendMessage"])) == 2  # only the two menus


async def test_added_to_a_group_the_bot_explains_vincular_once(
    instant_note: None, bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    leader = api.user(LEADER)
    date = int(time.time())
    leader.add_bot(GROUP, date=date)
    leader.add_bot(GROUP, date=date)  # Telegram sent it twice
    [note] = await api.wait_for("sendMessage", chat_id=GROUP)
    text = note.params["text"]
    assert text.startswith("👋 Hola. Soy <b>Cabildo</b>, el canal de rendición de cuentas")
    assert "/vincular" in text and "/desvincular" in text and "@cabildo_local_bot" in text
    leader.remove_bot(GROUP, date=date + 1)
    leader.add_bot(GROUP, admin=True, date=date + 2)  # added again: told again
    leader.add_bot(GROUP, admin=True, date=date + 2)
    await api.wait_for("sendMessage", chat_id=GROUP, count=2)
    leader.send_text("/vincular", chat_id=GROUP)
    [*_, linked] = await api.wait_for("sendMessage", chat_id=GROUP, count=3)
    assert linked.params["text"].startswith("✅ Este grupo recibirá las alertas de la comuna 4")
    async with db.session() as s:
        notes = (await s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP))).all()
    assert len(notes) == 2
    assert len(api.calls_to(GROUP, ["sendMessage"])) == 3


async def test_a_promotion_is_no_new_arrival(
    instant_note: None, bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    leader = api.user(LEADER)
    update = leader.add_bot(OTHER_GROUP, admin=True, enqueue=False)
    update["my_chat_member"]["old_chat_member"] = api.bot_member("member")
    api.enqueue(update)
    leader.send_text("/vincular", chat_id=OTHER_GROUP)  # a sync point in the same chat
    [linked] = await api.wait_for("sendMessage", chat_id=OTHER_GROUP)
    assert linked.params["text"].startswith("✅ Este grupo recibirá las alertas")
    async with db.session() as s:
        assert (await s.exec(select(OutboxMessage))).all() == []


async def test_removed_from_a_group_it_is_unlinked_audited_and_gets_no_alert(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    leader = api.user(LEADER)
    leader.send_text("/vincular", chat_id=GROUP)
    await api.wait_for("sendMessage", chat_id=GROUP)
    assert await _links(db, GROUP) == ["4"]
    leader.remove_bot(GROUP)
    leader.remove_bot(GROUP)  # twice: the second finds nothing
    await eventually(lambda: _unlinked(db, GROUP))
    report = await _import_change(api, 70, reports=1)
    # The two people and the other junta's group, not this one.
    assert "🔔 3 alertas de cambios en cola" in report
    for person in PEOPLE:
        await api.wait_for("sendMessage", chat_id=person)
    assert len(api.calls_to(GROUP, ["sendMessage"])) == 1  # the «linked» reply, before
    [entry] = await _audit(db, "desvincular_grupo")
    assert (entry.actor_id, entry.detail) == (
        LEADER, {"grupo": GROUP, "comunas": ["4"], "motivo": "el bot salió del grupo"}
    )


async def _unlinked(db: Database, chat: int) -> bool:
    return await _links(db, chat) == []


async def test_a_late_removal_keeps_a_link_made_after_it(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    leader = api.user(LEADER)
    removal = leader.remove_bot(GROUP, date=int(time.time()) - 600, enqueue=False)
    leader.add_bot(GROUP, date=int(time.time()) - 300)
    leader.send_text("/vincular", chat_id=GROUP)
    await api.wait_for("sendMessage", chat_id=GROUP)
    api.enqueue(removal)  # the removal arrives last (another instance was slow)
    api.enqueue(removal)
    leader.send_text("/vincular", chat_id=GROUP)  # a sync point in the same chat
    await api.wait_for("sendMessage", chat_id=GROUP, count=2)
    assert await _links(db, GROUP) == ["4"]
    assert await _audit(db, "desvincular_grupo") == []


@pytest.mark.parametrize("announce", ["both", "to", "from"])
async def test_a_group_that_becomes_a_supergroup_keeps_its_link(
    bot: CabildoApp, api: LocalBotAPI, db: Database, announce: str
) -> None:
    api.user(LEADER).upgrade_group(OLD_GROUP, NEW_GROUP, announce=announce)
    await eventually(lambda: _has_links(db, NEW_GROUP))
    report = await _import_change(api, 80, reports=1)
    assert "🔔 3 alertas de cambios en cola" in report  # two people and the group, once
    [alert] = await api.wait_for("sendMessage", chat_id=NEW_GROUP)
    assert "Parque del Agua" in alert.params["text"]
    for person in PEOPLE:
        await api.wait_for("sendMessage", chat_id=person)
    assert api.calls_to(OLD_GROUP) == []
    assert await _links(db, OLD_GROUP) == []
    [entry] = await _audit(db, "migrar_grupo")
    assert (entry.actor_id, entry.detail) == (
        LEADER, {"grupo": OLD_GROUP, "nuevo": NEW_GROUP, "comunas": ["4"]}
    )


async def _has_links(db: Database, chat: int) -> bool:
    return await _links(db, chat) == ["4"]


async def test_the_join_notice_of_a_migrated_group_is_withdrawn(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    leader = api.user(LEADER)
    [moved] = leader.upgrade_group(OLD_GROUP, NEW_GROUP, announce="from", enqueue=False)
    leader.add_bot(NEW_GROUP)  # Telegram says the bot joined the new supergroup…
    api.enqueue(moved)  # …and then that it is the old group, already linked
    await eventually(lambda: _has_links(db, NEW_GROUP))
    async with db.session() as s:
        queued = (await s.exec(select(OutboxMessage))).all()
    assert queued == []
    assert api.calls_to(NEW_GROUP) == []
