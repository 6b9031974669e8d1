"""Updates of one chat run in order; a slow chat never holds up another."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.localapi import LocalBotAPI
from bot.updates import PerChatUpdateProcessor


def _update(api: LocalBotAPI, user_id: int, text: str) -> Update:
    return Update.de_json(api.user(user_id).send_text(text, enqueue=False), None)


async def test_one_chat_in_order_other_chats_not_blocked() -> None:
    api = LocalBotAPI()
    processor = PerChatUpdateProcessor(8)
    done: list[str] = []

    async def work(label: str, delay: float) -> None:
        await asyncio.sleep(delay)
        done.append(label)

    async with processor:
        await asyncio.gather(
            processor.process_update(_update(api, 1, "a1"), work("a1", 0.2)),
            processor.process_update(_update(api, 1, "a2"), work("a2", 0.0)),
            processor.process_update(_update(api, 2, "b1"), work("b1", 0.05)),
        )
    assert done == ["b1", "a1", "a2"]
    assert processor._locks == {}  # idle chats are forgotten
