"""Run Application instances in webhook mode against the fake Bot API, fed through ASGI.

Each instance is a real Application built for webhook mode (no Updater), started the way
`bot.webhook.run_webhook` starts it, with its own `Database` handle on the shared test
database; updates reach it as POSTs to its ASGI app through `httpx.ASGITransport`, exactly
what Telegram behind a load balancer would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.app import build_application, running
from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI, LocalBotAPIServer, LocalRequest
from bot.webhook import SECRET_HEADER, build_web_app
from tests.utils.harness import TEST_TOKEN

SECRET = "s3cret-webhook-token-0123456789"


def instance_token(number: int) -> str:
    """Return the token instance `number` uses (same bot; lets tests tell instances apart)."""
    return TEST_TOKEN if number == 0 else f"{TEST_TOKEN}-{number}"


@dataclass
class Instance:
    """One running bot process: its Application and a client for its web app."""

    app: CabildoApp
    client: httpx.AsyncClient
    token: str

    async def post(self, update: dict[str, Any], *, secret: str | None = SECRET) -> int:
        """POST one update to /telegram as Telegram would; return the status code."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = await self.client.post("/telegram", json=update, headers=headers)
        return response.status_code

    async def deliver(self, update: dict[str, Any]) -> None:
        """POST one update with the right secret and check it was accepted."""
        status = await self.post(update)
        assert status == 200, status


def webhook_settings(settings: Settings, api_url: str, number: int = 0) -> Settings:
    """Return `settings` for webhook mode against the fake Bot API."""
    return dataclasses.replace(
        settings,
        token=instance_token(number),
        api_base_url=api_url,
        webhook_url="https://cabildo.example.org",
        webhook_secret=SECRET,
    )


@asynccontextmanager
async def instances(
    settings: Settings, api: LocalBotAPI, count: int = 2, *, http: bool = True
) -> AsyncIterator[list[Instance]]:
    """Start `count` webhook instances sharing the database and the fake Bot API: over
    HTTP on 127.0.0.1, or in-process (`LocalRequest`, `http=False`) where the transport is
    not what a test is about and thousands of calls would spend most of its time on it."""
    async with contextlib.AsyncExitStack() as servers:
        url = (await servers.enter_async_context(LocalBotAPIServer(api))).url if http else ""
        started: list[Instance] = []
        for number in range(count):
            config = webhook_settings(settings, url, number)
            app = build_application(config, request=None if http else LocalRequest(api))
            web = build_web_app(app, config)
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=web), base_url="http://cabildo.internal"
            )
            started.append(Instance(app, client, config.token))
        async with contextlib.AsyncExitStack() as stack:
            for instance in started:
                stack.push_async_callback(instance.client.aclose)
            await asyncio.gather(*(stack.enter_async_context(running(i.app)) for i in started))
            yield started
