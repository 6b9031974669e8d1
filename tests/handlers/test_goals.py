"""`/metas` end to end: lines → programs → goal card with the imported figures."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.goals import lines, place_of, programs, progress, status_of
from storage.models import Goal, Subscription
from storage.privacy import give_consent

USER = 7001


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def _goals(db: Database) -> list[Goal]:
    async with db.session() as s:
        return list((await s.exec(select(Goal).order_by(col(Goal.codigo)))).all())


async def test_lines_summarise_status_counts_from_the_data(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    goals = await _goals(db)
    first_line = goals[0].linea
    in_line = [g for g in goals if g.linea == first_line]
    done = sum(1 for g in in_line if status_of(progress(g)) == "cumplida")
    late = sum(1 for g in in_line if status_of(progress(g)) == "rezagada")
    api.user(USER).send_text("/metas")
    [reply] = await api.wait_for("sendMessage", chat_id=USER)
    text = reply.params["text"]
    assert f"1. {first_line}: {len(in_line)} metas · {done} cumplidas" in text
    assert f"{late} rezagadas" in text
    assert text.count(" metas · ") == 5
    assert "· 1 cumplida ·" in text and "1 cumplidas" not in text  # agreement in number
    assert "rezagada: menos de 50 %" in text


async def test_tapping_down_to_a_goal_shows_its_figures(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    goal = (await _goals(db))[0]
    user = api.user(USER)
    user.send_text("/metas")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap("meta:l:1")
    await api.wait_for("editMessageText", chat_id=USER)
    user.tap("meta:p:1:1:0")
    [*_, listing] = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert goal.programa in listing.params["text"] and "Página 1 de 1" in listing.params["text"]
    user.tap(f"meta:g:{goal.codigo}")
    user.tap(f"meta:g:{goal.codigo}")  # a double tap: no error, same card
    await api.wait_for("answerCallbackQuery", count=4)
    [*_, card] = await api.wait_for("editMessageText", chat_id=USER, count=3)
    text = card.params["text"]
    pct = round(progress(goal))
    assert goal.meta in text and goal.indicador in text
    assert f"Meta del cuatrienio: {int(goal.meta_cuatrienio)} {goal.unidad}" in text
    assert f"{pct} %" in text and "▓" in text
    assert f"<b>{status_of(progress(goal))}</b>" in text
    assert "Datos con corte al 30 de septiembre de 2026." in text
    share = card.params["reply_markup"]["inline_keyboard"][0][1]
    assert share["url"].startswith("https://t.me/share/url?url=https%3A//t.me/cabildo_local_bot")
    assert f"start%3Dmeta_{goal.codigo}" in share["url"]
    back = card.params["reply_markup"]["inline_keyboard"][1][0]
    assert (back["text"], back["callback_data"]) == ("⬅️ Programa", "meta:p:1:1:0")
    assert not [c for c in api.calls_to(USER, ["sendMessage"]) if "Algo falló" in c.params["text"]]


async def test_search_finds_park_goals_and_says_so_when_nothing_matches(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    parks = [g for g in await _goals(db) if "parque" in g.meta.lower()]
    user = api.user(USER)
    user.send_text("/metas parques")
    [found] = await api.wait_for("sendMessage", chat_id=USER)
    buttons = [b["callback_data"] for row in found.params["reply_markup"]["inline_keyboard"]
               for b in row]
    assert {f"meta:g:{g.codigo}" for g in parks} <= set(buttons)
    user.send_text("/metas astronautas")
    _, missing = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert missing.params["text"].startswith("No encontré metas con «astronautas»")


async def test_a_forged_or_stale_button_is_answered_politely(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    user = api.user(USER)
    user.send_text("/metas")
    await api.wait_for("sendMessage", chat_id=USER)
    for data in ("meta:l:99", "meta:p:1:1:7", "meta:g:NO-EXISTE", "meta:p:x:1:0"):
        update = user.tap("meta:l:1", enqueue=False)
        update["callback_query"]["data"] = data
        update["update_id"] = api.new_update_id()
        api.enqueue(dict(update))
    edits = await api.wait_for("editMessageText", chat_id=USER)
    await api.wait_for("answerCallbackQuery", count=4)
    assert edits[0].params["text"] == "Esa opción ya no está disponible."
    assert len(api.calls_to(USER, ["sendMessage"])) == 1  # no "something failed" message


async def test_deep_link_opens_the_goal(bot: CabildoApp, api: LocalBotAPI, db: Database) -> None:
    goal = (await _goals(db))[5]
    api.user(USER).send_text(f"/start meta_{goal.codigo}")
    [card] = await api.wait_for("sendMessage", chat_id=USER)
    assert card.params["text"].startswith(f"🎯 <b>{goal.meta}")



async def test_following_a_goal_after_consent(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    goal = (await _goals(db))[2]
    async with db.session() as s:
        await give_consent(s, telegram_id=USER, chat_id=USER)
    user = api.user(USER)
    user.send_text(f"/start meta_{goal.codigo}")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap("🔔 Seguir esta meta")
    [edit] = await api.wait_for("editMessageReplyMarkup", chat_id=USER)
    assert "🔕 Dejar de seguir" in str(edit.params["reply_markup"])
    async with db.session() as s:
        subs = (await s.exec(select(Subscription).where(Subscription.chat_id == USER))).all()
    assert [(x.kind, x.value) for x in subs] == [("meta", goal.codigo)]


async def test_every_goal_card_leads_back_to_its_own_program(seed: None, db: Database) -> None:
    async with db.session() as session:
        tree = await lines(session)
        assert len(tree) > 1
        for branch in tree:
            found = await programs(session, line=branch.position)
            assert found is not None
            for prog in found[1]:
                for goal in prog.goals:
                    assert await place_of(session, goal) == (branch.position, prog.position)


def _buttons(call_params: dict[str, object]) -> list[tuple[str, str]]:
    markup = call_params.get("reply_markup") or {}
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


async def test_goals_can_be_listed_by_status_from_the_lines_screen(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    goals = await _goals(db)
    late = [g for g in goals if status_of(progress(g)) == "rezagada"]
    assert len(late) > 8  # the sample data pages
    user = api.user(USER)
    user.send_text("/metas")
    [screen] = await api.wait_for("sendMessage", chat_id=USER)
    labels = [text for text, _ in _buttons(screen.params)]
    counts = {s: sum(1 for g in goals if status_of(progress(g)) == s)
              for s in ("cumplida", "en curso", "rezagada")}
    assert f"🟢 Cumplidas ({counts['cumplida']})" in labels
    assert f"🟡 En curso ({counts['en curso']})" in labels
    assert f"🔴 Rezagadas ({counts['rezagada']})" in labels
    user.tap(f"🔴 Rezagadas ({counts['rezagada']})")
    [listing] = await api.wait_for("editMessageText", chat_id=USER)
    assert listing.params["text"].startswith(f"🔴 <b>Metas rezagadas: {len(late)}</b>")
    shown = [t for t, data in _buttons(listing.params) if data.startswith("meta:g:")]
    assert len(shown) == 8 and all(t.startswith("🔴 ") for t in shown)
    user.tap("Siguiente ▶️")
    [*_, second] = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert "Página 2 de" in second.params["text"]
    codes = [d.split(":")[2] for _, d in _buttons(second.params) if d.startswith("meta:g:")]
    assert codes == [g.codigo for g in late[8:16]]


@pytest.mark.parametrize("question", ["metas rezagadas", "/metas atrasadas",
                                      "¿Qué metas del plan van retrasadas?"])
async def test_asking_for_late_goals_in_words_lists_them(
    bot: CabildoApp, api: LocalBotAPI, db: Database, question: str
) -> None:
    late = [g for g in await _goals(db) if status_of(progress(g)) == "rezagada"]
    api.user(USER).send_text(question)
    [reply] = await api.wait_for("sendMessage", chat_id=USER)
    assert reply.params["text"].startswith(f"🔴 <b>Metas rezagadas: {len(late)}</b>")


async def test_a_sector_narrows_the_goals_in_a_status_and_an_empty_one_says_so(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    goals = await _goals(db)
    # Health goals by their own words; not the trees of the «Secretaría de Salud y Ambiente».
    done_health = [g for g in goals if status_of(progress(g)) == "cumplida"
                   and "salud" in f"{g.meta} {g.indicador} {g.programa}".lower()]
    assert any("salud" in (g.responsable or "").lower() and "salud" not in
               f"{g.meta} {g.indicador} {g.programa}".lower()
               and status_of(progress(g)) == "cumplida" for g in goals)  # one such is left out
    user = api.user(USER)
    user.send_text("metas de salud cumplidas")
    [reply] = await api.wait_for("sendMessage", chat_id=USER)
    if done_health:
        assert reply.params["text"].startswith(
            f"🟢 <b>Metas cumplidas con «salud»: {len(done_health)}</b>")
    else:
        assert reply.params["text"] == "No hay metas cumplidas con «salud» por ahora."
    late_health = [g for g in goals if status_of(progress(g)) == "rezagada"
                   and "salud" in f"{g.meta} {g.indicador} {g.programa}".lower()]
    user.send_text("¿qué metas de salud van atrasadas?")
    _, late = await api.wait_for("sendMessage", chat_id=USER, count=2)
    if late_health:
        assert late.params["text"].startswith(
            f"🔴 <b>Metas rezagadas con «salud»: {len(late_health)}</b>")
    else:  # the sample data: no health goal lags (the creeks of «Salud y Ambiente» do)
        assert late.params["text"] == "No hay metas rezagadas con «salud» por ahora."
    user.send_text("metas cumplidas de unicornios")
    _, _, none = await api.wait_for("sendMessage", chat_id=USER, count=3)
    assert none.params["text"] == "No hay metas cumplidas con «unicornios» por ahora."
    assert ("🟢 Todas las metas cumplidas", "meta:s:c::0") in _buttons(none.params)


@pytest.mark.parametrize("data", ["meta:s:x::0", "meta:s:c::99", "meta:s:c:0", "meta:s:r::-"])
async def test_forged_status_pages_change_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database, data: str
) -> None:
    user = api.user(USER)
    user.send_text("/metas")
    await api.wait_for("sendMessage", chat_id=USER)
    update = user.tap("meta:s:c::0", enqueue=False)
    update["callback_query"]["data"] = data
    api.enqueue(update)
    [reply] = await api.wait_for("editMessageText", chat_id=USER)
    assert reply.params["text"] == "Esa opción ya no está disponible."
