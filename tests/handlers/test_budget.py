"""`/presupuesto` end to end: totals as the data says, offices, paging and the chart."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from bot.context import CabildoApp
from bot.formatting import money_short
from bot.localapi import LocalBotAPI
from handlers import budget
from storage.budget import execution
from storage.db import Database
from storage.models import BudgetLine

USER = 7101


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def _lines(db: Database) -> list[BudgetLine]:
    async with db.session() as s:
        return list((await s.exec(select(BudgetLine))).all())


async def test_totals_are_the_sums_of_the_data_in_colombian_format(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    lines = await _lines(db)
    appropriation = sum(Decimal(x.apropiacion_definitiva) for x in lines)
    committed = sum(Decimal(x.compromisos) for x in lines)
    paid = sum(Decimal(x.pagos or 0) for x in lines)
    api.user(USER).send_text("/presupuesto")
    [reply] = await api.wait_for("sendMessage", chat_id=USER)
    text = reply.params["text"]
    assert f"Apropiación definitiva: {money_short(appropriation)}" in text
    assert f"Compromisos: {money_short(committed)}" in text
    assert (f"Se ha comprometido el {committed / appropriation * 100:.0f} % del presupuesto de "
            f"2026 y se ha pagado el {paid / appropriation * 100:.0f} %.") in text
    assert "Datos con corte al 30 de septiembre de 2026." in text


async def test_an_office_by_name_sums_its_rubros(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    hacienda = [x for x in await _lines(db) if "Hacienda" in x.dependencia]
    api.user(USER).send_text("/presupuesto hacienda")
    [reply] = await api.wait_for("sendMessage", chat_id=USER)
    total = sum(Decimal(x.apropiacion_definitiva) for x in hacienda)
    assert hacienda[0].dependencia in reply.params["text"]
    assert f"Apropiación definitiva: {money_short(total)}" in reply.params["text"]
    api.user(USER).send_text("/presupuesto ministerio del espacio")
    _, missing = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert missing.params["text"].startswith("No encontré la dependencia")


async def test_offices_page_forward_and_back_and_the_chart_is_a_png(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    offices = {x.dependencia for x in await _lines(db)}
    user = api.user(USER)
    user.send_text("/presupuesto")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap("🏛️ Por dependencia")
    [first] = await api.wait_for("editMessageText", chat_id=USER)
    pages = -(-len(offices) // 8)
    assert f"Página 1 de {pages}" in first.params["text"]
    user.tap("Siguiente ▶️")
    [*_, second] = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert f"Página 2 de {pages}" in second.params["text"]
    user.tap("◀️ Anterior")
    [*_, back] = await api.wait_for("editMessageText", chat_id=USER, count=3)
    assert back.params["reply_markup"] == first.params["reply_markup"]
    user.tap("💰 Total")
    await api.wait_for("editMessageText", chat_id=USER, count=4)
    user.tap("📊 Ver gráfico")
    [photo] = await api.wait_for("sendPhoto", chat_id=USER, timeout=20)
    assert photo.files["photo"][1].startswith(b"\x89PNG")
    assert photo.params["caption"].startswith("📊 Ejecución del presupuesto 2026")
    assert f"cada una de las {len(offices)} dependencias" in photo.params["caption"]


async def test_forged_budget_buttons_are_refused(bot: CabildoApp, api: LocalBotAPI) -> None:
    user = api.user(USER)
    user.send_text("/presupuesto")
    await api.wait_for("sendMessage", chat_id=USER)
    update = user.tap("ppto:o:0", enqueue=False)
    update["callback_query"]["data"] = "ppto:d:999"
    api.enqueue(update)
    [edit] = await api.wait_for("editMessageText", chat_id=USER)
    assert edit.params["text"] == "Esa opción ya no está disponible."


async def test_the_chart_shows_every_office_lowest_execution_included(
    bot: CabildoApp, api: LocalBotAPI, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[tuple[list[str], list[float]]] = []
    original = budget.horizontal_bars

    async def recording(labels: list[str], values: list[float], **kwargs: Any) -> bytes:
        drawn.append((list(labels), list(values)))
        return await original(labels, values, **kwargs)

    monkeypatch.setattr(budget, "horizontal_bars", recording)
    async with db.session() as s:
        _, offices = await execution(s, vigencia=2026)
    user = api.user(USER)
    user.send_text("/presupuesto")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap("📊 Ver gráfico")
    await api.wait_for("sendPhoto", chat_id=USER, timeout=20)
    [(labels, values)] = drawn
    assert sorted(labels) == sorted(o.name for o in offices)
    assert values == sorted(values, reverse=True)
    lowest = min(offices, key=lambda o: o.executed)
    assert labels[-1] == lowest.name


async def test_the_same_chart_is_uploaded_once_and_then_sent_by_its_file_id(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    people = [api.user(USER), api.user(USER + 1), api.user(USER + 2)]
    for person in people:
        person.send_text("/presupuesto")
        await api.wait_for("sendMessage", chat_id=person.id)
        person.tap("📊 Ver gráfico")
        await api.wait_for("sendPhoto", chat_id=person.id, timeout=20)
        await _remembered(bot, bool)
    first, *others = [c for c in api.calls if c.method == "sendPhoto" and c.status == 200]
    assert first.files and first.files["photo"][1].startswith(b"\x89PNG")
    uploaded = first.response["result"]["photo"][-1]["file_id"]
    assert [call.params["photo"] for call in others] == [uploaded, uploaded]
    assert all(not call.files for call in others)
    # Every person got the same picture, with its caption.
    for person in people:
        [message] = [m for m in api.messages(person.id) if m.get("photo")]
        assert message["photo"][-1]["file_id"] == uploaded
        assert message["caption"].startswith("📊 Ejecución del presupuesto 2026")


async def test_a_file_id_telegram_no_longer_knows_is_uploaded_again(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    user = api.user(USER)
    user.send_text("/presupuesto")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap("📊 Ver gráfico")
    await api.wait_for("sendPhoto", chat_id=USER, timeout=20)
    remembered = await _remembered(bot, lambda ids: bool(ids))
    [key] = remembered
    remembered[key] = "GONE-FILE-ID"
    user.tap("📊 Ver gráfico")
    [*_, again] = await api.wait_for("sendPhoto", chat_id=USER, count=2, timeout=20)
    assert again.files["photo"][1].startswith(b"\x89PNG")
    uploaded = again.response["result"]["photo"][-1]["file_id"]
    assert (await _remembered(bot, lambda ids: ids.get(key) == uploaded))[key] == uploaded


async def _remembered(bot: CabildoApp, ready: Any) -> dict[str, str]:
    """Return the remembered photo ids once `ready(ids)` (the handler stores an id just
    after Telegram answers, so right after the photo call it may not be there yet)."""
    ids: dict[str, str] = {}
    for _ in range(500):
        ids = bot.bot_data.uploaded_photos
        if ready(ids):
            break
        await asyncio.sleep(0.01)
    return ids
