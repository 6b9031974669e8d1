"""Fixtures and helpers of the outbox sender's tests (test_delivery, test_delivery_pace)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.delivery import OutboxSender
from bot.localapi import LocalBotAPI, LocalRequest
from storage import outbox
from storage.db import Database
from tests.utils.harness import TEST_TOKEN


@pytest.fixture
def api() -> LocalBotAPI:
    return LocalBotAPI()


@pytest.fixture
async def bot(api: LocalBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TEST_TOKEN, request=LocalRequest(api)) as bot:
        yield bot


def _sender(bot: Bot, db: Database, **kwargs: object) -> OutboxSender:
    options: dict[str, object] = {"rate_per_second": 5000, "backoff_base": 0.01,
                                  "batch_size": 200, "concurrency": 32}
    options.update(kwargs)
    return OutboxSender(bot, db, **options)  # type: ignore[arg-type]


def _delivered(api: LocalBotAPI) -> Counter[int]:
    return Counter(c.params["chat_id"] for c in api.calls if c.method == "sendMessage" and c.ok)


async def _drain_until_settled(sender: OutboxSender, db: Database) -> dict[str, int]:
    for _ in range(40):
        await sender.drain()
        async with db.session() as s:
            counts = await outbox.status_counts(s)
        if counts["pendiente"] == 0:
            break
        await asyncio.sleep(0.1)  # rows waiting for their retry time
    return counts
