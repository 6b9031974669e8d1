"""Broadcast benchmark: 20,000 recipients through the fake Bot API server over HTTP.

    python -m bench.broadcast [--recipients 20000] [--rate 150]

Prints the achieved sending rate as a fraction of the configured one (target ≥ 0.95),
duplicates (target 0) and the process's peak memory. SQLite in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery import OutboxSender
from bot.localapi import LocalBotAPI, LocalBotAPIServer
from storage import outbox
from storage.db import Database
from storage.migrate import upgrade

TOKEN = "123456789:BENCH-token-for-the-fake-bot-api-server"


async def run(recipients: int, rate: float) -> dict[str, float]:
    """Queue and send one broadcast; return the measured figures."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        api = LocalBotAPI()
        async with LocalBotAPIServer(api) as server:
            request = HTTPXRequest(connection_pool_size=64)
            bot = Bot(TOKEN, base_url=f"{server.url}/bot", request=request)
            async with bot:
                async with db.session() as s:
                    started = time.perf_counter()
                    await outbox.enqueue(
                        s, chat_ids=range(1, recipients + 1), payload={"text": "Audiencia pública"}
                    )
                    queued = time.perf_counter() - started
                sender = OutboxSender(bot, db, rate_per_second=rate, batch_size=200, concurrency=48)
                started = time.perf_counter()
                await sender.drain()
                elapsed = time.perf_counter() - started
        await db.dispose()
    delivered = Counter(c.params["chat_id"] for c in api.calls if c.method == "sendMessage")
    return {
        "queued_s": queued,
        "elapsed_s": elapsed,
        "achieved": len(delivered) / elapsed,
        "fraction": len(delivered) / elapsed / rate,
        "delivered": len(delivered),
        "duplicates": sum(n - 1 for n in delivered.values()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    """Run the benchmark and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=150.0, help="configured messages/s")
    args = parser.parse_args()
    figures = asyncio.run(run(args.recipients, args.rate))
    print(f"broadcast to {args.recipients:,} recipients, configured {args.rate:g} msg/s")
    print(f"  queue (enqueue)      {figures['queued_s']:8.2f} s")
    print(f"  send                 {figures['elapsed_s']:8.2f} s")
    print(f"  achieved rate        {figures['achieved']:8.1f} msg/s")
    print(f"  fraction of config   {figures['fraction']:8.3f}   (target >= 0.95)")
    print(f"  delivered            {figures['delivered']:8d}")
    print(f"  duplicates           {figures['duplicates']:8d}   (target 0)")
    print(f"  peak RSS             {figures['peak_rss_mb']:8.1f} MB")


if __name__ == "__main__":
    main()
