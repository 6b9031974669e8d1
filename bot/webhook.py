"""Webhook mode: an ASGI app (Starlette, served by uvicorn) in front of the Application.

Several processes can run this behind one URL and a load balancer: any instance takes any
update, because conversation state lives in the database (storage.conversations), and
work that must happen once is claimed in the database (outbox rows, scheduled runs).

Routes (more can be added through `build_web_app(..., routes=[...])`):
- `POST /telegram` — Telegram's updates. Requests without the right
  `X-Telegram-Bot-Api-Secret-Token` header get 403; accepted updates go on the
  Application's update queue and the answer is 200 at once (handlers run afterwards).
  A body over MAX_UPDATE_BYTES is refused (413) by its Content-Length before it is read,
  or as soon as that many bytes have arrived when it has none. An update whose
  `update_id` some instance already took in the last hour (a redelivery) is answered 200
  and dropped (storage.seen_updates).
- `GET /healthz` — JSON with status, whether the database answers `SELECT 1`, the outbox
  (pending, stuck in flight, `incierto` in the last day, whether it has not drained for a
  minute: then status is "degraded"), and the version; 200 when the instance runs and its
  database answers, 503 otherwise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hmac
import json
import logging
from collections.abc import Sequence
from typing import Any

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app import WEBHOOK_PATH, running, webhook_options
from bot.config import Settings
from bot.context import CabildoApp
from bot.outages import Outages, is_outage
from bot.updates import first_sighting, update_from_json
from bot.version import version
from storage.db import Database
from storage.operations import OutboxHealth, outbox_health
from storage.types import utcnow
from web.bodies import BadLength, BodyTooLarge, read_capped

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 5.0
MAX_UPDATE_BYTES = 1_000_000  # Telegram's updates are a few KB; refuse anything absurd


async def health(
    database: Database, outages: Outages | None = None
) -> tuple[bool, OutboxHealth | None]:
    """Return whether the database answers, and the outbox's health if it does."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT), database.session() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            state = await outbox_health(session, now=utcnow())
    except Exception as exc:  # any failure means "not healthy"; the reason goes to the log
        if outages is not None and is_outage(exc):
            outages.failed(exc, "healthz")
        else:
            log.warning("healthz: database unreachable", exc_info=True)
        return False, None
    return True, state


def build_web_app(
    app: CabildoApp, settings: Settings, *, routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """Return the ASGI app serving Telegram's webhook and the health check (and `routes`)."""
    secret = settings.webhook_secret.encode()

    async def telegram(request: Request) -> Response:
        """Accept one update from Telegram if it carries the secret; queue it."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            log.warning("webhook: request without the right secret from %s",
                        request.client.host if request.client else "?")
            return Response(status_code=403)
        try:
            body = await read_capped(request, MAX_UPDATE_BYTES)
        except BodyTooLarge:
            log.warning("webhook: body over %d bytes refused", MAX_UPDATE_BYTES)
            return Response(status_code=413)
        except BadLength:
            return Response(status_code=400)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            update = update_from_json(data, app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("webhook: body is not an update")
            return Response(status_code=400)
        if not await first_sighting(app.bot_data, update.update_id):
            log.info("webhook: update %d was already taken; dropped", update.update_id)
            return Response(status_code=200)  # Telegram must not send it yet again
        chat = update.effective_chat
        log.debug("webhook: update received",
                  extra={"update_id": update.update_id, "chat_id": chat.id if chat else None})
        await app.update_queue.put(update)
        return Response(status_code=200)

    async def healthz(request: Request) -> JSONResponse:
        """Report whether this instance can serve: running, database reachable."""
        db_ok, outbox_state = await health(app.bot_data.db, app.bot_data.outages)
        ok = db_ok and app.running
        degraded = outbox_state is not None and (outbox_state.stalled or outbox_state.stuck > 0)
        body: dict[str, Any] = {
            "status": "error" if not ok else "degraded" if degraded else "ok",
            "database": "ok" if db_ok else "error",
            "running": app.running,
            "outbox_pending": outbox_state.pending if outbox_state else None,
            # `enviando` past their lease (their sender died; the minute sweep settles them),
            # `incierto` in the last day (may have arrived, never resent), and whether
            # messages have been due for a minute with none handed to Telegram.
            "outbox_stuck": outbox_state.stuck if outbox_state else None,
            "outbox_uncertain_24h": outbox_state.uncertain_day if outbox_state else None,
            "outbox_stalled": outbox_state.stalled if outbox_state else None,
            "version": version(),
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    return Starlette(
        routes=[
            Route(f"/{WEBHOOK_PATH}", telegram, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *routes,
        ]
    )


def _with_username(settings: Settings, username: str | None) -> Settings:
    """Return settings whose site links to this bot (unless TELEGRAM_BOT_USERNAME says)."""
    if settings.web.bot_username or not username:
        return settings
    return dataclasses.replace(
        settings, web=dataclasses.replace(settings.web, bot_username=username)
    )


def web_server(
    app: CabildoApp, settings: Settings, *, routes: Sequence[BaseRoute] = ()
) -> uvicorn.Server:
    """Return the uvicorn server for the web app, listening on WEBHOOK_LISTEN:WEBHOOK_PORT."""
    config = uvicorn.Config(
        build_web_app(app, settings, routes=routes),
        host=settings.webhook_listen,
        port=settings.webhook_port,
        log_config=None,  # bot.logs has set up logging: one format, secrets masked
        access_log=False,
        lifespan="off",
        proxy_headers=True,
    )
    return uvicorn.Server(config)


async def run_webhook(
    app: CabildoApp, settings: Settings, server: uvicorn.Server | None = None
) -> None:
    """Start the Application, register the webhook once, and serve until told to stop.

    uvicorn stops on SIGTERM or SIGINT (or when `server.should_exit` is set); the
    Application then finishes what it has in hand and shuts down.
    """
    register = functools.partial(app.bot.set_webhook, **webhook_options(settings))
    async with running(app, before_start=register):
        if server is None:
            # The map, transparency page and open data share the webhook's address and port.
            from web.site import web_routes

            site = _with_username(settings, app.bot.username)
            server = web_server(app, settings, routes=web_routes(app.bot_data.db, site))
        log.info("webhook: serving on %s:%d", settings.webhook_listen, settings.webhook_port)
        await server.serve()
