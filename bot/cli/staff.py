"""`cabildo rol` and `cabildo audit`: roles given from the terminal, and the audit log."""

from __future__ import annotations

import sys

from bot.config import Settings

ALL_ENTRIES = 2**31 - 1  # `audit --limite 0`: every entry


async def _rol(settings: Settings, telegram_id: int, role: str, comuna: str | None) -> int:
    from storage.db import Database
    from storage.ready import DatabaseNotReady, ensure_schema
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

    from storage.audit import recent_entries
    from storage.db import Database
    from storage.ready import DatabaseNotReady, ensure_schema

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

