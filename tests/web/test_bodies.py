"""Request bodies are bounded: a huge POST is refused without being read into memory.

The 300 MB bodies below are generated chunk by chunk as the server asks for them, so the
test never holds them either; `CountingBody.pulled` says how much the server read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from bot.config import Settings, WebSettings
from bot.localapi import LocalBotAPI
from bot.webhook import MAX_UPDATE_BYTES, SECRET_HEADER
from storage.db import Database
from tests.utils.streams import CountingBody
from tests.utils.webhook import SECRET, instances
from tests.web.conftest import TOKEN
from web.site import MAX_BODY, build_site

HUGE = 300 * 1024 * 1024
CHUNK = 64 * 1024


async def _site_post(db: Database, settings: Settings, web: WebSettings,
                     body: CountingBody, headers: dict[str, str]) -> httpx.Response:
    app = build_site(db, settings, web)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sitio") as http:
        return await http.post("/api/seguir", content=body, headers=headers)


async def test_follow_refuses_a_300_mb_body_by_its_declared_length_without_reading_it(
    db: Database, site_settings: Settings, web_settings: WebSettings
) -> None:
    body = CountingBody(HUGE, CHUNK)
    response = await _site_post(db, site_settings, web_settings, body,
                                {"Content-Length": str(HUGE)})
    assert response.status_code == 413
    assert response.json() == {"ok": False, "mensaje": "La solicitud es demasiado grande."}
    assert body.pulled <= CHUNK  # at most what the transport had in hand; never the rest


async def test_follow_stops_reading_a_300_mb_body_without_length_just_past_8_kb(
    db: Database, site_settings: Settings, web_settings: WebSettings
) -> None:
    body = CountingBody(HUGE, 1024)
    response = await _site_post(db, site_settings, web_settings, body, {})
    assert response.status_code == 413
    assert response.json()["mensaje"] == "La solicitud es demasiado grande."
    assert MAX_BODY < body.pulled <= MAX_BODY + 1024


async def test_follow_still_reads_a_small_body_sent_without_length(
    db: Database, site_settings: Settings, web_settings: WebSettings
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield json.dumps({"init_data": "user=1&hash=00", "codigo": "OB-1"}).encode()

    app = build_site(db, site_settings, web_settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sitio") as http:
        response = await http.post("/api/seguir", content=chunks())
        bad_length = await http.post("/api/seguir", content=b"{}",
                                     headers={"Content-Length": "mucho"})
    assert response.status_code == 401  # read and parsed: the signature is what fails
    assert TOKEN not in response.text
    assert bad_length.status_code == 400


async def test_webhook_refuses_300_mb_updates_with_or_without_length(
    settings: Settings, api: LocalBotAPI
) -> None:
    async with instances(settings, api, count=1) as [bot]:
        declared = CountingBody(HUGE, CHUNK)
        response = await bot.client.post(
            "/telegram", content=declared,
            headers={SECRET_HEADER: SECRET, "Content-Length": str(HUGE)})
        assert response.status_code == 413
        assert declared.pulled <= CHUNK

        undeclared = CountingBody(HUGE, CHUNK)
        response = await bot.client.post("/telegram", content=undeclared,
                                         headers={SECRET_HEADER: SECRET})
        assert response.status_code == 413
        assert MAX_UPDATE_BYTES < undeclared.pulled <= MAX_UPDATE_BYTES + CHUNK

        # Without the secret nothing is read at all.
        stranger = CountingBody(HUGE, CHUNK)
        response = await bot.client.post("/telegram", content=stranger)
        assert response.status_code == 403
        assert stranger.pulled <= CHUNK

        # A normal update sent in pieces without a length is still served.
        update = json.dumps(api.user(611).send_text("/ayuda", enqueue=False)).encode()

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(update), 50):
                yield update[start:start + 50]

        response = await bot.client.post("/telegram", content=pieces(),
                                         headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200
        [reply] = await api.wait_for("sendMessage", chat_id=611)
        assert "Cómo usar Cabildo" in reply.params["text"]
