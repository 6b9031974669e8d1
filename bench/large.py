"""The hot storage operations with a large city's data: what grows with the data.

    python -m bench.large [--citizens 100000] [--works 20000] [--outbox 200000]
                          [--repeat 15] [--database-url postgresql://user@host:port/anydb]

A scratch database (SQLite, or its own database on the PostgreSQL server given) gets the
example data plus `--citizens` people (1 % of them blocked, 30 % following a comuna or a
topic, 5 % registered to an event), `--works` works, and
`--outbox` delivered outbox rows with dedupe keys (the outbox is never pruned). `ANALYZE`
runs first, as a real database's autovacuum would. Then each operation a person's update or
a staff screen runs is timed `--repeat` times through the project's own storage functions
and the table prints its median and worst time. PostgreSQL is measured too, on the server
`--database-url` or CABILDO_BENCH_PG names, else on a throwaway one (as `python -m bench`).
Targets (issue #17): no hot operation above 20 ms; the broadcast preview's count under 50 ms.
An operation over its target is marked ✗.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, select, text

from bench.common import PG_ENV, pg_url_from_env, postgres, quiet, scratch_database
from bench.memory import FIRST_CITIZEN, populate
from storage import broadcasts, events, outbox, privacy, works
from storage.broadcasts import Audience
from storage.db import Database
from storage.models import Event, OutboxMessage, Registration, Subscription
from storage.search import build_index
from storage.types import utcnow

CHUNK = 5_000
HOT_MS = 20.0
PREVIEW_MS = 50.0


async def add_people_data(url: str, *, citizens: int, outbox_rows: int, seed: int = 5) -> None:
    """Add what people leave behind: subscriptions, registrations, blocked chats, sent rows."""
    rng = random.Random(seed)
    db = Database(url)
    try:
        async with db.session() as session:
            conn = await session.connection()
            now = utcnow()
            event_ids = list((await conn.execute(select(Event.__table__.c.id))).scalars())  # type: ignore[attr-defined]
            people = range(FIRST_CITIZEN, FIRST_CITIZEN + citizens)
            await conn.execute(text(
                "UPDATE citizen SET blocked_at = :now WHERE chat_id % 100 = 7"
            ), {"now": now})
            subs: Table = Subscription.__table__  # type: ignore[attr-defined]
            rows = [{"chat_id": c, "kind": "comuna" if c % 2 else "tema",
                     "value": str(rng.randint(1, 17)) if c % 2 else rng.choice(
                         ["obras", "salud", "educacion", "movilidad"]),
                     "created_at": now} for c in people if rng.random() < 0.3]
            for start in range(0, len(rows), CHUNK):
                await conn.execute(subs.insert(), rows[start:start + CHUNK])
            regs: Table = Registration.__table__  # type: ignore[attr-defined]
            rows = [{"event_id": rng.choice(event_ids), "chat_id": c, "status": "confirmado",
                     "created_at": now} for c in people if event_ids and rng.random() < 0.05]
            for start in range(0, len(rows), CHUNK):
                await conn.execute(regs.insert(), rows[start:start + CHUNK])
            box: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
            for start in range(0, outbox_rows, CHUNK):
                batch = []
                for i in range(start, min(start + CHUNK, outbox_rows)):
                    chat = FIRST_CITIZEN + i % max(citizens, 1)
                    when = now - timedelta(days=30) + timedelta(seconds=i)
                    batch.append({
                        "chat_id": chat, "kind": "text", "payload": {"text": "Aviso"},
                        "dedupe_key": f"resumen:{i // max(citizens, 1)}:{chat}",
                        "dedupe_group": f"resumen:{i // max(citizens, 1)}",
                        "status": "enviado", "attempts": 1, "not_before": when,
                        "sent_at": when, "created_at": when,
                    })
                await conn.execute(box.insert(), batch)
            await session.commit()
        async with db.session() as session:
            conn = await session.connection()
            await conn.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await db.dispose()


async def _timed(db: Database, op: Callable[[Any], Awaitable[Any]], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        async with db.session() as session:
            started = time.perf_counter()
            await op(session)
            times.append((time.perf_counter() - started) * 1000)
            await session.rollback()
    return times


def operations(citizens: int) -> list[tuple[str, float, Callable[[Any], Awaitable[Any]]]]:
    """(name, target ms, operation) for each hot path measured."""
    rng = random.Random(9)

    def someone() -> int:
        return FIRST_CITIZEN + rng.randrange(citizens)

    async def enqueue_one(session: Any) -> None:
        await outbox.enqueue(session, chat_ids=[someone()], payload={"text": "Respuesta"})

    async def dedupe_check(session: Any) -> None:
        await outbox.queued_before(session, dedupe=f"recordatorio:{rng.randrange(10**6)}")

    async def preview(session: Any) -> None:
        await broadcasts.count_recipients(session, Audience("todos", ()))

    async def followers(session: Any) -> None:
        await broadcasts.recipients(session, Audience("comuna", (str(rng.randint(1, 17)),)))

    async def claim(session: Any) -> None:
        await outbox.reserve(session, by="bench", limit=20)

    async def nearest(session: Any) -> None:
        await works.nearest_works(session, latitude=7.11 + rng.random() * 0.02,
                                  longitude=-73.12 + rng.random() * 0.02)

    async def registrations(session: Any) -> None:
        await events.statuses_of(session, chat_id=someone(), event_ids=list(range(1, 30)))

    async def my_data(session: Any) -> None:
        await privacy.personal_data(session, telegram_id=someone())

    async def index(session: Any) -> None:
        await build_index(session)

    return [
        ("outbox: queue one message", HOT_MS, enqueue_one),
        ("outbox: dedupe check", HOT_MS, dedupe_check),
        ("outbox: claim 20 due rows", HOT_MS, claim),
        ("broadcast preview (everyone)", PREVIEW_MS, preview),
        ("followers of a comuna", HOT_MS, followers),
        ("nearest works to a location", HOT_MS, nearest),
        ("a person's registrations", HOT_MS, registrations),
        ("/mis_datos", HOT_MS, my_data),
        ("search index rebuild", float("inf"), index),
    ]


async def measure(url: str, *, citizens: int, works_count: int, outbox_rows: int,
                  repeat: int) -> list[tuple[str, float, float, float]]:
    """Populate a scratch database and time each operation: (name, target, median, worst)."""
    await populate(url, citizens=citizens, works=works_count)
    await add_people_data(url, citizens=citizens, outbox_rows=outbox_rows)
    db = Database(url)
    results = []
    try:
        for name, target, op in operations(citizens):
            times = await _timed(db, op, repeat if target != float("inf") else 3)
            results.append((name, target, statistics.median(times), max(times)))
    finally:
        await db.dispose()
    return results


def table(title: str, results: list[tuple[str, float, float, float]]) -> str:
    """Render the results as a plain-text table with ✓/✗ against each target."""
    lines = [title, f"{'operation':34} {'median ms':>10} {'worst ms':>9}  target"]
    for name, target, median, worst in results:
        mark = "✓" if median <= target else "✗"
        goal = "—" if target == float("inf") else f"{mark} ≤ {target:.0f}"
        lines.append(f"{name:34} {median:10.1f} {worst:9.1f}  {goal}")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace, pg_url: str | None, pg_how: str) -> int:
    servers: list[tuple[str, str | None]] = [("SQLite", None)]
    if pg_url:
        servers.append(("PostgreSQL", pg_url))
    else:
        print(f"PostgreSQL: {pg_how}")
    for label, server in servers:
        async with quiet(), scratch_database(server) as url:
            results = await measure(url, citizens=args.citizens, works_count=args.works,
                                    outbox_rows=args.outbox, repeat=args.repeat)
        print(table(f"\n{label}: {args.citizens:,} citizens, {args.works:,} works, "
                    f"{args.outbox:,} outbox rows", results), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.large", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--works", type=int, default=20_000)
    parser.add_argument("--outbox", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", default=pg_url_from_env(),
                        help=f"a PostgreSQL server to measure too (default: ${PG_ENV}, "
                             "else a throwaway server when the binaries are installed)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    with postgres(args.database_url, not args.no_postgres) as (pg_url, pg_how):
        return asyncio.run(main_async(args, pg_url, pg_how))


if __name__ == "__main__":
    sys.exit(main())
