"""Run the real Application against the fake Bot API: in-process, or over real HTTP on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.app import build_application, running
from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI, LocalBotAPIServer, LocalRequest

TEST_TOKEN = "123456789:TEST-token-for-the-fake-bot-api-server"


@asynccontextmanager
async def polling_bot(
    settings: Settings, api: LocalBotAPI, *, http: bool = False
) -> AsyncIterator[CabildoApp]:
    """Start the Application polling the fake Bot API; stop everything on exit.

    In-process by default (`LocalRequest`: PTB encodes and decodes every call as over the
    wire, without sockets); `http`: through the fake server on 127.0.0.1 and PTB's own
    HTTPX client, for the tests about the transport itself (timeouts, broken connections).
    """
    config = dataclasses.replace(settings, token=TEST_TOKEN)
    if not http:
        app = build_application(config, request=LocalRequest(api))
        async with running(app, polling={"poll_interval": 0, "timeout": 1}):
            yield app
        return
    async with LocalBotAPIServer(api) as server:
        app = build_application(dataclasses.replace(config, api_base_url=server.url))
        async with running(app, polling={"poll_interval": 0, "timeout": 1}):
            yield app
