"""`cabildo run`, `cabildo chat` and `cabildo estado`: the bot itself, and its state."""

from __future__ import annotations

import asyncio
import sys

from bot.config import Settings


def _run(settings: Settings) -> int:
    from bot.app import ALLOWED_UPDATES, build_application, freeze_heap
    from storage.ready import DatabaseNotReady

    if not settings.has_token:
        print("No hay TELEGRAM_BOT_TOKEN configurado: abro el chat local en la terminal.")
        return _chat(settings)
    app = build_application(settings)
    freeze_heap()
    if settings.webhook_url:
        from bot.webhook import run_webhook

        try:
            asyncio.run(run_webhook(app, settings))
        except DatabaseNotReady as exc:
            print(str(exc), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
    else:
        app.bot_data.serve_web = True  # the map and transparency site, beside the bot
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


def _chat(settings: Settings, *, user_id: int = 1, first_name: str = "Ana") -> int:
    from bot.chat import run_chat

    try:
        return asyncio.run(
            run_chat(settings, user_id=user_id, first_name=first_name, live=True)
        )
    except KeyboardInterrupt:
        print("\nHasta pronto.")
        return 0


async def _estado(settings: Settings) -> int:
    from bot.transcript import html_to_text
    from bot.version import version
    from handlers.status import current_status
    from storage.db import Database

    database = Database(settings.database_url)
    try:
        text, healthy = await current_status(database, tz=settings.tz, version=version(),
                                             admins=settings.admin_ids)
    finally:
        await database.dispose()
    print(html_to_text(text))
    return 0 if healthy else 3  # 3: a warning, for monitoring (cron, health checks)

