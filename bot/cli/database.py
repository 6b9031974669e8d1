"""`cabildo db …`, and why a database cannot be used, said in one Spanish sentence."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import socket
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.config import Settings

NO_TABLES = "La base de datos no tiene tablas todavía: ejecute «cabildo db upgrade»."
NO_DATABASE = "No se pudo abrir la base de datos ({why}). Revise DATABASE_URL."
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
    # Like storage.ready.ensure_schema, but giving up after a few seconds, not asyncpg's minute.
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

