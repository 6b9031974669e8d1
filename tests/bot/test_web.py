"""The webhook web app: Telegram's secret is required, and /healthz tells the truth."""

from __future__ import annotations

from datetime import timedelta
from importlib import metadata
from pathlib import Path

import httpx

from bot.app import build_application
from bot.config import Settings
from bot.localapi import LocalBotAPI
from bot.webhook import build_web_app
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage
from storage.types import utcnow
from tests.utils.webhook import SECRET, instances, webhook_settings


async def test_updates_without_the_right_secret_are_refused(
    settings: Settings, api: LocalBotAPI
) -> None:
    async with instances(settings, api, count=1) as [bot]:
        update = api.user(601).send_text("/ayuda", enqueue=False)
        assert await bot.post(update, secret=None) == 403
        assert await bot.post(update, secret="wrong-secret-0123456789") == 403
        assert await bot.post(update, secret=SECRET[:-1]) == 403
        response = await bot.client.post(
            "/telegram", content=b"[1, 2]", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert response.status_code == 400
        assert api.calls_to(601) == []
        assert await bot.post(update) == 200
        [reply] = await api.wait_for("sendMessage", chat_id=601)
        assert "Cómo usar Cabildo" in reply.params["text"]
        assert (await bot.client.get("/telegram")).status_code == 405


async def test_healthz_reports_database_and_pending_outbox(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as session:  # due tomorrow: stays pending during the test
        await outbox.enqueue(session, chat_ids=[7001, 7002], payload={"text": "mañana"},
                             not_before=utcnow() + timedelta(days=1))
    async with instances(settings, api, count=1) as [bot]:
        response = await bot.client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok" and body["database"] == "ok" and body["running"] is True
        assert body["outbox_pending"] == 2
        assert body["version"] == metadata.version("cabildo")


async def test_healthz_reports_rows_stuck_in_flight_uncertain_ones_and_a_stalled_sender(
    settings: Settings, api: LocalBotAPI, db: Database
) -> None:
    """Measured: a dead sender's rows stayed `enviando` while /healthz said ok."""
    now = utcnow()
    async with db.session() as session:
        session.add_all([
            OutboxMessage(chat_id=7101, status="enviando", payload={"text": "x"},
                          claimed_by="muerta", claimed_at=now - timedelta(minutes=3),
                          lease_until=now - timedelta(minutes=2), not_before=now,
                          created_at=now),
            OutboxMessage(chat_id=7102, status="incierto", payload={"text": "x"},
                          claimed_at=now - timedelta(hours=1), not_before=now,
                          created_at=now),
        ])
        await session.commit()
    async with instances(settings, api, count=1) as [bot]:
        body = (await bot.client.get("/healthz")).json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert (body["outbox_stuck"], body["outbox_uncertain_24h"]) == (1, 1)
    assert body["outbox_stalled"] is False


async def test_healthz_is_503_when_the_database_is_unreachable(
    settings: Settings, tmp_path: Path
) -> None:
    config = webhook_settings(settings, "http://127.0.0.1:9")
    broken = Database(f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/cabildo.db")
    app = build_application(config, database=broken)
    web = build_web_app(app, config)
    transport = httpx.ASGITransport(app=web)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            response = await client.get("/healthz")
    finally:
        await broken.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["database"] == "error"
    assert body["outbox_pending"] is None
