"""The `cabildo` command: run the bot, open the local chat, manage the database, import data."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging

KINDS_HELP = (
    "metas, presupuesto, obras, eventos, contratacion, informes, comunas, plan, encuesta, "
    "presupuesto_participativo"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cabildo", description="Cabildo: rendición de cuentas y diálogo ciudadano en Telegram."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="ejecutar el bot (sin token abre el chat local)")
    chat = sub.add_parser("chat", help="conversar con el bot en la terminal, sin Telegram")
    chat.add_argument("--user-id", type=int, default=1, help="id de Telegram simulado")
    chat.add_argument("--name", default="Ana", help="nombre de la persona simulada")
    db = sub.add_parser("db", help="esquema de la base de datos")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="crear o actualizar las tablas")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="volver a una versión anterior")
    down.add_argument("revision")
    db_sub.add_parser("current", help="mostrar la versión actual")
    backup = db_sub.add_parser(
        "backup", help="copia de seguridad de la base SQLite (se puede hacer con el bot en marcha)"
    )
    backup.add_argument(
        "destino", nargs="?",
        help="archivo o carpeta (por omisión, <base>-AAAAMMDD-HHMMSS.db en la carpeta actual)",
    )
    imp = sub.add_parser("import", help="cargar datos desde un CSV o XLSX")
    imp.add_argument("kind", metavar="tipo", help=KINDS_HELP)
    imp.add_argument("path", metavar="archivo")
    rol = sub.add_parser("rol", help="dar un rol a una persona (como administrador)")
    rol.add_argument("telegram_id", type=int, help="id numérico de Telegram")
    rol.add_argument("role", metavar="rol", help="ciudadano, lider, staff o admin")
    rol.add_argument("comuna", nargs="?", help="comuna del líder, por ejemplo 4")
    audit = sub.add_parser("audit", help="ver el registro de acciones de funcionarios")
    audit.add_argument("--limite", type=int, default=50, help="cuántas entradas (50)")
    web = sub.add_parser("web", help="servir solo el sitio web (mapa, transparencia, datos)")
    web.add_argument("--host", help="dirección donde escuchar (WEB_HOST)")
    web.add_argument("--port", type=int, help="puerto (WEB_PORT; 0 = uno libre)")
    web.add_argument("--demo", action="store_true", help="cargar los datos de ejemplo si falta")
    demo = sub.add_parser("demo", help="cargar los datos de ejemplo en una base vacía")
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
    if args.command == "run":
        return _run(settings)
    if args.command == "chat":
        return _chat(settings, user_id=args.user_id, first_name=args.name)
    if args.command == "db":
        return _db(settings, args)
    if args.command == "import":
        return asyncio.run(_import(settings, args.kind, args.path))
    if args.command == "rol":
        return asyncio.run(_rol(settings, args.telegram_id, args.role, args.comuna))
    if args.command == "audit":
        return asyncio.run(_audit(settings, args.limite))
    if args.command == "demo":
        return asyncio.run(_demo(settings, if_empty=args.if_empty))
    if args.command == "web":
        from web.__main__ import run_site

        port = settings.web.port if args.port is None else args.port
        return asyncio.run(
            run_site(settings, settings.web, args.host or settings.web.host, port, demo=args.demo)
        )
    return 2  # pragma: no cover - argparse enforces the choices


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


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from storage import migrate

    if args.db_command == "upgrade":
        migrate.upgrade(settings.database_url, args.revision)
        print("Base de datos al día.")
    elif args.db_command == "downgrade":
        migrate.downgrade(settings.database_url, args.revision)
    elif args.db_command == "backup":
        return _backup(settings, args.destino)
    else:
        migrate.current(settings.database_url)
    return 0


def backup_name(source: Path, now: datetime) -> str:
    """Return the default name of a backup of `source` taken at `now`."""
    return f"{source.stem}-{now.strftime('%Y%m%d-%H%M%S')}{source.suffix or '.db'}"


def _backup(settings: Settings, destination: str | None) -> int:
    """Copy the SQLite database with SQLite's online backup API (safe while the bot runs)."""
    import sqlite3

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
        print(f"No se pudo hacer la copia: {exc}", file=sys.stderr)
        target.unlink(missing_ok=True)
        return 1
    if not check or check[0] != "ok":
        print(f"La copia {target} no pasó la verificación: {check}", file=sys.stderr)
        return 1
    size = target.stat().st_size / 1_000_000
    print(f"Copia de seguridad guardada en {target} ({size:.1f} MB).")
    return 0


async def _import(settings: Settings, kind: str, path: str) -> int:
    from bot.app import DatabaseNotReady, ensure_schema
    from handlers.alerts import queue_change_alerts
    from storage.audit import add_entry
    from storage.db import Database
    from storage.importers import ImportFailed, import_file

    database = Database(settings.database_url)
    try:
        await ensure_schema(database)
        async with database.session() as session:
            result = await import_file(session, kind, path, tz=settings.tz)
            entry = add_entry(session, actor_id=None, action="importar",
                              detail=result.audit_detail(Path(path).name))
            await session.commit()
        alerts = await queue_change_alerts(
            database, settings, result, import_ref=f"auditoria-{entry.id}"
        )
    except (ImportFailed, DatabaseNotReady) as exc:
        print(f"No se importó nada. {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"No se pudo leer el archivo {path}: {exc.strerror}", file=sys.stderr)
        return 1
    finally:
        await database.dispose()
    for warning in result.warnings:
        print(f"Aviso: {warning}")
    print(result.summary())
    if alerts:
        print(f"{alerts} alertas de cambios en cola (las envía el bot en marcha).")
    return 0


async def _rol(settings: Settings, telegram_id: int, role: str, comuna: str | None) -> int:
    from bot.app import DatabaseNotReady, ensure_schema
    from storage.db import Database
    from storage.roles import RoleError, set_role

    database = Database(settings.database_url)
    try:
        await ensure_schema(database)
        async with database.session() as session:
            change = await set_role(
                session, actor_id=None, telegram_id=telegram_id, role=role.lower(), comuna=comuna
            )
    except (RoleError, DatabaseNotReady) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        await database.dispose()
    where = f" (comuna {change.comuna})" if change.comuna else ""
    print(f"{telegram_id}: {change.old} → {change.new}{where}")
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
            entries = await recent_entries(session, limit=limit)
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
