"""Broadcast benchmark: 20,000 recipients through the fake Bot API server over HTTP.

    python -m bench.broadcast [--recipients 20000] [--rate 150] [--instances 2]
                              [--database-url postgresql://user@host:port/anydb]

Prints the achieved sending rate as a fraction of the configured one (target ≥ 0.95),
duplicates (target 0) and a sender process's peak memory.

Each sender is a separate process, as a bot instance is: its own Bot (own HTTP connection
pool), its own database engine and `OutboxSender`; `--instances N` starts N of them at once,
sharing one database and the one fake Bot API server this process runs. The sending time
runs from the first sender starting to drain to the last one finishing.
`OUTBOX_RATE_PER_SECOND` is a bot-wide limit (Telegram
counts per bot token, not per process) that the instances keep together through the
database, so each is configured with the whole rate, as in production, and the figure
compares their combined rate with it. Rows are claimed
atomically (`UPDATE … RETURNING`, plus `SKIP LOCKED` on PostgreSQL), so no message may be
sent twice; duplicates counts any chat that received the message more than once.

SQLite in a temp dir by default; with `--database-url` (or CABILDO_BENCH_PG) the bench
creates its own database on that PostgreSQL server and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter

from sqlalchemy import func, select
from telegram import Bot
from telegram.request import HTTPXRequest

from bench.common import PG_ENV, peak_rss_mb, pg_url_from_env, quiet, scratch_database
from bot.delivery import OutboxSender
from bot.localapi import LocalBotAPI, LocalBotAPIServer
from storage import outbox
from storage.db import Database

TOKEN = "123456789:BENCH-token-for-the-fake-bot-api-server"


async def run(
    recipients: int, rate: float, *, instances: int = 1, server_url: str | None = None
) -> dict[str, float]:
    """Queue one broadcast, send it with `instances` sender processes; return the figures."""
    async with scratch_database(server_url) as url, quiet() as errors:
        db = Database(url)
        try:
            async with db.session() as s:
                started = time.perf_counter()
                await outbox.enqueue(
                    s, chat_ids=range(1, recipients + 1), payload={"text": "Audiencia pública"}
                )
                queued = time.perf_counter() - started
        finally:
            await db.dispose()
        api = LocalBotAPI()
        async with LocalBotAPIServer(api) as server:
            children = [
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bench.broadcast", "--sender", "--api-url", server.url,
                    "--database-url", url, "--rate", str(rate),
                    stdout=asyncio.subprocess.PIPE,
                )
                for _ in range(instances)
            ]
            outputs = [await child.communicate() for child in children]
        reports = []
        for child, (out, _) in zip(children, outputs, strict=True):
            if child.returncode != 0:
                raise RuntimeError(f"a sender process failed with status {child.returncode}")
            reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    elapsed = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    sent = [c for c in api.calls if c.method == "sendMessage" and c.ok]
    delivered = Counter(c.params["chat_id"] for c in sent)
    counts = [r["sent"] for r in reports]
    return {
        "queued_s": queued,
        "elapsed_s": elapsed,
        "achieved": len(sent) / elapsed,
        "fraction": len(sent) / elapsed / rate,
        "delivered": len(delivered),
        "missing": recipients - len(delivered),
        "duplicates": sum(n - 1 for n in delivered.values()),
        "per_instance": min(counts) / max(max(counts), 1),
        "errors": errors.count + sum(r["errors"] for r in reports),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in reports),
        "sender_cpu_s": sum(r["cpu_s"] for r in reports),
        "server_cpu_s": _cpu_seconds(),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def send_all(api_url: str, database_url: str, rate: float) -> dict[str, float]:
    """Be one bot instance's outbox sender until no message is left to send."""
    async with quiet() as errors:
        db = Database(database_url)
        bot = Bot(TOKEN, base_url=f"{api_url}/bot", request=HTTPXRequest(connection_pool_size=64))
        sent = 0
        try:
            async with bot:
                sender = OutboxSender(bot, db, rate_per_second=rate, batch_size=200,
                                      concurrency=48)
                started = time.monotonic()
                while True:
                    done = await sender.drain()
                    sent += done
                    if done == 0:
                        # drain() also returns when another instance won the race for a
                        # batch; stop only when nothing is left for anyone.
                        if await _unsent(db) == 0:
                            break
                        await asyncio.sleep(0.05)
                finished = time.monotonic()
        finally:
            await db.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"sent": sent, "started": started, "finished": finished, "errors": errors.count,
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": peak_rss_mb()}


async def _unsent(db: Database) -> int:
    table = outbox.OUTBOX
    async with db.session() as s:
        conn = await s.connection()
        query = select(func.count()).select_from(table).where(
            table.c.status.in_([outbox.PENDING, outbox.SENDING])
        )
        return int((await conn.execute(query)).scalar_one())


def main() -> None:
    """Run the benchmark and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=150.0, help="configured messages/s")
    parser.add_argument("--instances", type=int, default=1, help="senders sharing the work")
    parser.add_argument("--database-url", default=pg_url_from_env(),
                        help=f"a PostgreSQL server to use instead of SQLite (or set {PG_ENV})")
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:  # one instance, started by `run`: sends, then prints its figures
        print(json.dumps(asyncio.run(send_all(args.api_url, args.database_url, args.rate))))
        return
    figures = asyncio.run(run(args.recipients, args.rate, instances=args.instances,
                              server_url=args.database_url or None))
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"broadcast to {args.recipients:,} recipients, configured {args.rate:g} msg/s, "
          f"{args.instances} instance(s) sharing it, {backend}")
    print(f"  queue (enqueue)      {figures['queued_s']:8.2f} s")
    print(f"  send                 {figures['elapsed_s']:8.2f} s")
    print(f"  achieved rate        {figures['achieved']:8.1f} msg/s")
    print(f"  fraction of config   {figures['fraction']:8.3f}   (target >= 0.95)")
    print(f"  delivered            {figures['delivered']:8.0f}")
    print(f"  missing              {figures['missing']:8.0f}")
    print(f"  duplicates           {figures['duplicates']:8.0f}   (target 0)")
    if args.instances > 1:
        print(f"  work split min/max   {figures['per_instance']:8.3f}")
    print(f"  CPU senders / server {figures['sender_cpu_s']:8.1f} s / "
          f"{figures['server_cpu_s']:.1f} s")
    print(f"  errors logged        {figures['errors']:8.0f}")
    print(f"  peak RSS             {figures['peak_rss_mb']:8.1f} MB")


if __name__ == "__main__":
    main()
