"""Run every benchmark and print one table: `python3 -m bench` (or `python3 -m bench --quick`).

From a fresh clone this needs only Python 3.11+: without the project's dependencies it
first sets up `.venv` exactly like `dev.py` does and re-runs itself there.

- update throughput and latency (`bench.throughput`): 5,000 mixed updates through the real
  Application with the offline request class, on SQLite and PostgreSQL, against a bare echo
  bot fed the same way;
- broadcast (`bench.broadcast`): 20,000 recipients at 150 msg/s with one and two sender
  processes (SQLite; two instances on PostgreSQL too);
- memory (`bench.memory`): peak RSS of a fresh instance with 100,000 citizens and 20,000
  works serving typical updates.

PostgreSQL: `--database-url postgresql://user@host:port/anydb` or CABILDO_BENCH_PG names a
server (the benches create and drop their own databases on it); otherwise a throwaway
server is started like `dev.py test` does when the PostgreSQL binaries are installed, and
the table says "PostgreSQL: not available" when they are not.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bootstrap() -> None:
    """Re-run inside .venv (creating it like dev.py does) when dependencies are missing."""
    try:
        import sqlmodel  # noqa: F401
        import telegram  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(ROOT))
        import dev

        dev.ensure_venv()
        python = str(dev.PY)
        os.chdir(ROOT)
        os.execv(python, [python, "-m", "bench", *sys.argv[1:]])


_bootstrap()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import platform  # noqa: E402
import sqlite3  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

from bench import broadcast, memory, session, throughput  # noqa: E402
from bench.common import PG_ENV, pg_url_from_env, postgres  # noqa: E402
from bot.app import freeze_heap  # noqa: E402


def machine(pg_url: str | None) -> list[str]:
    """Describe the machine and versions the figures come from."""
    lines = [
        f"date (UTC)   {datetime.now(UTC):%Y-%m-%d %H:%M}",
        f"machine      {platform.machine()}, {os.cpu_count()} CPU, {_ram_gb():.1f} GB RAM, "
        f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} at start",
        f"cpu          {_cpu_model()}",
        f"python       {platform.python_version()} ({platform.python_implementation()})",
        f"sqlite       {sqlite3.sqlite_version}",
    ]
    if pg_url:
        lines.append(f"postgresql   {asyncio.run(_pg_version(pg_url))}")
    return lines


def _ram_gb() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def _pg_version(url: str) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    from bot.config import normalize_database_url

    dsn = make_url(normalize_database_url(url)).set(drivername="postgresql")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


class Table:
    """The printed table: one row per figure, SQLite and PostgreSQL side by side."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, sqlite: str, pg: str, target: str) -> None:
        """Add one row."""
        self.rows.append((what, sqlite, pg, target))

    def render(self) -> str:
        """Return the table as Markdown (readable as plain text too)."""
        header = ("measurement", "SQLite", "PostgreSQL", "target")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(4)]

        def line(cells: tuple[str, ...]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(header), rule, *(line(r) for r in self.rows)])


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument("--database-url", default=pg_url_from_env(),
                        help=f"PostgreSQL server to use (or set {PG_ENV})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--only", choices=("throughput", "broadcast", "memory"), action="append",
                        help="run only these parts (repeatable)")
    args = parser.parse_args()
    parts = set(args.only or ("throughput", "broadcast", "memory"))
    if args.quick:
        updates, recipients, rate, citizens, works, served = 500, 2_000, 150.0, 10_000, 2_000, 60
    else:
        updates, recipients, rate, citizens, works, served = (
            5_000, 20_000, 150.0, 100_000, 20_000, 150
        )
    concurrency = 16
    started = time.monotonic()
    freeze_heap()  # as `cabildo run` does once it has started
    with postgres(args.database_url, not args.no_postgres) as (pg_url, pg_how):
        print("\n".join(machine(pg_url)))
        print(f"postgresql   {pg_how}" if pg_url else f"PostgreSQL: {pg_how}", flush=True)
        table = Table()
        pg_none = "not available" if not pg_url else "—"
        if "throughput" in parts:
            _throughput(table, updates, concurrency, pg_url, pg_none)
        if "broadcast" in parts:
            _broadcast(table, recipients, rate, pg_url, pg_none)
        if "memory" in parts:
            _memory(table, citizens, works, served, concurrency)
    print()
    print(table.render())
    note = "; --quick: small sizes, not the targets' sizes" if args.quick else ""
    print(f"\n(all figures from one run of {time.monotonic() - started:.0f} s{note})")
    return 0


def _progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def _throughput(
    table: Table, updates: int, concurrency: int, pg_url: str | None, pg_none: str
) -> None:
    runs = asyncio.run(throughput.run_all(updates, concurrency, pg_url,
                                          lambda message: _progress(f"throughput: {message}")))
    sq, pg, threaded = runs.sqlite, runs.postgres, runs.threaded
    speeds = sorted(echo.per_second for echo in runs.echoes)
    echo = sorted(runs.echoes, key=lambda e: e.per_second)[len(runs.echoes) // 2]

    def cell(f: Any, text: str) -> str:
        return text if f is not None else pg_none

    table.add(f"echo bot: updates/s ({throughput.ECHO_LENGTH * updates:,} texts, {concurrency} "
              f"people at a time; {len(speeds)} runs, one before and after each run below, "
              "which is compared with those two)",
              f"{speeds[0]:,.0f} – {speeds[-1]:,.0f}", "—", "baseline")
    table.add("echo bot: p50 / p99 latency (the median run)",
              f"{echo.p50:.1f} / {echo.p99:.1f} ms", "—", "")
    table.add("echo bot + 1 DB write per update: updates/s, p50 / p99, cost ÷ echo bot's",
              f"{runs.echo_db.run.per_second:,.0f}, {runs.echo_db.run.p50:.1f} / "
              f"{runs.echo_db.run.p99:.1f} ms, {runs.echo_db.ratio:.1f}×", "—", "reference")
    table.add("Cabildo's cheapest screens (/ayuda, «Menú»; one DB read each): updates/s, "
              "cost ÷ echo bot's",
              f"{runs.menu.run.per_second:,.0f}, {runs.menu.ratio:.1f}×", "—", "floor")
    _progress("throughput: what one database session costs")
    sessions = [asyncio.run(session.session_cost())]
    if pg_url:
        sessions.append(asyncio.run(session.session_cost(server_url=pg_url)))
    costs = [f"{c.cpu_ms:.2f} ms, {c.cpu_ms / echo.cpu_ms:.1f}×" for c in sessions]
    table.add("one DB session running SELECT 1: CPU, ÷ echo bot's CPU per update",
              costs[0], costs[1] if pg_url else pg_none, "")
    table.add(f"mixed load: updates/s ({updates:,} updates)", f"{sq.run.per_second:,.0f}",
              cell(pg, f"{pg.run.per_second:,.0f}" if pg else ""), "")
    p99_target = throughput.TARGET_P99_MS
    table.add("mixed load: p50 / p99 latency",
              f"{sq.run.p50:.0f} / {sq.run.p99:.0f} ms ({_verdict(sq.run.p99 < p99_target)})",
              cell(pg, f"{pg.run.p50:.0f} / {pg.run.p99:.0f} ms "
                       f"({_verdict(pg.run.p99 < p99_target)})" if pg else ""),
              f"p99 < {p99_target} ms")
    table.add("mixed load: CPU of the bot process per update", f"{sq.run.cpu_ms:.1f} ms",
              cell(pg, f"{pg.run.cpu_ms:.1f} ms" if pg else ""), "")
    table.add("mixed cost per update ÷ the echo bot's beside it (wall clock)",
              f"{sq.ratio:.1f}× ({_verdict(sq.ratio <= throughput.TARGET_SQLITE)})",
              cell(pg, f"{pg.ratio:.1f}× ({_verdict(pg.ratio <= throughput.TARGET_POSTGRES)})"
                   if pg else ""),
              f"≤ {throughput.TARGET_SQLITE}× / ≤ {throughput.TARGET_POSTGRES}×")
    table.add("mixed load: database connections opened while measuring",
              f"{sq.run.connections_opened}",
              cell(pg, f"{pg.run.connections_opened}" if pg else ""), "")
    table.add("mixed load: updates that failed (error logged)", f"{sq.run.errors}",
              cell(pg, f"{pg.run.errors}" if pg else ""), "0")
    table.add("SQLITE_ON_LOOP=0 (aiosqlite): mixed updates/s, p50 / p99, cost ÷ echo bot's",
              f"{threaded.run.per_second:,.0f}, {threaded.run.p50:.0f} / "
              f"{threaded.run.p99:.0f} ms, {threaded.ratio:.1f}×", "—", "")
    for paired in [runs.menu, *runs.mixed]:
        for sample in paired.run.error_samples:
            print(f"  {paired.run.label}: error: {sample}", file=sys.stderr)


def _broadcast(table: Table, recipients: int, rate: float, pg_url: str | None,
               pg_none: str) -> None:
    results: dict[tuple[int, str], dict[str, float]] = {}
    plan = [(1, None), (2, None)] + ([(2, pg_url)] if pg_url else [])
    for instances, server in plan:
        backend = "PostgreSQL" if server else "SQLite"
        _progress(f"broadcast: {recipients:,} recipients at {rate:g} msg/s, "
                  f"{instances} instance(s), {backend}")
        results[(instances, backend)] = asyncio.run(
            broadcast.run(recipients, rate, instances=instances, server_url=server)
        )
    for instances in (1, 2):
        sq = results.get((instances, "SQLite"))
        pg = results.get((instances, "PostgreSQL"))
        label = f"broadcast {recipients:,}, {instances} instance{'s' if instances > 1 else ''}"

        def fraction(r: dict[str, float] | None) -> str:
            if r is None:
                return pg_none if pg_url is None else "not run"
            return f"{r['fraction']:.3f} ({_verdict(r['fraction'] >= 0.95)})"

        def dupes(r: dict[str, float] | None) -> str:
            if r is None:
                return pg_none if pg_url is None else "not run"
            return f"{r['duplicates']:.0f} dup., {r['missing']:.0f} missing"

        table.add(f"{label}: rate ÷ configured {rate:g} msg/s", fraction(sq), fraction(pg),
                  "≥ 0.95")
        table.add(f"{label}: duplicates", dupes(sq), dupes(pg), "0")
    one = results[(1, "SQLite")]
    table.add("broadcast: sender CPU per message, sender peak RSS",
              f"{one['sender_cpu_s'] / max(recipients, 1) * 1000:.1f} ms, "
              f"{one['peak_rss_mb']:.0f} MB", "—", "")


def _memory(table: Table, citizens: int, works: int, served: int, concurrency: int) -> None:
    _progress(f"memory: {citizens:,} citizens, {works:,} works, {served} updates")
    result = asyncio.run(memory.run(citizens=citizens, works=works, updates=served,
                                    concurrency=concurrency))
    table.add(f"memory: peak RSS, {citizens:,} citizens + {works:,} works "
              f"({result['updates']:.0f} updates)",
              f"{result['peak_rss_mb']:.0f} MB ({_verdict(result['peak_rss_mb'] < 300)})",
              "—", "< 300 MB")
    table.add("memory: RSS when ready / time to serve those updates",
              f"{result['ready_rss_mb']:.0f} MB / {result['seconds']:.0f} s", "—", "")
    for sample in result.get("error_samples", []):
        print(f"  memory: error: {sample}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
