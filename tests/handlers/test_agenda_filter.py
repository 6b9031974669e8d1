"""`/agenda <palabras>` finds events by kind or title, accents and case aside; corregimientos
are named as such; `/mis_datos` writes the comuna as the rest of the bot does."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.models import Citizen, Comuna, Event
from storage.privacy import give_consent

ANA = 7801


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def _ids(db: Database, *claves: str) -> list[str]:
    async with db.session() as s:
        events = (await s.exec(select(Event).where(Event.clave.in_(claves)))).all()  # type: ignore[attr-defined]
    assert len(events) == len(claves)
    return sorted(f"ev:e:{e.id}" for e in events)


def _events(params: dict[str, Any]) -> list[str]:
    rows = params["reply_markup"]["inline_keyboard"]
    return sorted(b["callback_data"] for row in rows for b in row
                  if b.get("callback_data", "").startswith("ev:e:"))


def _labels(params: dict[str, Any]) -> list[str]:
    return [b["text"] for row in params["reply_markup"]["inline_keyboard"] for b in row]


@pytest.mark.parametrize(("typed", "claves"), [
    ("taller", ("EV-004", "EV-005", "EV-006")),
    ("TALLERES", ("EV-004", "EV-005", "EV-006")),
    ("audiencia", ("EV-001",)),
    ("audiencias publicas", ("EV-001",)),
    ("taller de cocreacion", ("EV-004",)),
    ("Taller de cocreación", ("EV-004",)),
    ("feria", ("EV-002", "EV-016")),
    ("predial", ("EV-012",)),  # a word of the title
    ("taller:cocreacion", ("EV-004",)),  # what is not a letter or digit separates words
])
async def test_agenda_words_find_events_by_kind_or_title(
    bot: CabildoApp, api: LocalBotAPI, db: Database, typed: str, claves: tuple[str, ...]
) -> None:
    api.user(ANA).send_text(f"/agenda {typed}")
    [listing] = await api.wait_for("sendMessage", chat_id=ANA)
    assert listing.params["text"].startswith("📅 <b>Próximos eventos</b> con «")
    assert _events(listing.params) == await _ids(db, *claves)


async def test_agenda_words_that_match_nothing_say_so(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.user(ANA).send_text("/agenda carnaval")
    [reply] = await api.wait_for("sendMessage", chat_id=ANA)
    assert reply.params["text"] == "📅 No hay eventos próximos con «carnaval»."


async def test_a_kind_button_still_lists_exactly_that_kind(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(ANA)
    user.send_text("/agenda")
    await api.wait_for("sendMessage", chat_id=ANA)
    user.tap("🔎 Filtrar")
    [filters] = await api.wait_for("editMessageText", chat_id=ANA)
    assert "Taller de cocreación (1)" in _labels(filters.params)
    user.tap("Taller de cocreación (1)")
    [*_, listing] = await api.wait_for("editMessageText", chat_id=ANA, count=2)
    assert "de tipo «taller de cocreación»" in listing.params["text"]
    assert _events(listing.params) == await _ids(db, "EV-004")


async def test_a_corregimiento_is_not_called_a_comuna(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(ANA)
    user.send_text("/agenda")
    await api.wait_for("sendMessage", chat_id=ANA)
    user.tap("🔎 Filtrar")
    [filters] = await api.wait_for("editMessageText", chat_id=ANA)
    labels = _labels(filters.params)
    assert "Corregimiento 2 (1)" in labels and "1 · Norte (2)" in labels
    assert not any("C2" in label or "Comuna" in label for label in labels)

    user.send_text("/agenda c2")
    [_, listing] = await api.wait_for("sendMessage", chat_id=ANA, count=2)
    assert listing.params["text"].startswith("📅 <b>Próximos eventos</b> en el Corregimiento 2\n")
    assert _events(listing.params) == await _ids(db, "EV-010")
    user.tap("ev:e:" + (await _ids(db, "EV-010"))[0].rsplit(":", 1)[1])
    [*_, card] = await api.wait_for("editMessageText", chat_id=ANA, count=2)
    assert "\nCorregimiento 2\n" in card.params["text"]
    assert "Comuna C2" not in card.params["text"]

    user.send_text("/agenda 1")
    [*_, one] = await api.wait_for("sendMessage", chat_id=ANA, count=3)
    assert "en la comuna 1 · Norte" in one.params["text"]


async def test_my_data_writes_the_comuna_with_a_middle_dot(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        citizen = await give_consent(s, telegram_id=ANA, chat_id=ANA)
        one = (await s.exec(select(Comuna).where(Comuna.codigo == "1"))).one()
        row = (await s.exec(select(Citizen).where(Citizen.id == citizen.id))).one()
        row.comuna_id = one.id
        s.add(row)
        await s.commit()
    api.user(ANA).send_text("/mis_datos")
    [reply] = await api.wait_for("sendMessage", chat_id=ANA)
    assert "\nComuna: 1 · Norte\n" in reply.params["text"]


async def test_alerts_name_corregimientos_as_such(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await give_consent(s, telegram_id=ANA, chat_id=ANA)
    user = api.user(ANA)
    user.send_text("/alertas")
    [screen] = await api.wait_for("sendMessage", chat_id=ANA)
    labels = _labels(screen.params)
    assert "4 · Occidental" in labels and "Corregimiento 2" in labels
    assert not any(label.startswith("C2") for label in labels)
    user.tap("Corregimiento 2")
    [shown] = await api.wait_for("editMessageText", chat_id=ANA)
    assert "Comunas activas: Corregimiento 2." in shown.params["text"]


async def test_a_comuna_that_does_not_exist_is_named(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(ANA).send_text("/agenda 99")
    [reply] = await api.wait_for("sendMessage", chat_id=ANA)
    assert reply.params["text"] == "No encontré «99» entre las comunas y corregimientos."
