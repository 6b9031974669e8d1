"""`cabildo import`, `cabildo sincronizar` and `cabildo demo`: data into the database."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.database import _lost_database, os_error
from bot.config import Settings

if TYPE_CHECKING:
    from storage.importers.parsing import SkippedRows


SKIP_HINT = ("Para importar solo las filas buenas y dejar las otras en un archivo para "
             "corregirlas, repita el comando con --omitir-filas-con-error.")
SYNC_SKIP_HINT = ("Para importar las filas buenas y ver cuáles de la fuente tienen errores, "
                  "repita el comando con --omitir-filas-con-error.")


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


def skipped_rows_path(path: str) -> Path:
    """Return where the rows left out of an import of `path` are written."""
    source = Path(path)
    return source.with_name(f"{source.stem}-filas-con-error.csv")


async def _import(settings: Settings, kind: str, path: str, skip_bad_rows: bool = False,
                  *, more: Sequence[str] = ()) -> int:
    from handlers.alerts import queue_change_alerts
    from storage.audit import add_entry
    from storage.db import Database
    from storage.importers import ImportFailed, import_file, import_files
    from storage.ready import DatabaseNotReady, ensure_schema

    for each in (path, *more):
        problem = _import_problem(each, settings.max_upload_mb)
        if problem:
            print(problem, file=sys.stderr)
            return 1
    database = Database(settings.database_url)
    try:
        await ensure_schema(database)
        async with database.session() as session:
            if more:  # a report that comes in several files (cuipo, plan_indicativo)
                result = await import_files(session, kind, [path, *more], tz=settings.tz,
                                            skip_bad_rows=skip_bad_rows)
            else:
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


async def _sync(settings: Settings, source: str, nit: str | None, skip_bad_rows: bool) -> int:
    from bot.config import normalize_nit
    from bot.sync import run_sync
    from storage.db import Database
    from storage.importers import ImportFailed
    from storage.ready import DatabaseNotReady, ensure_schema

    try:
        nit = normalize_nit(nit or settings.secop_nit)
    except ValueError as exc:
        given = "--nit" if nit else "--nit (o SECOP_NIT en .env)"
        print(f"{given} {exc}", file=sys.stderr)
        return 1
    database = Database(settings.database_url)
    try:
        await ensure_schema(database)
        report = await run_sync(database, settings, source, nit, skip_bad_rows=skip_bad_rows)
    except ImportFailed as exc:
        hint = f"\n{SYNC_SKIP_HINT}" if exc.rows_only and not skip_bad_rows else ""
        print(f"No se importó nada. {exc}{hint}", file=sys.stderr)
        return 1
    except DatabaseNotReady as exc:
        print(f"No se importó nada. {exc}", file=sys.stderr)
        return 1
    finally:
        await database.dispose()
    print(report.text(settings.locale))
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


async def _demo(settings: Settings, *, if_empty: bool) -> int:
    from storage.db import Database
    from storage.demo import load_demo
    from storage.ready import DatabaseNotReady, ensure_schema

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

