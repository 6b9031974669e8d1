"""What one database session costs, however small its query.

    python -m bench.session [--sessions 2000] [--database-url postgresql://user@host:port/db]

Times `async with db.session() as s: await s.exec(select(1))` in a loop through Cabildo's
own `storage.db.Database` (the engine, pool and session settings the bot uses), on a
scratch SQLite file and, when a PostgreSQL server is given, on its own database there.
The figure is CPU time of this process per session (for PostgreSQL the server's own work
is not included) and wall time per session.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import literal
from sqlmodel import select

from bench.common import PG_ENV, pg_url_from_env, scratch_database
from storage.db import Database


@dataclass(frozen=True)
class SessionCost:
    """CPU and wall-clock milliseconds per session."""

    backend: str
    cpu_ms: float
    wall_ms: float


async def session_cost(*, sessions: int = 2_000, server_url: str | None = None) -> SessionCost:
    """Return what one session running `SELECT 1` costs on a scratch database."""
    async with scratch_database(server_url) as url:
        db = Database(url)
        try:
            for _ in range(100):  # warm the pool and SQLAlchemy's statement cache
                await _one(db)
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(sessions):
                await _one(db)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            await db.dispose()
    backend = "SQLite" if db.is_sqlite else "PostgreSQL"
    return SessionCost(backend, cpu / sessions * 1000, wall / sessions * 1000)


async def _one(db: Database) -> None:
    async with db.session() as session:
        (await session.exec(select(literal(1)))).one()


def main() -> None:
    """Print the cost of one session on SQLite (and PostgreSQL when given)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--database-url", default=pg_url_from_env(),
                        help=f"a PostgreSQL server to measure too (or set {PG_ENV})")
    args = parser.parse_args()
    servers = [None, args.database_url] if args.database_url else [None]
    for server in servers:
        cost = asyncio.run(session_cost(sessions=args.sessions, server_url=server))
        print(f"{cost.backend:<10} one session with SELECT 1: CPU {cost.cpu_ms:.2f} ms,"
              f" wall {cost.wall_ms:.2f} ms")


if __name__ == "__main__":
    main()
