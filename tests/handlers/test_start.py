"""The front door, end to end: a person talks to the real Application over HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers.keyboards import MENU_ITEMS
from storage.db import Database
from storage.demo import load_demo
from storage.models import Citizen
from tests.utils.harness import TEST_TOKEN


def _labels(markup: dict[str, object]) -> list[str]:
    rows = markup["inline_keyboard"]
    assert isinstance(rows, list)
    return [button["text"] for row in rows for button in row]


async def test_start_greets_shows_the_menu_and_keeps_only_ids(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.user(501, "María José").send_text("/start")
    [call] = await api.wait_for("sendMessage", chat_id=501)
    assert call.token == TEST_TOKEN
    assert "Hola, María José" in call.params["text"]
    assert "Alcaldía de Bucaramanga" in call.params["text"]
    assert _labels(call.params["reply_markup"]) == [label for label, _ in MENU_ITEMS]
    async with db.session() as s:
        citizen = (await s.exec(select(Citizen))).one()
    assert (citizen.telegram_id, citizen.chat_id, citizen.first_name) == (501, 501, None)
    assert citizen.consent_at is None


async def test_start_publishes_the_citizen_command_list(bot: CabildoApp, api: LocalBotAPI) -> None:
    calls = await api.wait_for("setMyCommands", count=2)
    [everyone] = [c for c in calls if "scope" not in c.params]
    commands = [c["command"] for c in everyone.params["commands"]]
    assert {"metas", "presupuesto", "obras", "agenda", "encuestas", "preguntar", "mis_preguntas",
            "presupuestos", "ayuda"} <= set(commands)
    assert "panel" not in commands  # staff commands only in staff members' own chats


async def test_every_menu_button_opens_its_area(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        await load_demo(s, tz=settings.tz)
    openings = {
        "🎯 Metas del plan": "Metas del plan de desarrollo",
        "💰 Presupuesto": "presupuesto",
        "🏗️ Obras": "Obras públicas",
        "📑 Contratación": "Contratación",
        "📄 Informes": "Informes",
        "📅 Agenda": "Próximos eventos",
        "📝 Encuestas": "Encuestas",
        "❓ Preguntar": "pregunta",
        "🗳️ Presupuestos participativos": "Presupuestos participativos",
        "🔔 Alertas": "alertas",
        "ℹ️ Ayuda": "Cómo usar Cabildo",
    }
    assert set(openings) == {label for label, _ in MENU_ITEMS}
    user = api.user(502)

    def screens(after: int) -> list[str]:
        return [c.params["text"] for c in api.calls[after:]
                if c.method in ("sendMessage", "editMessageText") and c.ok]

    async def next_screen(after: int) -> str:
        async with asyncio.timeout(15):
            while not screens(after):
                await asyncio.sleep(0.01)
        return screens(after)[0]

    for label, words in openings.items():
        before = len(api.calls)
        user.send_text("/menu")
        assert (await next_screen(before)).startswith("¿Qué quiere consultar?")
        before = len(api.calls)
        user.tap(label)
        assert words.lower() in (await next_screen(before)).lower(), label
        if label == "🏗️ Obras":  # then the «📍 Enviar mi ubicación» button, in its own message
            async with asyncio.timeout(15):
                while len(screens(before)) < 2:
                    await asyncio.sleep(0.01)
            assert screens(before)[1].startswith("📍 Para ver las obras cercanas")


async def test_double_tap_answers_twice_and_changes_nothing(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    user = api.user(503)
    user.send_text("/menu")
    await api.wait_for("sendMessage", chat_id=503)
    user.tap("ℹ️ Ayuda")
    user.tap("ℹ️ Ayuda")
    await api.wait_for("answerCallbackQuery", count=2)
    replies = await api.wait_for("sendMessage", chat_id=503, count=3)
    assert all("Cómo usar Cabildo" in c.params["text"] for c in replies[1:])


async def test_help_lists_the_commands_in_plain_spanish(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(504).send_text("/ayuda")
    [call] = await api.wait_for("sendMessage", chat_id=504)
    assert "/metas — cómo van las metas del plan de desarrollo" in call.params["text"]
    assert "Ley 1581 de 2012" in call.params["text"]


async def test_unknown_command_is_named_escaped_and_offers_the_menu(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    api.user(505).send_text("/borrar<b>todo</b>")
    [call] = await api.wait_for("sendMessage", chat_id=505)
    assert "No conozco el comando /borrar&lt;b&gt;todo&lt;/b&gt;" in call.params["text"]
    assert _labels(call.params["reply_markup"])[0] == "🎯 Metas del plan"


async def test_long_free_text_gets_a_plain_answer(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(506).send_text("¿cómo va la obra? " * 280)  # ~5,000 characters
    [call] = await api.wait_for("sendMessage", chat_id=506)
    assert call.params["text"] == (
        "Su mensaje es muy largo. Escríbalo en 1.000 caracteres o menos, por favor."
    )


async def test_a_flood_is_answered_once_then_ignored_and_others_are_served(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    flooder, neighbour = api.user(510), api.user(511)
    for i in range(30):
        flooder.send_text(f"hola {i}")
    neighbour.send_text("/ayuda")
    [help_reply] = await api.wait_for("sendMessage", chat_id=511)
    assert "Cómo usar Cabildo" in help_reply.params["text"]
    replies = await api.wait_for("sendMessage", chat_id=510, count=21)
    texts = [c.params["text"] for c in replies]
    assert sum(t.startswith("Está enviando muchos mensajes seguidos. Podrá seguir en ")
               for t in texts) == 1
    assert len(texts) == 21


async def test_forged_button_is_refused_without_acting(bot: CabildoApp, api: LocalBotAPI) -> None:
    user = api.user(507)
    user.send_text("/menu")
    [menu] = await api.wait_for("sendMessage", chat_id=507)
    menu_id = menu.response["result"]["message_id"]
    forged = user.tap("menu:metas", message_id=menu_id, enqueue=False)
    forged["callback_query"]["data"] = "staff:difundir:all"
    api.enqueue(forged)
    [answer] = await api.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Ese botón ya no está disponible."
    assert len(api.calls_to(507, ["sendMessage"])) == 1


async def test_cancel_without_a_flow_says_so(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(508).send_text("/cancelar")
    [call] = await api.wait_for("sendMessage", chat_id=508)
    assert call.params["text"] == "No hay nada en curso para cancelar."


async def test_a_failure_apologises_without_internals(
    bot: CabildoApp, api: LocalBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("connection to server at 10.0.0.5 failed: password=hunter2")

    monkeypatch.setattr("handlers.events.upcoming", broken)
    api.user(509).send_text("/agenda")
    [call] = await api.wait_for("sendMessage", chat_id=509)
    assert call.params["text"].startswith("😕 Algo falló de nuestro lado")
    assert "hunter2" not in call.params["text"] and "10.0.0.5" not in call.params["text"]


async def test_free_text_answers_with_matches_or_says_it_found_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        await load_demo(s, tz=settings.tz)
    user = api.user(512)
    user.send_text("como va el parke de la joya")
    [found] = await api.wait_for("sendMessage", chat_id=512)
    # One work clearly meant: the first reply says how it is going, not only its title.
    assert found.params["text"].startswith(
        "<b>Parque del barrio La Joya</b> está <b>en contratación</b>, con <b>0 %</b> de avance"
    )
    first = found.params["reply_markup"]["inline_keyboard"][0][0]
    assert first["callback_data"] == "obra:w:OB-2026-010"
    user.send_text("precio del dolar hoy")
    user.send_text("Buenas tardes")
    _, nothing, hello = await api.wait_for("sendMessage", chat_id=512, count=3)
    assert nothing.params["text"].startswith("No encontré información sobre «precio del dolar hoy»")
    assert hello.params["text"].startswith("¡Hola!")


@pytest.mark.parametrize(
    ("payload", "note"),
    [
        ("obra_NOEXISTE", "🔗 No encontré esa obra: el enlace puede estar vencido o mal copiado."),
        ("evento_9999", "🔗 No encontré ese evento: el enlace puede estar vencido o mal copiado."),
        ("encuesta_nope", "🔗 No encontré esa encuesta: el enlace puede estar vencido o mal"
                          " copiado."),
        ("pp_99", "🔗 No encontré esa votación de presupuestos participativos: el enlace puede"
                  " estar vencido o mal copiado."),
        ("basura$$$", "🔗 No reconozco ese enlace."),
        ("obra_", "🔗 No encontré esa obra: el enlace puede estar vencido o mal copiado."),
    ],
)
async def test_a_dead_deep_link_says_so_then_welcomes(
    bot: CabildoApp, api: LocalBotAPI, payload: str, note: str
) -> None:
    api.user(502).send_text(f"/start {payload}")
    said, welcome = await api.wait_for("sendMessage", chat_id=502, count=2)
    assert said.params["text"] == note
    assert "Soy <b>Cabildo</b>" in welcome.params["text"]


async def test_a_lower_case_goal_or_work_link_still_opens_it(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        await load_demo(s, tz=settings.tz)
    api.user(503).send_text("/start meta_l1-p01-m01")
    [card] = await api.wait_for("sendMessage", chat_id=503)
    assert "Meta del cuatrienio" in card.params["text"]


async def test_staff_may_write_up_to_telegrams_limit(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(1000).send_text("Aviso importante. " * 120)  # 2,160 characters: a broadcast
    [reply] = await api.wait_for("sendMessage", chat_id=1000)
    assert "muy largo" not in reply.params["text"]
    api.user(1000).send_text("x" * 4100)
    _, refused = await api.wait_for("sendMessage", chat_id=1000, count=2)
    assert refused.params["text"] == (
        "Su mensaje es muy largo. Escríbalo en 4.096 caracteres o menos, por favor.")


async def test_a_database_outage_gets_one_apology_per_update_and_one_log_line(
    bot: CabildoApp, api: LocalBotAPI, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Measured: 80 updates in a 20 s outage got 148 apologies and 185 tracebacks."""

    @asynccontextmanager
    async def unreachable() -> AsyncIterator[None]:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused"))
        yield  # pragma: no cover

    monkeypatch.setattr(bot.bot_data.db, "session", unreachable)
    people = range(520, 530)
    with caplog.at_level(logging.INFO):
        for person in people:
            api.user(person).send_text("/metas")
        for person in people:
            await api.wait_for("sendMessage", chat_id=person)
        await asyncio.sleep(0.3)  # a second apology would have come by now
    for person in people:
        [apology] = api.calls_to(person, ["sendMessage"])
        assert apology.params["text"].startswith("😕 Algo falló de nuestro lado")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "ConnectionRefusedError" in errors[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
