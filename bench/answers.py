"""How well and how fast the bot answers questions written the way citizens write them.

    python -m bench.answers [--misses 40] [--items 10000] [--queries 2000]

1. Accuracy: every labelled question (`tests/answers/labelled.yaml` over the example data,
   `labelled_otra.yaml` over a second city, `tercera/labelled.yaml` over a third written by
   someone who never read the answering code) is typed into the real bot through the fake
   Bot API; the first reply must hold each expected fact. Prints right / asked per intent
   and the misses.
2. Speed: the answers pipeline's own work (read the question, find the item) over an index
   of `--items` generated items, p50 and p99 in milliseconds (target p99 < 20 ms), and the
   whole round trip through the bot on the example data.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.search import PLACES, generate
from bot.config import Settings
from bot.localapi import LocalBotAPI
from storage.answers.ask import parse
from storage.answers.facts import match
from storage.db import Database
from storage.demo import load_demo
from storage.migrate import upgrade
from storage.search import SearchIndex
from tests.answers.evaluate import Outcome, evaluate, load_set, report
from tests.answers.load_otra import load_otra_ciudad
from tests.answers.tercera.loader import load_tercera
from tests.utils.harness import polling_bot

KINDS = ("obra", "meta", "presupuesto", "evento", "contratacion")


def _quantiles(seconds: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(seconds, n=100)
    return statistics.median(seconds) * 1000, cuts[98] * 1000


async def _accuracy(name: str, folder: Path) -> list[Outcome]:
    """Ask one labelled set through the real bot on a fresh database."""
    url = f"sqlite+aiosqlite:///{folder / (name.replace('/', '-') + '.db')}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, schedule_grace_hours=0,
                        chat_files_dir=str(folder / "files"))
    db = Database(url)
    try:
        async with db.session() as session:
            if name == "labelled.yaml":
                await load_demo(session, tz=settings.tz)
            elif name == "labelled_otra.yaml":
                await load_otra_ciudad(session, tz=settings.tz)
            else:
                await load_tercera(session, tz=settings.tz)
        api = LocalBotAPI()
        async with polling_bot(settings, api):
            return await evaluate(load_set(name), api, db, tz=settings.tz)
    finally:
        await db.dispose()


def _pipeline_speed(items: int, queries: int) -> tuple[float, float, float]:
    """Time parse + find over a generated index; return build seconds, p50 and p99 ms."""
    started = time.perf_counter()
    index = SearchIndex(generate(items), {p: str(i % 17 + 1) for i, p in enumerate(PLACES)})
    build = time.perf_counter() - started
    questions = [str(e["q"]) for e in load_set("labelled.yaml")]
    today = date.today()
    for question in questions:  # warm up: word lists read, caches filled, as in a running bot
        ask = parse(question)
        if ask.rest:
            match(index, ask.rest, KINDS, today=today)
    timings = []
    for i in range(queries):
        t0 = time.perf_counter()
        ask = parse(questions[i % len(questions)])
        if ask.rest:
            match(index, ask.rest, KINDS, today=today)
        timings.append(time.perf_counter() - t0)
    p50, p99 = _quantiles(timings)
    return build, p50, p99


async def _main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="cabildo-bench-answers-") as tmp:
        folder = Path(tmp)
        ok = True
        for name, title in (("labelled.yaml", "Datos de ejemplo (Bucaramanga)"),
                            ("labelled_otra.yaml", "Otra ciudad (San Benito del Río)"),
                            ("tercera/labelled.yaml", "Tercera ciudad (Villa Esperanza)")):
            outcomes = await _accuracy(name, folder)
            print(report(title, outcomes, misses=args.misses), end="\n\n")
            ok = ok and all(o.ok for o in outcomes if o.intent == "fuera")
            if name == "labelled.yaml":
                p50, p99 = _quantiles([o.seconds for o in outcomes])
                print(f"round trip through the bot: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
                      f"({len(outcomes)} questions)\n")
    build, p50, p99 = _pipeline_speed(args.items, args.queries)
    print(f"pipeline over {args.items:,} items: index built in {build:.2f} s; "
          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms per question (target p99 < 20 ms)")
    return 0 if ok else 1


def main() -> None:
    """Run the accuracy table and the speed figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", type=int, default=40, help="misses to print per set")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
