"""Each update is one unit of work: what a handler wrote is saved before Telegram shows the
reply, and what a failing handler half-wrote is not saved at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select
from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from bot.context import CabildoApp, CabildoContext
from bot.localapi import LocalBotAPI
from handlers.errors import SOMETHING_FAILED
from storage.db import Database
from storage.models import Comuna

SAVED = "Listo, quedó guardado."


class WatchingAPI(LocalBotAPI):
    """A fake Telegram that looks in the database at the moment each reply arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.db: Database | None = None
        self.seen_at_reply: list[list[str]] = []

    async def handle(self, token: str, method: str, params: dict[str, Any],
                     files: Any = None) -> tuple[int, dict[str, Any]]:
        if method == "sendMessage" and self.db is not None:
            async with self.db.session() as s:
                self.seen_at_reply.append(sorted((await s.exec(select(Comuna.nombre))).all()))
        return await super().handle(token, method, params, files)


@pytest.fixture
def api() -> WatchingAPI:
    return WatchingAPI()


async def _save_then_reply(update: Update, context: CabildoContext) -> None:
    assert update.message is not None and update.message.text is not None
    name = update.message.text.split(maxsplit=1)[1]
    async with context.bot_data.db.session() as s:
        s.add(Comuna(codigo=name[:8], nombre=name, tipo="comuna"))
        if name == "falla":
            await s.flush()
            raise RuntimeError("a handler bug after writing")
    await update.message.reply_text(SAVED)
    raise ApplicationHandlerStop


async def test_a_handlers_write_is_saved_before_telegram_gets_the_reply(
    bot: CabildoApp, api: WatchingAPI, db: Database
) -> None:
    bot.add_handler(MessageHandler(filters.Regex("^guardar "), _save_then_reply), group=-5)
    api.db = db
    api.user(601).send_text("guardar Norte")
    [reply] = await api.wait_for("sendMessage", chat_id=601)
    assert reply.params["text"] == SAVED
    assert api.seen_at_reply == [["Norte"]]


async def test_what_a_failing_handler_wrote_is_not_saved_and_the_person_is_told(
    bot: CabildoApp, api: WatchingAPI, db: Database
) -> None:
    bot.add_handler(MessageHandler(filters.Regex("^guardar "), _save_then_reply), group=-5)
    api.user(602).send_text("guardar falla")
    [reply] = await api.wait_for("sendMessage", chat_id=602)
    assert reply.params["text"] == SOMETHING_FAILED
    api.user(602).send_text("guardar Sur")
    await api.wait_for("sendMessage", chat_id=602, count=2)
    async with db.session() as s:
        assert (await s.exec(select(Comuna.nombre))).all() == ["Sur"]
