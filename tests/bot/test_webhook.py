"""Webhook mode: Telegram's secret header is required; a request without it is refused."""

from __future__ import annotations

import dataclasses
import json
import socket

import httpx

from bot.app import build_application, webhook_options
from bot.config import Settings
from bot.localapi import LocalBotAPI, LocalBotAPIServer
from tests.utils.harness import TEST_TOKEN

SECRET = "s3cret-webhook-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_refuses_a_wrong_secret_and_serves_the_right_one(
    settings: Settings,
) -> None:
    api = LocalBotAPI()
    async with LocalBotAPIServer(api) as server:
        port = _free_port()
        config = dataclasses.replace(
            settings,
            token=TEST_TOKEN,
            api_base_url=server.url,
            webhook_url="https://cabildo.example.org",
            webhook_secret=SECRET,
            webhook_listen="127.0.0.1",
            webhook_port=port,
        )
        app = build_application(config)
        options = webhook_options(config)
        async with app:
            assert app.updater is not None
            await app.updater.start_webhook(**options)
            await app.start()
            try:
                [registered] = await api.wait_for("setWebhook")
                assert registered.params["url"] == "https://cabildo.example.org/telegram"
                assert registered.params["secret_token"] == SECRET
                update = api.user(601).send_text("/ayuda", enqueue=False)
                url = f"http://127.0.0.1:{port}/telegram"
                async with httpx.AsyncClient() as client:
                    body = json.dumps(update)
                    headers = {"Content-Type": "application/json"}
                    wrong = await client.post(
                        url,
                        content=body,
                        headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "wrong"},
                    )
                    missing = await client.post(url, content=body, headers=headers)
                    assert (wrong.status_code, missing.status_code) == (403, 403)
                    assert api.calls_to(601) == []
                    right = await client.post(
                        url,
                        content=body,
                        headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET},
                    )
                    assert right.status_code == 200
                [reply] = await api.wait_for("sendMessage", chat_id=601)
                assert "Cómo usar Cabildo" in reply.params["text"]
            finally:
                await app.updater.stop()
                await app.stop()
