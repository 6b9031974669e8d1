"""The command table: the menus, `/ayuda` and the access guard all follow it."""

from __future__ import annotations

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers.commands import COMMANDS

CITIZEN = 7501


async def test_everyones_menu_lists_the_citizen_commands_in_order(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    calls = await api.wait_for("setMyCommands", count=2)
    [everyone] = [c for c in calls if "scope" not in c.params]
    listed = [(c["command"], c["description"]) for c in everyone.params["commands"]]
    assert listed[0] == ("menu", "Menú principal")
    assert listed == [(c.name, c.menu) for c in COMMANDS if c.menu and c.role == "ciudadano"]
    assert not {"start", "privacidad", "panel", "vincular"} & {name for name, _ in listed}


async def test_help_names_each_citizen_command_once(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.user(CITIZEN).send_text("/ayuda")
    [reply] = await api.wait_for("sendMessage", chat_id=CITIZEN)
    text = reply.params["text"]
    for name in ("metas", "obras", "preguntar", "mis_preguntas", "privacidad", "cancelar"):
        assert text.count(f"/{name} — ") == 1, name
    assert "/panel" not in text and "/start" not in text
    assert "/menu — volver al menú\n/cancelar — salir de lo que esté haciendo\n\n" in text


async def test_no_staff_or_leader_command_answers_a_citizen(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    restricted = [c.name for c in COMMANDS if c.role != "ciudadano"]
    assert {"panel", "rol", "duplicada", "vincular"} <= set(restricted)
    user = api.user(CITIZEN)
    for name in restricted:
        user.send_text(f"/{name}")
    replies = await api.wait_for("sendMessage", chat_id=CITIZEN, count=len(restricted))
    assert [r.params["text"].split(".")[0] for r in replies] == [
        f"No conozco el comando /{name}" for name in restricted]
