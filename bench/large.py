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

A second table per database shows the loop while a bulk write staff start runs (a broadcast
to everyone queued, an import of `--works` new or changed works, the search index rebuilt):
how long it took and the longest the event loop went without serving anyone meanwhile
(`LoopLag`); on SQLite both with SQLite on the loop's thread and through aiosqlite. The
target, 50 ms, is one person's update held up behind the bulk work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from bot.app import freeze_heap
from bot.config import Settings
from storage import broadcasts, events, outbox, privacy, works
from storage.broadcasts import Audience
from storage.db import Database
from storage.importers.files import import_bytes
from storage.models import Event, OutboxMessage, Registration, Subscription
from storage.operations import outbox_health
from storage.search import build_index
from storage.types import utcnow

CHUNK = 5_000
HOT_MS = 20.0
PREVIEW_MS = 50.0
STALL_MS = 50.0  # the longest a bulk write may hold every other person's update up


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

    async def health(session: Any) -> None:
        await outbox_health(session, now=utcnow())

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
        ("/healthz (outbox health)", HOT_MS, health),
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


class LoopLag:
    """The longest the event loop went without serving anyone while the block ran.

    A ticker asks to wake every millisecond; how late it wakes is how long a person's
    update would have waited behind the bulk work.
    """

    TICK = 0.001

    async def __aenter__(self) -> LoopLag:
        self.worst = 0.0
        self._woke = time.perf_counter()
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)  # the ticker is running before the work starts
        return self

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.TICK)
            self._late()

    def _late(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._woke - self.TICK)
        self._woke = now

    async def __aexit__(self, *exc: object) -> None:
        self._late()  # a stall still going on when the work ends counts too
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _works_csv(count: int, *, prefix: str, progress: float) -> bytes:
    """A works file as staff upload it: `count` rows, codes `{prefix}-000000`…"""
    lines = ["codigo,nombre,comuna,estado,avance_fisico,contratista,valor_contrato"]
    lines += [f"{prefix}-{i:06d},Obra de prueba {i},Norte,En ejecución,{progress},"
              f"Consorcio {i % 300},{(i % 900 + 100) * 1_000_000}" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def bulk_operations(works_count: int) -> list[tuple[str, Callable[[Any], Awaitable[Any]]]]:
    """(name, operation) for the bulk writes staff start: each must leave the loop free."""
    tz = Settings().tz

    async def broadcast(session: Any) -> None:
        await broadcasts.create_broadcast(session, created_by=1000, audience=Audience(
            "todos", ()), text="Audiencia pública el jueves")

    new_file = _works_csv(works_count, prefix="NW", progress=10)
    # The generated works' own codes (bench.memory): every row an update.
    changed_file = _works_csv(works_count, prefix="BW", progress=77)

    async def new_works(session: Any) -> None:
        await import_bytes(session, "obras", new_file, "obras.csv", tz=tz)

    async def changed_works(session: Any) -> None:
        await import_bytes(session, "obras", changed_file, "obras.csv", tz=tz)

    async def index(session: Any) -> None:
        await build_index(session)

    return [
        ("broadcast to everyone (queue it)", broadcast),
        (f"import {works_count:,} new works", new_works),
        (f"import {works_count:,} changed works", changed_works),
        ("search index rebuild", index),
    ]


async def stalls(url: str, *, works_count: int, sqlite_on_loop: bool,
                 repeat: int = 3) -> list[tuple[str, float, float, float]]:
    """Run each bulk write (rolled back after) under a `LoopLag`: (name, ms, worst lag, target)."""
    db = Database(url, sqlite_on_loop=sqlite_on_loop)
    results = []
    try:
        for name, op in bulk_operations(works_count):
            took, lags = [], []
            for _ in range(repeat):
                async with db.session() as session:
                    async with LoopLag() as lag:
                        started = time.perf_counter()
                        await op(session)
                        took.append((time.perf_counter() - started) * 1000)
                    lags.append(lag.worst * 1000)
                    await session.rollback()
            results.append((name, STALL_MS, statistics.median(took), max(lags)))
    finally:
        await db.dispose()
    return results


def stall_table(title: str, results: list[tuple[str, float, float, float]]) -> str:
    """Render the bulk writes' time and the loop's worst stall against the target."""
    lines = [title, f"{'bulk write':34} {'median ms':>10} {'stall ms':>9}  target"]
    for name, target, median, worst in results:
        mark = "✓" if worst <= target else "✗"
        lines.append(f"{name:34} {median:10.1f} {worst:9.1f}  {mark} ≤ {target:.0f}")
    return "\n".join(lines)


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
            drivers = [True, False] if server is None else [False]
            for inline in drivers:
                lag = await stalls(url, works_count=args.works, sqlite_on_loop=inline)
                how = "" if server else (" (SQLite on the loop's thread)" if inline
                                         else " (aiosqlite's thread)")
                print(stall_table(f"\n{label}{how}: the loop while a bulk write runs", lag),
                      flush=True)
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
    freeze_heap()  # as `cabildo run` does once it has started
    with postgres(args.database_url, not args.no_postgres) as (pg_url, pg_how):
        return asyncio.run(main_async(args, pg_url, pg_how))


if __name__ == "__main__":
    sys.exit(main())
