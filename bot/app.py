"""Build the Application from settings: the one place the bot is wired together."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from telegram import BotCommandScopeChat
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

import handlers
from bot.config import Settings
from bot.context import CabildoApp, CabildoContext, Menus, Services
from bot.delivery import OutboxSender
from bot.scheduler import schedule_jobs
from bot.throttle import RateLimiter
from bot.updates import SEEN_GROUP, CommittingRequest, PerChatUpdateProcessor, drop_seen_handler
from handlers import broadcast
from handlers.commands import citizen_menu, help_lines, staff_menu
from storage.db import Database
from storage.ready import ensure_schema

log = logging.getLogger(__name__)

# Used when no token is configured: the local chat talks to an in-process stand-in,
# so the value only has to look like a token.
LOCAL_TOKEN = "123456789:LOCAL-chat-no-token-configured-0000"

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
WEBHOOK_PATH = "telegram"


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Return the arguments for `bot.set_webhook`: public URL, secret token, update kinds."""
    assert settings.webhook_url, "webhook mode needs WEBHOOK_URL"
    return {
        "url": f"{settings.webhook_url}/{WEBHOOK_PATH}",
        "secret_token": settings.webhook_secret,
        "allowed_updates": ALLOWED_UPDATES,
        "drop_pending_updates": False,
    }


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    database: Database | None = None,
) -> CabildoApp:
    """Return the Application with services in `bot_data` and every handler registered.

    Each update runs as one unit of work: its handlers share one database session,
    committed before each Bot API request and at the end (`bot.updates`).
    """
    processor = PerChatUpdateProcessor(64)
    builder = (
        Application.builder()
        .token(settings.token or LOCAL_TOKEN)
        .context_types(ContextTypes(context=CabildoContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .concurrent_updates(processor)
    )
    if settings.api_base_url:
        builder = builder.base_url(f"{settings.api_base_url}/bot").base_file_url(
            f"{settings.api_base_url}/file/bot"
        )
    # PTB's own default for the bot's requests, when none is given (HTTPXRequest, 256)
    bot_request = CommittingRequest(request or HTTPXRequest(connection_pool_size=256))
    builder = builder.request(bot_request)
    if request is not None:
        builder = builder.get_updates_request(updates_request or request)
    if settings.webhook_url:  # updates arrive through bot.webhook's server, not an Updater
        builder = builder.updater(None)
    app: Any = builder.build()
    app.bot_data = Services(
        settings=settings,
        db=database or Database(settings.database_url, sqlite_on_loop=settings.sqlite_on_loop,
                                pool_size=settings.database_pool_size),
        owns_db=database is None, limiter=RateLimiter(settings.messages_per_minute),
        menus=Menus(staff=tuple(staff_menu()), help=help_lines()),
    )
    processor.database = app.bot_data.db
    if settings.token and not settings.webhook_url:
        # Webhook updates are checked by bot.webhook before they are queued. The local chat
        # (no token) numbers its updates from 1 on every run, so it is not checked.
        app.add_handler(drop_seen_handler(), group=SEEN_GROUP)
    handlers.register(app)
    return app


async def on_startup(app: CabildoApp) -> None:
    """Check the database, publish the command list and start the outbox sender."""
    services = app.bot_data
    await ensure_schema(services.db)
    await app.bot.set_my_commands(citizen_menu())
    settings = services.settings
    await _staff_menus(app, settings)
    sender = OutboxSender(
        app.bot, services.db, rate_per_second=settings.outbox_rate_per_second,
        report=broadcast.report_message, name=services.instance,
        outages=services.outages,
    )
    stop = asyncio.Event()
    services.background["sender"] = (
        stop, asyncio.create_task(sender.run(stop), name="outbox-sender")
    )
    schedule_jobs(app)
    if services.serve_web:
        _start_site(app, settings)
    log.info("Cabildo listo para %s", settings.municipality_name)


async def _staff_menus(app: CabildoApp, settings: Settings) -> None:
    """Show the staff commands in the chats of every staff member and admin."""
    from storage.roles import staff_ids

    async with app.bot_data.db.session() as session:
        chats = sorted(set(await staff_ids(session)) | set(settings.admin_ids))
    for chat_id in chats:
        try:
            await app.bot.set_my_commands(
                staff_menu(), scope=BotCommandScopeChat(chat_id)
            )
        except TelegramError:  # they never opened the bot: set again when their role changes
            log.info("staff command menu not set for chat %s", chat_id)


def _start_site(app: CabildoApp, settings: Settings) -> None:
    """Serve the map and transparency site beside a polling bot (stopped in `on_stop`)."""
    from web.server import serve_site

    web = settings.web
    stop = asyncio.Event()
    app.bot_data.background["site"] = (stop, asyncio.create_task(
        serve_site(app.bot_data.db, settings, web.host, web.port, stop), name="web-site"
    ))


async def on_stop(app: CabildoApp) -> None:
    """Let the outbox sender finish the message in hand, then stop it (and the site)."""
    for name in ("sender", "site"):
        if (running_ := app.bot_data.background.pop(name, None)) is not None:
            stop, task = running_
            stop.set()
            try:
                await task
            except OSError as exc:  # the site's port was taken; the bot ran without it
                log.warning("web site did not start: %s", exc)


async def on_shutdown(app: CabildoApp) -> None:
    """Release the database if this Application created it."""
    if app.bot_data.owns_db:
        await app.bot_data.db.dispose()


AppT = TypeVar("AppT", bound=Application[Any, Any, Any, Any, Any, Any])


def freeze_heap() -> None:
    """Leave what start-up built out of the garbage collector's full passes; once per process.

    Everything imported and built before the bot starts (modules, mappers, the Application)
    lives as long as the process, yet each full collection walked it again, holding the
    event loop: during a broadcast to 99,000 people or an import of 20,000 works those passes
    were the loop's longest stalls, and in a busy hour the longest pause of every chat
    (140-160 ms; 50 ms once frozen, `python -m bench.large`). Garbage is collected first, so
    nothing that would have been freed is kept; frozen objects are still freed when their
    last reference goes.
    """
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def running(
    app: AppT,
    *,
    start: bool = True,
    polling: dict[str, Any] | None = None,
    before_start: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIterator[AppT]:
    """Initialize and start `app` as PTB's `run_polling` does, hooks included; stop it on exit.

    `start=False` only initializes (no sender, no jobs: the plain local chat); `polling`
    starts the Updater with those arguments; `before_start` runs after `post_init`, before
    updates flow (the webhook registers itself there).
    """
    await app.initialize()
    try:
        if start:
            if app.post_init is not None:
                await app.post_init(app)
            if before_start is not None:
                await before_start()
            if polling is not None:
                assert app.updater is not None, "polling needs an Updater"
                await app.updater.start_polling(**polling)
            await app.start()
        try:
            yield app
        finally:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if start and app.post_stop is not None:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
