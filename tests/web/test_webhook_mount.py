"""The site's routes mounted next to the webhook in one Starlette app (webhook mode)."""

from __future__ import annotations

import httpx

from bot.config import Settings, WebSettings
from bot.context import CabildoApp
from bot.webhook import build_web_app
from storage.db import Database
from web.site import web_routes


async def test_site_routes_live_beside_the_webhook(
    bot: CabildoApp, db: Database, settings: Settings, web_settings: WebSettings
) -> None:
    app = build_web_app(bot, settings, routes=web_routes(db, settings, web_settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sitio") as http:
        assert (await http.get("/mapa")).status_code == 200
        assert (await http.get("/static/vendor/leaflet/leaflet.js")).status_code == 200
        assert (await http.get("/datos/obras.json")).json()["datos"] == []
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.post("/telegram", json={})).status_code == 403
