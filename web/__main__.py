"""`python -m web [--host H] [--port P] [--demo]`: serve the web site alone until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from bot.config import Settings, SettingsError, WebSettings, load_settings
from bot.logs import setup_logging
from storage.db import Database
from storage.demo import load_demo
from storage.ready import DatabaseNotReady, ensure_schema
from web.server import serve_site


async def run_site(settings: Settings, web: WebSettings, host: str, port: int, *,
                   demo: bool = False) -> int:
    """Serve the site until SIGINT/SIGTERM; load the example data first if asked and empty.

    Refuses to start (status 1) when the database has no tables yet.
    """
    db = Database(settings.database_url, pool_size=settings.database_pool_size)
    try:
        await ensure_schema(db)
    except DatabaseNotReady as exc:
        await db.dispose()
        print(str(exc), file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if demo:
            async with db.session() as session:
                outcome = await load_demo(session, tz=settings.tz)
            if outcome.loaded:
                print("Cargué los datos de ejemplo.")
        await serve_site(db, settings, host, port, stop, web=web,
                         ready=lambda url: print(f"Sitio web en {url}  (Ctrl-C para salir)",
                                                 flush=True))
    except OSError as exc:
        print(f"No pude abrir {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and serve the site."""
    parser = argparse.ArgumentParser(prog="python -m web", description="Sitio web de Cabildo")
    parser.add_argument("--host", help="dirección donde escuchar (WEB_HOST)")
    parser.add_argument("--port", type=int, help="puerto (WEB_PORT; 0 = uno libre)")
    parser.add_argument("--demo", action="store_true",
                        help="cargar los datos de ejemplo si la base está vacía")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Configuración inválida: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    web = settings.web
    host = args.host or web.host
    port = web.port if args.port is None else args.port
    return asyncio.run(run_site(settings, web, host, port, demo=args.demo))


if __name__ == "__main__":
    sys.exit(main())
