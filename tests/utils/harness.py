"""Run the real Application against the fake Bot API server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.app import build_application, running
from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI, LocalBotAPIServer

TEST_TOKEN = "123456789:TEST-token-for-the-fake-bot-api-server"


@asynccontextmanager
async def polling_bot(settings: Settings, api: LocalBotAPI) -> AsyncIterator[CabildoApp]:
    """Start the Application polling the fake server; stop everything on exit."""
    async with LocalBotAPIServer(api) as server:
        root = server.url
        app = build_application(
            dataclasses.replace(settings, token=TEST_TOKEN, api_base_url=root)
        )
        async with running(app, polling={"poll_interval": 0, "timeout": 1}):
            yield app
