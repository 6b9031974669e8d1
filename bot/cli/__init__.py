"""The `cabildo` command: run the bot, open the local chat, manage the database, import data.

One module per group of subcommands: `parser` (arguments), `serve` (run, chat, estado),
`database` (db, and the database checks every command makes first), `data` (import,
sincronizar, demo), `staff` (rol, audit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from bot.cli.data import _demo, _import, _sync
from bot.cli.database import (
    NO_DATABASE,
    _database_problem,
    _db,
    _lost_database,
    database_problem,
)
from bot.cli.parser import _parser
from bot.cli.serve import _chat, _estado, _run
from bot.cli.staff import _audit, _rol
from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging

# Subcommands that open the database with its tables: checked first, said in one sentence.
NEEDS_DATABASE = frozenset(
    {"run", "chat", "import", "importar", "sincronizar", "rol", "audit", "demo", "web",
     "estado"}
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `cabildo` command line and return its exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Configuración inválida: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    if args.command in NEEDS_DATABASE:
        problem = asyncio.run(database_problem(settings.database_url))
        if problem:
            print(problem, file=sys.stderr)
            return 1
    try:
        return _dispatch(settings, args)
    except BrokenPipeError:
        # `cabildo estado | head`: the reader stopped reading; nothing is wrong. Point stdout
        # at /dev/null so Python's own flush at exit does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if not _lost_database(exc):
            raise
        # It answered a moment ago, then went away (or got too busy): one sentence too.
        print(NO_DATABASE.format(why=_database_problem(exc)), file=sys.stderr)
        return 1


def _dispatch(settings: Settings, args: argparse.Namespace) -> int:
    """Run the subcommand `args` names."""
    if args.command == "run":
        return _run(settings)
    if args.command == "chat":
        return _chat(settings, user_id=args.user_id, first_name=args.name)
    if args.command == "db":
        return _db(settings, args)
    if args.command in ("import", "importar"):
        return asyncio.run(_import(settings, args.kind, args.path, args.skip_bad_rows,
                                   more=args.more))
    if args.command == "sincronizar":
        return asyncio.run(_sync(settings, args.source, args.nit, args.skip_bad_rows))
    if args.command == "rol":
        return asyncio.run(_rol(settings, args.telegram_id, args.role, args.comuna))
    if args.command == "audit":
        return asyncio.run(_audit(settings, args.limite))
    if args.command == "demo":
        return asyncio.run(_demo(settings, if_empty=args.if_empty))
    if args.command == "estado":
        return asyncio.run(_estado(settings))
    if args.command == "web":
        from web.__main__ import run_site

        port = settings.web.port if args.port is None else args.port
        return asyncio.run(
            run_site(settings, settings.web, args.host or settings.web.host, port, demo=args.demo)
        )
    return 2  # pragma: no cover - argparse enforces the choices

