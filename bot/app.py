"""Build the Application from settings: the one place the bot is wired together."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import inspect
from telegram import BotCommand, BotCommandScopeChat
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, Defaults
from telegram.request import BaseRequest

import handlers
from bot.config import Settings
from bot.context import CabildoApp, CabildoContext
from bot.delivery import OutboxSender
from bot.outages import Outages
from bot.scheduler import schedule_jobs
from bot.updates import PerChatUpdateProcessor
from handlers import broadcast
from storage.db import Database
from storage.jobs import instance_name

log = logging.getLogger(__name__)

# Used when no token is configured: the local chat talks to an in-process stand-in,
# so the value only has to look like a token.
LOCAL_TOKEN = "123456789:LOCAL-chat-no-token-configured-0000"

CITIZEN_COMMANDS = [
    BotCommand("menu", "Menú principal"),
    BotCommand("metas", "Cómo van las metas del plan"),
    BotCommand("presupuesto", "Ejecución del presupuesto"),
    BotCommand("obras", "Obras públicas por comuna"),
    BotCommand("contratacion", "Procesos de contratación"),
    BotCommand("informes", "Informes publicados"),
    BotCommand("agenda", "Próximos eventos"),
    BotCommand("encuestas", "Encuestas abiertas"),
    BotCommand("preguntar", "Enviar una pregunta"),
    BotCommand("mis_preguntas", "Sus preguntas y respuestas"),
    BotCommand("presupuestos", "Presupuestos participativos: vote por su comuna"),
    BotCommand("alertas", "Alertas de su comuna o de un tema"),
    BotCommand("mis_datos", "Ver lo que el bot guarda de usted"),
    BotCommand("borrar_datos", "Borrar sus datos"),
    BotCommand("ayuda", "Cómo usar el bot"),
    BotCommand("cancelar", "Salir de lo que está haciendo"),
]


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


class DatabaseNotReady(RuntimeError):
    """The database has no schema yet; `cabildo db upgrade` creates it."""


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    database: Database | None = None,
) -> CabildoApp:
    """Return the Application with services in `bot_data` and every handler registered."""
    builder = (
        Application.builder()
        .token(settings.token or LOCAL_TOKEN)
        .context_types(ContextTypes(context=CabildoContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .concurrent_updates(PerChatUpdateProcessor(64))
    )
    if settings.api_base_url:
        builder = builder.base_url(f"{settings.api_base_url}/bot").base_file_url(
            f"{settings.api_base_url}/file/bot"
        )
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    if settings.webhook_url:  # updates arrive through bot.web's server, not an Updater
        builder = builder.updater(None)
    app: Any = builder.build()
    app.bot_data["settings"] = settings
    app.bot_data["db"] = database or Database(settings.database_url)
    app.bot_data["owns_db"] = database is None
    app.bot_data["outages"] = Outages()
    handlers.register(app)
    return app


async def ensure_schema(database: Database) -> None:
    """Raise DatabaseNotReady unless the migrations have been applied."""

    def has_tables(sync_conn: Any) -> bool:
        return bool(inspect(sync_conn).has_table("alembic_version"))

    async with database.engine.connect() as conn:
        ready = await conn.run_sync(has_tables)
    if not ready:
        raise DatabaseNotReady(
            "La base de datos no tiene tablas todavía: ejecute «cabildo db upgrade»."
        )


async def on_startup(app: CabildoApp) -> None:
    """Check the database, publish the command list and start the outbox sender."""
    await ensure_schema(app.bot_data["db"])
    await app.bot.set_my_commands(CITIZEN_COMMANDS)
    settings: Settings = app.bot_data["settings"]
    await _staff_menus(app, settings)
    sender = OutboxSender(
        app.bot, app.bot_data["db"], rate_per_second=settings.outbox_rate_per_second,
        report=broadcast.report_message, name=app.bot_data.setdefault("instance", instance_name()),
        outages=app.bot_data["outages"],
    )
    stop = asyncio.Event()
    app.bot_data["sender_stop"] = stop
    app.bot_data["sender_task"] = asyncio.create_task(sender.run(stop), name="outbox-sender")
    schedule_jobs(app)
    if app.bot_data.get("serve_web"):
        _start_site(app, settings)
    log.info("Cabildo listo para %s", settings.municipality_name)


async def _staff_menus(app: CabildoApp, settings: Settings) -> None:
    """Show the staff commands in the chats of every staff member and admin."""
    from handlers.staff import STAFF_COMMANDS
    from storage.roles import staff_ids

    async with app.bot_data["db"].session() as session:
        chats = sorted(set(await staff_ids(session)) | set(settings.admin_ids))
    for chat_id in chats:
        try:
            await app.bot.set_my_commands(
                [*CITIZEN_COMMANDS, *STAFF_COMMANDS], scope=BotCommandScopeChat(chat_id)
            )
        except TelegramError:  # they never opened the bot: set again when their role changes
            log.info("staff command menu not set for chat %s", chat_id)


def _start_site(app: CabildoApp, settings: Settings) -> None:
    """Serve the map and transparency site beside a polling bot (stopped in `on_stop`)."""
    from web.server import serve_site

    web = settings.web
    stop = asyncio.Event()
    app.bot_data["site_stop"] = stop
    app.bot_data["site_task"] = asyncio.create_task(
        serve_site(app.bot_data["db"], settings, web.host, web.port, stop), name="web-site"
    )


async def on_stop(app: CabildoApp) -> None:
    """Let the outbox sender finish the message in hand, then stop it (and the site)."""
    for name in ("sender", "site"):
        stop: asyncio.Event | None = app.bot_data.pop(f"{name}_stop", None)
        task: asyncio.Task[None] | None = app.bot_data.pop(f"{name}_task", None)
        if stop is not None and task is not None:
            stop.set()
            try:
                await task
            except OSError as exc:  # the site's port was taken; the bot ran without it
                log.warning("web site did not start: %s", exc)


async def on_shutdown(app: CabildoApp) -> None:
    """Release the database if this Application created it."""
    if app.bot_data.get("owns_db"):
        await app.bot_data["db"].dispose()
