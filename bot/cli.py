"""The `cabildo` command: run the bot, open the local chat, manage the database, import data."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import re
import socket
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging

if TYPE_CHECKING:
    from storage.importers.parsing import SkippedRows

KINDS_HELP = (
    "metas, presupuesto, obras, eventos, contratacion, informes, comunas, plan, "
    "secop_contratos (SECOP II como se descarga), encuesta, presupuesto_participativo"
)
HELP_HELP = "mostrar esta ayuda y salir"
ALL_ENTRIES = 2**31 - 1  # `audit --limite 0`: every entry
# argparse's own messages, said in Spanish (its English text is matched, then replaced).
_ARGPARSE_ES = (
    (re.compile(r"the following arguments are required: (.+)"), r"faltan estos datos: \1"),
    (re.compile(r"argument (\S+): invalid int value: '(.*)'"),
     r"\1: «\2» no es un número entero"),
    (re.compile(r"argument (\S+): invalid choice: '?([^' ]*)'? \(choose from (.+)\)"),
     r"\1: «\2» no es una opción; elija entre \3"),
    (re.compile(r"unrecognized arguments: (.+)"), r"no entendí estos argumentos: \1"),
    (re.compile(r"argument (\S+): expected one argument"), r"\1: falta su valor"),
    (re.compile(r"argument (\S+): (.+)"), r"\1: \2"),
)


class _Formatter(argparse.HelpFormatter):
    """Help text with a Spanish «uso:» line."""

    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup],
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors are in Spanish."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "argumentos"
        self._optionals.title = "opciones"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help=HELP_HELP)

    def error(self, message: str) -> NoReturn:
        """Print the usage and the error in Spanish, then exit with status 2."""
        for pattern, spanish in _ARGPARSE_ES:
            if pattern.search(message):
                message = pattern.sub(spanish, message)
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _limit(text: str) -> int:
    """Parse `--limite`: a whole number ≥ 0 (0 means every entry)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» no es un número entero") from None
    if value < 0:
        raise argparse.ArgumentTypeError("debe ser 0 (todas) o un número positivo")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cabildo", description="Cabildo: rendición de cuentas y diálogo ciudadano en Telegram."
    )
    sub = parser.add_subparsers(dest="command", required=True, title="comandos",
                                metavar="COMANDO", parser_class=_Parser,
                                help="uno de estos (cabildo COMANDO -h explica cada uno):")
    run_help = "ejecutar el bot (sin token abre el chat local)"
    sub.add_parser("run", help=run_help, description=run_help.capitalize() + ".")
    chat_help = "conversar con el bot en la terminal, sin Telegram"
    chat = sub.add_parser("chat", help=chat_help, description=chat_help.capitalize() + ".")
    chat.add_argument("--user-id", type=int, default=1, help="id de Telegram simulado (1)")
    chat.add_argument("--name", default="Ana", help="nombre de la persona simulada (Ana)")
    db = sub.add_parser("db", help="esquema de la base de datos",
                        description="Crear, actualizar, consultar o copiar la base de datos.")
    db_sub = db.add_subparsers(dest="db_command", required=True, title="comandos",
                               metavar="COMANDO", parser_class=_Parser, help="uno de estos:")
    up = db_sub.add_parser("upgrade", help="crear o actualizar las tablas",
                           description="Crear o actualizar las tablas.")
    up.add_argument("revision", nargs="?", default="head", metavar="revisión",
                    help="revisión de destino (por omisión, head: la más reciente)")
    down = db_sub.add_parser("downgrade", help="volver a una versión anterior",
                             description="Volver a una versión anterior del esquema.")
    down.add_argument("revision", metavar="revisión",
                      help="revisión de destino, por ejemplo 0002, o base (sin tablas)")
    db_sub.add_parser("current", help="mostrar la versión actual",
                      description="Mostrar la versión actual del esquema.")
    backup = db_sub.add_parser(
        "backup", help="copia de seguridad de la base SQLite (se puede hacer con el bot en marcha)",
        description="Copia de seguridad de la base SQLite (se puede hacer con el bot en marcha).",
    )
    backup.add_argument(
        "destino", nargs="?",
        help="archivo o carpeta (por omisión, <base>-AAAAMMDD-HHMMSS.db en la carpeta actual)",
    )
    imp = sub.add_parser("import", aliases=["importar"], help="cargar datos desde un CSV o XLSX",
                         description="Cargar datos desde un CSV, XLSX, YAML o JSON: todo o nada.")
    imp.add_argument("kind", metavar="tipo", help=KINDS_HELP)
    imp.add_argument("path", metavar="archivo",
                     help="ruta del archivo (hasta MAX_UPLOAD_MB, como por Telegram)")
    imp.add_argument("--omitir-filas-con-error", action="store_true", dest="skip_bad_rows",
                     help="importar las filas buenas y dejar las que tienen errores en "
                          "<archivo>-filas-con-error.csv, para corregirlas e importarlas después")
    rol = sub.add_parser("rol", help="dar un rol a una persona (como administrador)",
                         description="Dar un rol a una persona (como administrador).")
    rol.add_argument("telegram_id", type=int, metavar="id",
                     help="id numérico de Telegram de la persona")
    rol.add_argument("role", metavar="rol", help="ciudadano, lider, staff o admin")
    rol.add_argument("comuna", nargs="?",
                     help="comuna del líder, por número o nombre (4, Occidental)")
    audit = sub.add_parser("audit", help="ver el registro de acciones de funcionarios",
                           description="Ver el registro de acciones de funcionarios, "
                                       "las más recientes primero.")
    audit.add_argument("--limite", type=_limit, default=50,
                       help="cuántas entradas (50; 0 = todas)")
    web = sub.add_parser("web", help="servir solo el sitio web (mapa, transparencia, datos)",
                         description="Servir solo el sitio web (mapa, transparencia, datos).")
    web.add_argument("--host", help="dirección donde escuchar (WEB_HOST)")
    web.add_argument("--port", type=int, help="puerto (WEB_PORT; 0 = uno libre)")
    web.add_argument("--demo", action="store_true", help="cargar los datos de ejemplo si falta")
    estado_help = "ver si el bot envía, si las tareas programadas corren y a quién llega"
    sub.add_parser("estado", help=estado_help, description=estado_help.capitalize() + ".")
    demo = sub.add_parser("demo", help="cargar los datos de ejemplo en una base vacía",
                          description="Cargar los datos de ejemplo en una base vacía.")
    demo.add_argument("--if-empty", action="store_true", help="no fallar si ya hay datos")
    return parser


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
        return asyncio.run(_import(settings, args.kind, args.path, args.skip_bad_rows))
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


async def _estado(settings: Settings) -> int:
    from bot.chat import html_to_text
    from bot.web import version
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


def _chat(settings: Settings, *, user_id: int = 1, first_name: str = "Ana") -> int:
    from bot.chat import run_chat

    try:
        return asyncio.run(
            run_chat(settings, user_id=user_id, first_name=first_name, live=True)
        )
    except KeyboardInterrupt:
        print("\nHasta pronto.")
        return 0


def _run(settings: Settings) -> int:
    from bot.app import ALLOWED_UPDATES, DatabaseNotReady, build_application

    if not settings.has_token:
        print("No hay TELEGRAM_BOT_TOKEN configurado: abro el chat local en la terminal.")
        return _chat(settings)
    app = build_application(settings)
    if settings.webhook_url:
        from bot.web import run_webhook

        try:
            asyncio.run(run_webhook(app, settings))
        except DatabaseNotReady as exc:
            print(str(exc), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
    else:
        app.bot_data["serve_web"] = True  # the map and transparency site, beside the bot
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


NO_TABLES = "La base de datos no tiene tablas todavía: ejecute «cabildo db upgrade»."
NO_DATABASE = "No se pudo abrir la base de datos ({why}). Revise DATABASE_URL."
# Subcommands that open the database with its tables: checked first, said in one sentence.
NEEDS_DATABASE = frozenset(
    {"run", "chat", "import", "importar", "rol", "audit", "demo", "web", "estado"}
)
CONNECT_TIMEOUT_SECONDS = 10


def _lost_database(exc: BaseException) -> bool:
    """Tell whether `exc` means the database could not be reached or used (not a bug)."""
    if isinstance(exc, BrokenPipeError):
        return False  # the reader of our output went away (`| head`), not the database
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return True
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    )


async def database_problem(url: str) -> str | None:
    """Return why the database at `url` cannot be used, in one Spanish sentence, or None.

    Covers an unreachable server, a refused login, a missing database or folder, and a
    database without tables, in the words `cabildo db …` uses.
    """
    from sqlalchemy import inspect
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.config import normalize_database_url

    if normalize_database_url(url).startswith("sqlite"):
        return sqlite_problem(normalize_database_url(url))
    # Like bot.app.ensure_schema, but giving up after a few seconds, not asyncpg's minute.
    engine = create_async_engine(
        normalize_database_url(url), connect_args={"timeout": CONNECT_TIMEOUT_SECONDS}
    )
    try:
        async with engine.connect() as conn:
            ready = await conn.run_sync(
                lambda sync_conn: bool(inspect(sync_conn).has_table("alembic_version"))
            )
    except Exception as exc:  # whatever it is, the operator gets one sentence
        return NO_DATABASE.format(why=_database_problem(exc))
    finally:
        await engine.dispose()
    return None if ready else NO_TABLES


def _db(settings: Settings, args: argparse.Namespace) -> int:
    import logging

    # Alembic's INFO lines (plugins, «Running upgrade …») stay out; each step is said below.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from sqlalchemy.exc import SQLAlchemyError

    from storage import migrate

    if args.db_command == "backup":
        return _backup(settings, args.destino)
    url = settings.database_url
    if url.startswith("sqlite"):
        # Checked without the async driver: its worker thread could outlive a failed
        # connection and print a traceback after the answer.
        from bot.config import normalize_database_url

        problem = sqlite_problem(normalize_database_url(url))
        if problem is not None and (problem != NO_TABLES or args.db_command != "upgrade"):
            print(problem, file=sys.stderr)
            return 1
    try:
        if args.db_command == "current":
            return _db_current(url)
        down = args.db_command == "downgrade"
        applied = migrate.move_to(url, args.revision, down=down)
        now = migrate.revision_of(url)
    except migrate.MigrationError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(NO_DATABASE.format(why=_database_problem(exc)), file=sys.stderr)
        return 1
    verb = "Deshice" if down else "Apliqué"
    for step in applied:
        print(f"{verb} la migración {step}.")
    known = [step.revision for step in migrate.steps(url)]
    if not applied and args.revision in known and now != args.revision:
        other = "downgrade" if not down else "upgrade"
        print(f"La base de datos está en la revisión {now}: para llegar a {args.revision} use "
              f"«cabildo db {other} {args.revision}». No cambié nada.", file=sys.stderr)
        return 1
    if not applied and now is not None and now == migrate.head(url):
        print(f"La base de datos ya estaba al día (revisión {now}).")
    elif now is None:
        print("La base de datos quedó sin tablas.")
    elif now == migrate.head(url):
        print(f"Base de datos al día (revisión {now}).")
    else:
        print(f"Base de datos en la revisión {now}.")
    return 0


def _db_current(url: str) -> int:
    from storage import migrate

    now = migrate.revision_of(url)
    if now is None:
        print(NO_TABLES, file=sys.stderr)
        return 1
    newest = migrate.head(url)
    if now == newest:
        print(f"Revisión {now}: la base de datos está al día.")
    else:
        print(f"Revisión {now}; la más reciente es {newest}: ejecute «cabildo db upgrade».")
    return 0


def sqlite_problem(url: str) -> str | None:
    """Return why the SQLite database at `url` cannot be used, or None.

    Checked with the standard library, read-only: nothing is created (a missing file is
    "no tables yet", like an empty one) and no background thread outlives the check.
    """
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if name in ("", ":memory:"):
        return NO_TABLES  # a database in memory starts empty for every command
    if name.startswith("file:"):
        return None
    path = Path(name)
    if path.is_dir():
        return NO_DATABASE.format(why="esa ruta es una carpeta, no un archivo")
    if not path.exists():
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            return NO_DATABASE.format(
                why="la carpeta del archivo no existe o no se puede escribir en ella")
        return NO_TABLES
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        ) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
    except sqlite3.Error as exc:
        return NO_DATABASE.format(why=_database_problem(exc))
    return None if found else NO_TABLES


def _database_problem(exc: BaseException) -> str:
    """Say in Spanish why the database could not be opened."""
    text = str(exc)
    if "unable to open database file" in text:
        return "la carpeta del archivo no existe o no se puede escribir en ella"
    if "file is not a database" in text:
        return "el archivo no es una base de datos SQLite"
    if isinstance(exc, socket.gaierror):
        return "no se encontró el servidor; revise su nombre"
    if isinstance(exc, ConnectionError | TimeoutError):
        return "el servidor no responde o la dirección no es válida"
    if isinstance(exc, OSError):
        return os_error(exc)
    if "password authentication failed" in text:
        return "el usuario o la clave no son válidos"
    if re.search(r'role "[^"]*" does not exist', text):
        return "el usuario no existe en el servidor"
    if "does not exist" in text:
        return "la base de datos no existe en el servidor"
    if "locked" in text:
        return "la base de datos está ocupada; intente de nuevo en un momento"
    return "el servidor no responde o la dirección no es válida"


def os_error(exc: OSError) -> str:
    """Say in Spanish what a file-system error means (never the English strerror)."""
    reasons = {
        errno.ENOENT: "no existe",
        errno.EISDIR: "es una carpeta, no un archivo",
        errno.ENOTDIR: "una parte de la ruta no es una carpeta",
        errno.EACCES: "no hay permiso para usarlo",
        errno.EPERM: "no hay permiso para usarlo",
        errno.ENOSPC: "no queda espacio en el disco",
        errno.EROFS: "el disco es de solo lectura",
        errno.ENAMETOOLONG: "la ruta es demasiado larga",
        errno.EEXIST: "ya existe",
    }
    return reasons.get(exc.errno or 0, f"error del sistema número {exc.errno}")


def backup_name(source: Path, now: datetime) -> str:
    """Return the default name of a backup of `source` taken at `now`."""
    return f"{source.stem}-{now.strftime('%Y%m%d-%H%M%S')}{source.suffix or '.db'}"


def _backup(settings: Settings, destination: str | None) -> int:
    """Copy the SQLite database with SQLite's online backup API (safe while the bot runs)."""
    from sqlalchemy.engine import URL, make_url

    url = make_url(settings.database_url)
    if not url.get_backend_name().startswith("sqlite"):
        # The password stays out of the example; pg_dump reads it from PGPASSWORD or ~/.pgpass.
        where = URL.create(
            "postgresql", username=url.username, host=url.host, port=url.port,
            database=url.database,
        ).render_as_string(hide_password=False)
        print(
            "La base de datos es PostgreSQL: «cabildo db backup» solo copia SQLite. "
            f"Use pg_dump, por ejemplo:\n  pg_dump --format=custom --file=cabildo.dump '{where}'",
            file=sys.stderr,
        )
        return 1
    if not url.database or url.database == ":memory:":
        print("La base de datos SQLite está en memoria: no hay archivo que copiar.",
              file=sys.stderr)
        return 1
    source = Path(url.database)
    if not source.is_file():
        print(f"No encontré la base de datos {source}.", file=sys.stderr)
        return 1
    target = Path(destination) if destination else Path(backup_name(source, datetime.now()))
    if target.is_dir():
        target = target / backup_name(source, datetime.now())
    if target.exists():
        print(f"Ya existe {target}: no lo sobrescribo. Indique otro destino.", file=sys.stderr)
        return 1
    folder = target.parent
    if not folder.is_dir():
        what = "no es una carpeta" if folder.exists() else "no existe"
        print(f"No se pudo hacer la copia: la carpeta {folder} {what}.", file=sys.stderr)
        return 1
    if not os.access(folder, os.W_OK | os.X_OK):
        print(f"No se pudo hacer la copia: no hay permiso para escribir en la carpeta {folder}.",
              file=sys.stderr)
        return 1
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
                check = dst.execute("PRAGMA quick_check").fetchone()
            finally:
                dst.close()
        finally:
            src.close()
    except (sqlite3.Error, OSError) as exc:
        print(f"No se pudo hacer la copia: {_backup_problem(exc)}.", file=sys.stderr)
        target.unlink(missing_ok=True)
        return 1
    if not check or check[0] != "ok":
        print(f"La copia {target} no pasó la verificación: {check}", file=sys.stderr)
        return 1
    size = target.stat().st_size / 1_000_000
    print(f"Copia de seguridad guardada en {target} ({size:.1f} MB).")
    return 0


def _backup_problem(exc: sqlite3.Error | OSError) -> str:
    """Say in Spanish why SQLite's backup failed."""
    if isinstance(exc, OSError):
        return os_error(exc)
    text = str(exc).lower()
    if "unable to open" in text:
        return "no se pudo abrir la base de datos o el archivo de destino"
    if "full" in text:
        return "no queda espacio en el disco"
    if "locked" in text or "busy" in text:
        return "la base de datos está ocupada; intente de nuevo en un momento"
    if "not a database" in text or "malformed" in text:
        return "el archivo de la base de datos está dañado o no es una base SQLite"
    return "error de SQLite"


def _import_problem(path: str, limit_mb: int) -> str | None:
    """Return why the file at `path` cannot be imported before reading it, in Spanish."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"No se pudo leer el archivo {path}: {os_error(exc)}."
    if os.path.isdir(path):
        return f"No se pudo leer el archivo {path}: es una carpeta, no un archivo."
    if info.st_size > limit_mb * 1024 * 1024:
        size = f"{info.st_size / 1024 / 1024:.1f}".replace(".", ",")
        return (f"El archivo pesa {size} MB; el límite es {limit_mb} MB (MAX_UPLOAD_MB), "
                "como por Telegram. No se importó nada. Divídalo en partes más pequeñas.")
    return None


SKIP_HINT = ("Para importar solo las filas buenas y dejar las otras en un archivo para "
             "corregirlas, repita el comando con --omitir-filas-con-error.")


def skipped_rows_path(path: str) -> Path:
    """Return where the rows left out of an import of `path` are written."""
    source = Path(path)
    return source.with_name(f"{source.stem}-filas-con-error.csv")


async def _import(settings: Settings, kind: str, path: str, skip_bad_rows: bool = False) -> int:
    from bot.app import DatabaseNotReady, ensure_schema
    from handlers.alerts import queue_change_alerts
    from storage.audit import add_entry
    from storage.db import Database
    from storage.importers import ImportFailed, import_file

    problem = _import_problem(path, settings.max_upload_mb)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    database = Database(settings.database_url)
    try:
        await ensure_schema(database)
        async with database.session() as session:
            result = await import_file(session, kind, path, tz=settings.tz,
                                       skip_bad_rows=skip_bad_rows)
            entry = add_entry(session, actor_id=None, action="importar",
                              detail=result.audit_detail(Path(path).name))
            await session.commit()
        alerts = await queue_change_alerts(
            database, settings, result, import_ref=f"auditoria-{entry.id}"
        )
    except ImportFailed as exc:
        hint = f"\n{SKIP_HINT}" if exc.rows_only and not skip_bad_rows else ""
        print(f"No se importó nada. {exc}{hint}", file=sys.stderr)
        return 1
    except DatabaseNotReady as exc:
        print(f"No se importó nada. {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if _lost_database(exc):
            raise  # the database, not the file: main() says so
        print(f"No se pudo leer el archivo {path}: {os_error(exc)}.", file=sys.stderr)
        return 1
    finally:
        await database.dispose()
    for warning in result.warnings:
        print(f"Aviso: {warning}")
    print(result.summary())
    if result.skipped:
        _write_skipped(result.skipped, skipped_rows_path(path))
    if alerts:
        noun = "alerta" if alerts == 1 else "alertas"
        print(f"{alerts} {noun} de cambios en cola (las envía el bot en marcha).")
    return 0


def _write_skipped(skipped: SkippedRows, target: Path) -> None:
    """Write the rows an import left out to `target`; print them if it cannot be written."""
    count = len(skipped.rows)
    try:
        target.write_bytes(skipped.csv)
    except OSError as exc:
        print(f"No se pudo escribir {target}: {os_error(exc)}. Estas son las filas omitidas:",
              file=sys.stderr)
        for error in skipped.errors:
            print(error, file=sys.stderr)
        return
    rows = "La fila omitida está" if count == 1 else f"Las {count} filas omitidas están"
    print(f"{rows} en {target}, con sus errores en la columna «error»: "
          "corríjalas allí e importe ese archivo.")


async def _rol(settings: Settings, telegram_id: int, role: str, comuna: str | None) -> int:
    from bot.app import DatabaseNotReady, ensure_schema
    from storage.db import Database
    from storage.roles import RoleError, RoleUnchanged, set_role

    database = Database(settings.database_url)
    try:
        await ensure_schema(database)
        async with database.session() as session:
            change = await set_role(
                session, actor_id=None, telegram_id=telegram_id, role=role.lower(), comuna=comuna,
                admin_ids=settings.admin_ids,
            )
    except RoleUnchanged as exc:
        print(str(exc))
        return 0
    except (RoleError, DatabaseNotReady) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        await database.dispose()
    where = f" (comuna {change.comuna})" if change.comuna else ""
    print(f"{telegram_id}: {change.old} → {change.new}{where}")
    if change.new_person:
        print("Esta persona todavía no ha escrito al bot: no recibirá mensajes ni contará en "
              "las difusiones hasta que lo abra con /start.")
    return 0


async def _audit(settings: Settings, limit: int) -> int:
    import json

    from bot.app import DatabaseNotReady, ensure_schema
    from storage.audit import recent_entries
    from storage.db import Database

    database = Database(settings.database_url)
    try:
        await ensure_schema(database)
        async with database.session() as session:
            entries = await recent_entries(session, limit=limit or ALL_ENTRIES)
    except DatabaseNotReady as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        await database.dispose()
    if not entries:
        print("El registro está vacío.")
    for entry in entries:
        when = entry.at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        actor = entry.actor_id if entry.actor_id is not None else "terminal"
        detail = json.dumps(entry.detail, ensure_ascii=False)
        detail = detail if len(detail) <= 300 else detail[:299] + "…"
        print(f"{when}  {actor}  {entry.action}  {detail}")
    return 0


async def _demo(settings: Settings, *, if_empty: bool) -> int:
    from bot.app import DatabaseNotReady, ensure_schema
    from storage.db import Database
    from storage.demo import load_demo

    database = Database(settings.database_url)
    try:
        await ensure_schema(database)
        async with database.session() as session:
            outcome = await load_demo(session, tz=settings.tz)
    except DatabaseNotReady as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        await database.dispose()
    if not outcome.loaded:
        print("La base ya tiene datos; no cargué los datos de ejemplo.")
        return 0 if if_empty else 1
    print("Datos de EJEMPLO cargados (no son cifras oficiales):")
    for result in outcome.results:
        print(f"  {result.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
