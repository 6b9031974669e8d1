"""`/obras` end to end: comunas, a comuna's works, the card and venue, follow, location."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import money_short
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.models import Comuna, Subscription, Work
from storage.privacy import give_consent
from storage.works import distance_m

USER = 7201


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def _comuna_works(db: Database, code: str) -> list[Work]:
    async with db.session() as s:
        comuna = (await s.exec(select(Comuna).where(Comuna.codigo == code))).one()
        query = select(Work).where(Work.comuna_id == comuna.id).order_by(col(Work.nombre))
        return list((await s.exec(query)).all())


def _buttons(call_params: dict[str, object]) -> list[str]:
    markup = call_params["reply_markup"]
    assert isinstance(markup, dict)
    return [b.get("callback_data", "") for row in markup["inline_keyboard"] for b in row]


def test_haversine_distance_of_known_points() -> None:
    # Parque Santander to Parque San Pío, Bucaramanga: about 2.1 km.
    assert 1900 < distance_m(7.1197, -73.1246, 7.1117, -73.1093) < 2100
    assert distance_m(7.0, -73.0, 7.0, -73.0) == 0


async def test_comunas_then_a_comuna_lists_exactly_its_works(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(USER)
    user.send_text("/obras")
    index, prompt = await api.wait_for("sendMessage", chat_id=USER, count=2)
    comunas = [d for d in _buttons(index.params) if d.startswith("obra:c:")]
    assert len(comunas) == 20
    # The location is one tap away: a keyboard button that asks the phone for it.
    assert prompt.params["text"] == (
        "📍 Para ver las obras cercanas, toque «📍 Enviar mi ubicación» abajo.")
    assert prompt.params["reply_markup"]["keyboard"] == [
        [{"text": "📍 Enviar mi ubicación", "request_location": True}]]
    user.send_text("/obras comuna 4")
    *_, listing = await api.wait_for("sendMessage", chat_id=USER, count=3)
    expected = await _comuna_works(db, "4")
    # Each card button carries the list it is in, so «⬅️» comes back to this page.
    assert [d for d in _buttons(listing.params) if d.startswith("obra:w:")] == [
        f"obra:w:{w.codigo}:c:4:0" for w in expected
    ]


async def test_a_card_shows_the_figures_and_a_venue_once_even_on_double_tap(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    work = next(w for w in await _comuna_works(db, "4") if w.latitud is not None)
    user = api.user(USER)
    user.send_text("/obras occidental")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap(f"obra:w:{work.codigo}:c:4:0")
    user.tap(f"obra:w:{work.codigo}:c:4:0")
    await api.wait_for("answerCallbackQuery", count=2)
    [card] = await api.wait_for("editMessageText", chat_id=USER)
    text = card.params["text"]
    assert work.nombre in text and f"Estado: <b>{work.estado}</b>" in text
    if work.valor_contrato is not None:
        assert money_short(work.valor_contrato) in text
    [venue] = await api.wait_for("sendVenue", chat_id=USER)
    assert (venue.params["latitude"], venue.params["longitude"]) == (work.latitud, work.longitud)
    assert len(api.calls_to(USER, ["sendVenue"])) == 1


async def test_following_needs_consent_and_is_idempotent(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    work = (await _comuna_works(db, "12"))[0]
    user = api.user(USER)
    user.send_text(f"/start obra_{work.codigo}")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap("🔔 Seguir esta obra")
    [*_, notice] = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert "Sus datos personales" in notice.params["text"]
    async with db.session() as s:
        await give_consent(s, telegram_id=USER, chat_id=USER)
    icons = ("🟢", "🟡", "🔴", "⚪")
    [card] = [m for m in api.messages(USER) if m.get("text", "").startswith(icons)]
    user.tap("🔔 Seguir esta obra", message_id=card["message_id"])
    answers = await api.wait_for("answerCallbackQuery", count=2)
    assert answers[-1].params["text"] == "Le avisaré de los cambios de esta obra."
    [edit] = await api.wait_for("editMessageReplyMarkup", chat_id=USER)
    assert "🔕 Dejar de seguir" in str(edit.params["reply_markup"])
    async with db.session() as s:
        subs = (await s.exec(select(Subscription).where(Subscription.chat_id == USER))).all()
    assert [(x.kind, x.value) for x in subs] == [("obra", work.codigo)]


async def test_a_card_says_whether_this_person_follows_the_work(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    first, second = (await _comuna_works(db, "12"))[:2]
    async with db.session() as s:
        s.add(Subscription(chat_id=USER, kind="obra", value=first.codigo))
        s.add(Subscription(chat_id=USER + 1, kind="obra", value=second.codigo))
        await s.commit()
    user = api.user(USER)
    cards = ((first, "🔕 Dejar de seguir"), (second, "🔔 Seguir esta obra"))
    for shown, (work, label) in enumerate(cards, start=1):
        user.send_text(f"/start obra_{work.codigo}")
        *_, card = await api.wait_for("sendMessage", chat_id=USER, count=shown)
        assert work.nombre in card.params["text"]
        assert card.params["reply_markup"]["inline_keyboard"][0][0]["text"] == label


async def test_a_location_lists_the_nearest_works_first(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    work = next(w for w in await _comuna_works(db, "15") if w.latitud is not None)
    assert work.latitud is not None and work.longitud is not None
    user = api.user(USER)
    user.send_location(work.latitud + 0.0005, work.longitud)
    [reply] = await api.wait_for("sendMessage", chat_id=USER)
    first = reply.params["reply_markup"]["inline_keyboard"][0][0]
    assert first["callback_data"].startswith(f"obra:w:{work.codigo}:n:")
    assert first["text"].split(" · ")[0].endswith("a 60 m")
    assert len(reply.params["reply_markup"]["inline_keyboard"]) == 5
    # The card opened from the list goes back to the same list, not to a comuna's.
    user.tap(first["callback_data"])
    [card] = await api.wait_for("editMessageText", chat_id=USER)
    assert card.params["text"].startswith(f"{'🟡' if 'ejec' in work.estado.lower() else ''}")
    user.tap("⬅️ Obras cercanas")
    _, again = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert again.params["text"] == "📍 <b>Obras más cercanas a su ubicación</b>"
    assert again.params["reply_markup"]["inline_keyboard"][0][0] == first
    user.send_location(4.711, -74.072)  # Bogotá
    *_, far = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert far.params["text"].startswith("Su ubicación parece estar fuera del municipio")


async def test_a_junta_group_gets_no_location_button(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    api.group(-100400, "Junta comuna 4")
    user = api.user(USER)
    user.send_text("/obras", chat_id=-100400)
    await api.wait_for("sendMessage", chat_id=-100400)
    user.send_text("/obras 4", chat_id=-100400)
    index, listing = await api.wait_for("sendMessage", chat_id=-100400, count=2)
    assert index.params["text"].startswith("🏗️ <b>Obras públicas</b>")
    assert listing.params["text"].startswith("🏗️ <b>Obras")
    assert "keyboard" not in listing.params["reply_markup"]  # Telegram asks only in private


async def test_forged_work_buttons_are_refused(bot: CabildoApp, api: LocalBotAPI) -> None:
    user = api.user(USER)
    user.send_text("/obras")
    await api.wait_for("sendMessage", chat_id=USER)
    update = user.tap("obra:c:1:0", enqueue=False)
    update["callback_query"]["data"] = "obra:c:99:0"
    api.enqueue(update)
    [edit] = await api.wait_for("editMessageText", chat_id=USER)
    assert edit.params["text"] == "Esa opción ya no está disponible."


async def test_comunas_are_read_like_imports_and_a_missing_one_is_named(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(USER)
    user.send_text("/obras Comuna 4 - Occidental")
    [listing] = await api.wait_for("sendMessage", chat_id=USER)
    expected = await _comuna_works(db, "4")
    # Each card button carries the list it is in, so «⬅️» comes back to this page.
    assert [d for d in _buttons(listing.params) if d.startswith("obra:w:")] == [
        f"obra:w:{w.codigo}:c:4:0" for w in expected
    ]
    user.send_text("/obras comuna 99")
    _, missing = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert missing.params["text"] == (
        "No encontré «comuna 99» entre las comunas y corregimientos. Elija uno:")
    assert not [d for d in _buttons(missing.params) if d.startswith("obra:w:")]


async def test_a_corregimiento_work_card_leads_back_to_its_own_list(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        rural = (await s.exec(select(Work, Comuna).join(Comuna).where(
            col(Comuna.codigo).startswith("C")))).first()
    assert rural is not None
    work, comuna = rural
    user = api.user(USER)
    user.send_text(f"/start obra_{work.codigo}")
    [card] = await api.wait_for("sendMessage", chat_id=USER)
    assert f"obra:c:{comuna.codigo}:0" in _buttons(card.params)


async def test_works_in_a_status_follow_the_data_and_a_stale_page_is_refused(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(USER)
    user.send_text("obras terminadas")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap("obra:s:terminada::0")
    [first] = await api.wait_for("editMessageText", chat_id=USER)
    assert first.params["text"] == "🏗️ <b>Obras terminadas: 19</b>\nPágina 1 de 3"
    user.tap("Siguiente ▶️")
    [_, second] = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert second.params["text"].endswith("Página 2 de 3")
    async with db.session() as s:  # an import reopens four works
        finished = (await s.exec(select(Work).where(Work.estado == "Terminada")
                                 .order_by(col(Work.codigo)))).all()
        for work in finished[:4]:
            work.estado = "En ejecución"
            s.add(work)
        await s.commit()
    user.tap("obra:s:terminada::2")  # the third page no longer exists
    [*_, stale] = await api.wait_for("editMessageText", chat_id=USER, count=3)
    assert stale.params["text"] == "Esa opción ya no está disponible."
    assert _buttons(stale.params) == ["obra:i"]
    user.tap("obra:i")
    [*_, index] = await api.wait_for("editMessageText", chat_id=USER, count=4)
    assert index.params["text"].startswith("🏗️ <b>Obras públicas</b>")
    update = user.tap("obra:c:1:0", enqueue=False)
    update["callback_query"]["data"] = "obra:s:terminada::1"
    api.enqueue(update)
    [*_, page] = await api.wait_for("editMessageText", chat_id=USER, count=5)
    assert page.params["text"] == "🏗️ <b>Obras terminadas: 15</b>\nPágina 2 de 2"
    codes = [d.split(":")[2] for d in _buttons(page.params) if d.startswith("obra:w:")]
    assert len(codes) == 7 and not {w.codigo for w in finished[:4]} & set(codes)


async def test_a_card_says_when_a_work_is_past_its_planned_end(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    today = datetime.now(settings.tz).date()
    async with db.session() as s:
        works = list((await s.exec(select(Work).order_by(col(Work.codigo)))).all())
    late = next(w for w in works if w.fecha_fin_prevista and w.fecha_fin_prevista < today
                and w.estado != "Terminada")
    done = next(w for w in works if w.fecha_fin_prevista and w.fecha_fin_prevista < today
                and w.estado == "Terminada")
    user = api.user(USER)
    user.send_text(f"/start obra_{late.codigo}")
    user.send_text(f"/start obra_{done.codigo}")
    late_card, done_card = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert "— ⚠️ <b>atrasada</b>: esa fecha ya pasó y no ha terminado" in late_card.params["text"]
    assert "atrasada" not in done_card.params["text"]


async def test_following_from_a_status_list_card_keeps_the_way_back_and_forged_tails_fail(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await give_consent(s, telegram_id=USER, chat_id=USER)
    user = api.user(USER)
    user.send_text("/obras")
    await api.wait_for("sendMessage", chat_id=USER)
    update = user.tap("obra:c:1:0", enqueue=False)
    update["callback_query"]["data"] = "obra:s:suspendida::0"
    api.enqueue(update)
    [listing] = await api.wait_for("editMessageText", chat_id=USER)
    first = next(d for d in _buttons(listing.params) if d.startswith("obra:w:"))
    assert first.endswith(":s:suspendida::0")
    user.tap(first)
    await api.wait_for("editMessageText", chat_id=USER, count=2)
    user.tap("🔔 Seguir esta obra")
    [*_, redrawn] = await api.wait_for("editMessageReplyMarkup", chat_id=USER)
    assert "obra:s:suspendida::0" in _buttons(redrawn.params)  # still «⬅️ Obras suspendidas»
    update = user.tap("obra:s:suspendida::0", enqueue=False)
    update["callback_query"]["data"] = first.replace(":s:suspendida::0", ":s:borrada::0")
    api.enqueue(update)
    [*_, gone] = await api.wait_for("editMessageText", chat_id=USER, count=3)
    assert gone.params["text"] == "Esa opción ya no está disponible."
