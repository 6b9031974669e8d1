"""Webhook mode as `cabildo run` serves it: uvicorn on a real port, secret header required."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket

import httpx

from bot.app import build_application
from bot.config import Settings
from bot.localapi import LocalBotAPI, LocalBotAPIServer
from bot.webhook import run_webhook, web_server
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
        assert app.updater is None  # updates come through bot.webhook, not PTB's Updater
        web = web_server(app, config)
        running = asyncio.create_task(run_webhook(app, config, web))
        try:
            [registered] = await api.wait_for("setWebhook")
            assert registered.params["url"] == "https://cabildo.example.org/telegram"
            assert registered.params["secret_token"] == SECRET
            assert registered.params["drop_pending_updates"] is False
            async with asyncio.timeout(10):
                while not web.started:
                    await asyncio.sleep(0.02)
            update = api.user(601).send_text("/ayuda", enqueue=False)
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base) as client:
                body = json.dumps(update)
                headers = {"Content-Type": "application/json"}
                wrong = await client.post(
                    "/telegram", content=body,
                    headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "wrong"},
                )
                missing = await client.post("/telegram", content=body, headers=headers)
                assert (wrong.status_code, missing.status_code) == (403, 403)
                assert api.calls_to(601) == []
                right = await client.post(
                    "/telegram", content=body,
                    headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET},
                )
                assert right.status_code == 200
                health = await client.get("/healthz")
                assert health.status_code == 200 and health.json()["status"] == "ok"
            [reply] = await api.wait_for("sendMessage", chat_id=601)
            assert "Cómo usar Cabildo" in reply.params["text"]
        finally:
            web.should_exit = True
            await running
        assert not app.running
        assert [c.method for c in api.calls].count("setWebhook") == 1
        assert "deleteWebhook" not in [c.method for c in api.calls]  # other instances serve on
