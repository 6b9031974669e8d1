"""Round trips to PostgreSQL per update, by what the person did.

    python -m bench.roundtrips [--updates 1000] [--database-url URL]

Under load, an update's latency on PostgreSQL follows its round trips more than its CPU:
at each one the event loop runs the other updates in flight before it comes back (see
docs/benchmarks.md). This runs `bench.throughput`'s mixed load one person at a time and
counts what each update sends to the server through asyncpg: statements (BEGIN and COMMIT
included) and statement preparations. Only the task processing the update counts: the
outbox sender's polls in the background do not, nor do the warm-up's updates. Kinds are a
command, a typed question, a shared location, or a tap by its button's first two fields
(`enc:a`: a survey answer).

Without `--database-url` (or CABILDO_BENCH_PG) a throwaway server is started as `dev.py
test` does; the bench creates its own database on the server and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asyncpg.connection import Connection
from asyncpg.prepared_stmt import PreparedStatement

from bench import driver, throughput
from bench.common import PG_ENV, pg_url_from_env, postgres
from bot.app import freeze_heap

UPDATE_TASK = ":process_concurrent_update"  # how PTB names the task of one update


def _counting(sent: Counter[str], key: str, method: Callable[..., Awaitable[Any]],
              when: Callable[[tuple[Any, ...]], bool] = lambda _args: True,
              ) -> Callable[..., Awaitable[Any]]:
    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        if task is not None and task.get_name().endswith(UPDATE_TASK) and when(args):
            sent[key] += 1
        return await method(self, *args, **kwargs)
    return counted


@contextmanager
def counted_round_trips() -> Iterator[Counter[str]]:
    """Count, while the block runs, what update tasks send through asyncpg."""
    sent: Counter[str] = Counter()
    patched = [
        # a statement with arguments (asyncpg prepares it once per connection)
        (Connection, "_do_execute", "statement"),
        # a statement without arguments (BEGIN, COMMIT): the simple query protocol
        (Connection, "execute", "simple"),
        (PreparedStatement, "_PreparedStatement__do_execute", "statement"),
        (Connection, "prepare", "prepare"),
    ]
    originals = [(cls, name, getattr(cls, name)) for cls, name, _ in patched]
    for cls, name, key in patched:
        when = (lambda args: len(args) == 1) if key == "simple" else (lambda _args: True)
        setattr(cls, name, _counting(sent, key, getattr(cls, name), when))
    try:
        yield sent
    finally:
        for cls, name, method in originals:
            setattr(cls, name, method)


def _person(raw: dict[str, Any]) -> int:
    sent = raw.get("callback_query") or raw.get("message") or {}
    return int(sent.get("from", {}).get("id", 0))


def kind_of(raw: dict[str, Any]) -> str:
    """The kind of an update, as the table groups them."""
    if "callback_query" in raw:
        return ":".join(str(raw["callback_query"].get("data", "")).split(":")[:2])
    message = raw.get("message", {})
    text = message.get("text", "")
    if text.startswith("/"):
        return text.split()[0]
    return "pregunta" if text else "ubicación" if "location" in message else "otro"


async def measure(updates: int, server_url: str) -> dict[str, list[int]]:
    """Run the mixed load one person at a time; return round trips per update, by kind."""
    per_kind: dict[str, list[int]] = defaultdict(list)
    send = driver.Driver.send

    async def counted_send(self: driver.Driver, raw: dict[str, Any]) -> float:
        before = sum(sent.values())
        ms = await send(self, raw)
        if _person(raw) >= throughput.FIRST_USER_ID:  # not the warm-up's
            per_kind[kind_of(raw)].append(sum(sent.values()) - before)
        return ms

    with counted_round_trips() as sent:
        driver.Driver.send = counted_send  # type: ignore[method-assign]
        try:
            await throughput.run_mixed(updates=updates, concurrency=1, server_url=server_url)
        finally:
            driver.Driver.send = send  # type: ignore[method-assign]
    return per_kind


def describe(per_kind: dict[str, list[int]]) -> list[str]:
    """The table: kinds by how often they came, with mean and worst round trips."""
    everything = [n for counts in per_kind.values() for n in counts]
    lines = [f"  {'kind':<20} {'updates':>7} {'mean':>6} {'worst':>6}"]
    for kind, counts in sorted(per_kind.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {kind:<20} {len(counts):7d} {statistics.fmean(counts):6.2f}"
                     f" {max(counts):6d}")
    lines.append(f"  {'all':<20} {len(everything):7d} {statistics.fmean(everything):6.2f}"
                 f" {max(everything):6d}")
    return lines


def main() -> None:
    """Run the count and print its table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=1_000)
    parser.add_argument("--database-url", default=pg_url_from_env(),
                        help=f"a PostgreSQL server to run on (or set {PG_ENV})")
    args = parser.parse_args()
    freeze_heap()
    with postgres(args.database_url or "", True) as (url, how):
        if url is None:
            print(f"round trips to PostgreSQL: {how}")
            return
        per_kind = asyncio.run(measure(args.updates, url))
    print(f"round trips to PostgreSQL per update ({how}), one person at a time")
    print("\n".join(describe(per_kind)))


if __name__ == "__main__":
    main()
