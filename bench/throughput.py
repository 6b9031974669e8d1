"""Update throughput and latency of the real Application, against a bare echo bot.

    python -m bench.throughput [--updates 5000] [--concurrency 16] [--database-url URL]

The real Application (`bot.app.build_application`, every handler, the outbox sender and
the scheduler running) talks to `bot.localapi.LocalRequest`: the Bot API answers
in-process, so no network is involved and what is measured is Cabildo itself plus its
database. The example data (`storage.demo`) and the sample surveys are loaded first.

Simulated people (10 updates each) use the bot the way citizens do: /start, menu taps,
drilling into works, goals and events (each tap is a callback query on the bot's own
previous message, as Telegram sends it), free-text questions from
`tests/storage/search_phrasings.py`, a shared location, and answering a survey.
`--concurrency` people act at the same time; each one sends their next update only after
the bot finished with the previous one (closed loop, no think time), so the run measures
the bot at saturation with that many simultaneous users.

Updates go through the Application's `update_queue` and its real concurrent processing
(`PerChatUpdateProcessor`), exactly as polling or the webhook feeds them. The latency of
one update runs from `update_queue.put` until the Application finished processing it:
every handler group ran and every Bot API call it made was answered.

The baseline is a bare PTB Application with the same update processor and defaults and one
MessageHandler replying the text, fed text messages by the same driver, run before and after
every other run for about as long (`ECHO_LENGTH`). The ratio compares cost per update
(seconds per update): a run's over the mean of the two echo runs beside it (`Paired`).

Without `--database-url` the database is a SQLite file in a temp dir. With
`--database-url postgresql://user@host:port/anydb` (or CABILDO_BENCH_PG set to such a URL)
the bench creates its own database on that server, runs, and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import event
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Defaults, MessageHandler, filters

from bench.common import PG_ENV, pg_url_from_env, quiet, scratch_database
from bench.driver import Driver, Person, Step, drive
from bot.app import LOCAL_TOKEN, build_application, freeze_heap, running
from bot.config import Settings
from bot.localapi import LocalBotAPI, LocalRequest
from bot.updates import PerChatUpdateProcessor
from storage.citizens import touch_citizen
from storage.db import Database
from storage.demo import load_demo

# Issue #17's targets: mixed cost per update ÷ the echo bot's, and p99 at 16 people at once.
TARGET_SQLITE, TARGET_POSTGRES, TARGET_P99_MS = 5, 7, 100
UPDATES_PER_PERSON = 10
FIRST_USER_ID = 5_000_000
# What the fake Bot API remembers: the last calls and each chat's last messages, as much as
# the driver reads. Kept whole, Telegram's memory of 5,000 updates lived in the bot's process
# (90,000 objects by the end), and the garbage collector's full passes walked it: 17-65 ms
# pauses of the loop, three a run, every update in flight delayed by each (the p99).
KEEP = 8
WARM_UP_USER_ID = 4_000_000


# --- figures ------------------------------------------------------------------------


@dataclass
class Figures:
    """What one run measured."""

    label: str
    updates: int
    seconds: float
    cpu_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    by_kind: dict[str, list[float]] = field(default_factory=dict, repr=False)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    rejected_calls: int = 0
    missed_taps: int = 0
    # Database connections the engine opened while measuring: each costs a dozen round trips
    # on PostgreSQL, and a pool smaller than the updates in flight opens them all the time.
    connections_opened: int = 0

    @property
    def per_second(self) -> float:
        """Return updates handled per second over the whole run."""
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """Return this process's CPU time per update in ms (all its threads)."""
        return self.cpu_seconds / self.updates * 1000 if self.updates else 0.0

    @property
    def kinds(self) -> Counter[str]:
        """Return how many updates of each kind were sent."""
        return Counter({kind: len(values) for kind, values in self.by_kind.items()})

    @property
    def p50(self) -> float:
        """Return the median latency in ms."""
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p99(self) -> float:
        """Return the 99th-percentile latency in ms (nearest rank)."""
        return percentile(self.latencies_ms, 99)


def percentile(values: list[float], pct: float) -> float:
    """Return the nearest-rank percentile of `values` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- what the people do -----------------------------------------------------------


def _scripts(surveys: bool) -> list[list[Step]]:
    works: list[Step] = [
        lambda p: p.text("/start", "comando"),
        lambda p: p.tap("menu:obras"),
        lambda p: p.tap("obra:c:"),
        lambda p: p.tap("obra:w:"),
        lambda p: p.question(),
        lambda p: p.tap("obra:w:", "meta:g:", "ppto:d:", "contr:", "ev:", "menu:"),
        lambda p: p.location(),
        lambda p: p.tap("obra:w:"),
        lambda p: p.text("/menu", "comando"),
        lambda p: p.tap("menu:presupuesto", "menu:"),
    ]
    goals: list[Step] = [
        lambda p: p.text("/start", "comando"),
        lambda p: p.tap("menu:metas"),
        lambda p: p.tap("meta:l:"),
        lambda p: p.tap("meta:p:"),
        lambda p: p.tap("meta:g:"),
        lambda p: p.question(),
        lambda p: p.text("/agenda", "comando"),
        lambda p: p.tap("ev:e:"),
        lambda p: p.question(),
        lambda p: p.tap("menu:inicio", "ev:l:", "menu:"),
    ]
    if surveys:
        third: list[Step] = [
            lambda p: p.text("/start", "comando"),
            lambda p: p.tap("menu:encuestas"),
            lambda p: p.tap("enc:i:"),
            *([lambda p: p.survey()] * 6),
            lambda p: p.question(),
        ]
    else:
        third = [
            lambda p: p.text("/start", "comando"),
            lambda p: p.text("/agenda", "comando"),
            lambda p: p.tap("ev:e:"),
            lambda p: p.tap("ev:l:", "ev:e:"),
            lambda p: p.tap("ev:e:"),
            lambda p: p.question(),
            lambda p: p.question(),
            lambda p: p.tap("menu:agenda", "menu:"),
            lambda p: p.tap("ev:e:"),
            lambda p: p.question(),
        ]
    return [works, goals, third]


async def warm_up(
    driver: Driver, api: LocalBotAPI, scripts: list[list[Step]], concurrency: int,
    rng: random.Random,
) -> None:
    """Run a few scripts by other people first, unmeasured (imports, caches, the index)."""
    people = [Person(api, WARM_UP_USER_ID + i, random.Random(rng.random()))
              for i in range(concurrency)]
    await drive(driver, people, scripts, concurrency, concurrency * UPDATES_PER_PERSON)


# --- databases -------------------------------------------------------------------


async def load_example_data(url: str, settings: Settings) -> bool:
    """Load the example data and sample surveys; return whether surveys are available."""
    db = Database(url)
    try:
        async with db.session() as session:
            await load_demo(session, tz=settings.tz)
        try:
            from storage.importers.surveys import load_sample_surveys
        except ImportError:
            return False
        async with db.session() as session:
            results = await load_sample_surveys(session, tz=settings.tz)
        return bool(results)
    finally:
        await db.dispose()


def surveys_handled() -> bool:
    """Tell whether handlers/surveys answers survey buttons yet."""
    from handlers import surveys

    return bool(surveys.HANDLERS)


# --- the two runs ----------------------------------------------------------------


def _menu_script() -> list[Step]:
    """Ask for /ayuda and tap «Menú principal»: Cabildo's cheapest screens with keyboards."""
    return [lambda p: p.text("/ayuda", "comando"), lambda p: p.tap("menu:inicio")] * (
        UPDATES_PER_PERSON // 2
    )


async def run_mixed(
    *, updates: int, concurrency: int, server_url: str | None = None, seed: int = 7,
    label: str = "", menu_only: bool = False, sqlite_on_loop: bool = True,
) -> Figures:
    """Run the mixed load through the real Application; return its figures.

    With `menu_only`, every person only asks for the help and taps its «Menú principal»
    button: the cost of Cabildo's update pipeline and of answering with a keyboard, plus the
    one read every command and menu tap makes (is a typed step pending? see
    handlers/flows.py) — the floor under any real screen.
    """
    async with scratch_database(server_url) as url, quiet() as errors:
        with tempfile.TemporaryDirectory(prefix="cabildo-bench-files-") as tmp:
            settings = Settings(database_url=url, chat_files_dir=tmp, schedule_grace_hours=0,
                                sqlite_on_loop=sqlite_on_loop)
            with_surveys = await load_example_data(url, settings) and surveys_handled()
            api = LocalBotAPI(keep=KEEP)
            app = build_application(settings, request=LocalRequest(api))
            # As `cabildo run` does once it has built its Application; here it also
            # collects what the runs before left (else their garbage, a whole Application's,
            # is walked in this run's full collections: pauses over 100 ms, all in p99).
            freeze_heap()
            async with running(app):
                driver = Driver(app)
                rng = random.Random(seed)
                scripts = [_menu_script()] if menu_only else _scripts(with_surveys)
                await warm_up(driver, api, scripts, concurrency, rng)
                count = -(-updates // UPDATES_PER_PERSON)
                people = [Person(api, FIRST_USER_ID + i, random.Random(rng.random()))
                          for i in range(count)]
                opened = Counter[str]()
                engine = app.bot_data.db.engine.sync_engine
                event.listen(engine, "connect", lambda *_: opened.update(("connect",)))
                started, cpu = time.perf_counter(), time.process_time()
                by_kind = await drive(driver, people, scripts, concurrency, updates)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
            return Figures(
                label=label or (f"Cabildo, menu only ({backend})" if menu_only
                                else f"Cabildo, mixed ({backend})"),
                updates=sum(map(len, by_kind.values())),
                seconds=seconds,
                cpu_seconds=cpu,
                latencies_ms=[ms for values in by_kind.values() for ms in values],
                by_kind=by_kind,
                errors=errors.count,
                error_samples=errors.samples,
                rejected_calls=api.refused,
                missed_taps=sum(p.missed_taps for p in people),
                connections_opened=opened["connect"],
            )


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply the text back."""
    if update.effective_message and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


async def _echo_with_database(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record the person (one SELECT and one write) and reply the text back."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not message.text:
        return
    db: Database = context.bot_data["db"]
    async with db.session() as session:
        await touch_citizen(session, telegram_id=user.id, chat_id=message.chat_id)
    await message.reply_text(message.text)


async def run_echo(
    *, updates: int, concurrency: int, seed: int = 7, with_database: bool = False
) -> Figures:
    """Run the same number of text updates through a bare echo Application.

    With `with_database`, the echo handler first records the person in a SQLite database
    (`storage.citizens.touch_citizen`: one SELECT, one UPDATE/INSERT, one commit).
    """
    async with contextlib.AsyncExitStack() as stack:
        db: Database | None = None
        if with_database:
            url = await stack.enter_async_context(scratch_database(None))
            db = Database(url)
            stack.push_async_callback(db.dispose)
        return await _run_echo(updates=updates, concurrency=concurrency, seed=seed, db=db)
    raise AssertionError("unreachable")


async def _run_echo(
    *, updates: int, concurrency: int, seed: int, db: Database | None
) -> Figures:
    from tests.storage.search_phrasings import ANSWERABLE

    api = LocalBotAPI(keep=KEEP)
    app = (
        Application.builder()
        .token(LOCAL_TOKEN)
        .request(LocalRequest(api))
        .get_updates_request(LocalRequest(api))
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(PerChatUpdateProcessor(64))
        .build()
    )
    app.bot_data["db"] = db
    app.add_handler(MessageHandler(filters.TEXT, _echo if db is None else _echo_with_database))
    freeze_heap()  # as `run_mixed` does
    texts = [phrase for phrase, _, _ in ANSWERABLE]
    async with quiet() as errors, running(app):
        driver = Driver(app)
        rng = random.Random(seed)
        script: list[Step] = [lambda p: p.text(rng.choice(texts), "texto")] * (
            UPDATES_PER_PERSON
        )
        await warm_up(driver, api, [script], concurrency, rng)
        count = -(-updates // UPDATES_PER_PERSON)
        people = [Person(api, FIRST_USER_ID + i, rng) for i in range(count)]
        started, cpu = time.perf_counter(), time.process_time()
        by_kind = await drive(driver, people, [script], concurrency, updates)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Figures(
        label="bare echo bot" if db is None else "echo bot + 1 DB write (SQLite)",
        updates=sum(map(len, by_kind.values())), seconds=seconds, cpu_seconds=cpu,
        latencies_ms=[ms for values in by_kind.values() for ms in values], by_kind=by_kind,
        errors=errors.count, error_samples=errors.samples,
        rejected_calls=api.refused,
    )


# --- command line ----------------------------------------------------------------

# An echo run sends this many times the mixed run's updates: it then lasts about as long
# (the echo bot answers 3 to 6 times faster), so both see the machine over as many seconds.
ECHO_LENGTH = 3


@dataclass(frozen=True)
class Paired:
    """A run with the echo runs made just before and after it. A shared machine's speed
    drifts from minute to minute (the echo bot alone went from 3,700 to 2,000 updates a
    second between two runs a minute apart), so each run is compared with the baseline of
    its own minutes, not with one taken once at one end."""

    run: Figures
    before: Figures
    after: Figures

    @property
    def echoes(self) -> tuple[Figures, Figures]:
        """The echo runs it is compared with."""
        return self.before, self.after

    @property
    def ratio(self) -> float:
        """Cost per update (wall clock, 1 / throughput) over the two echo runs' mean."""
        echo = statistics.mean(1 / e.per_second for e in self.echoes)
        return (1 / self.run.per_second) / echo if self.run.per_second else float("inf")

    @property
    def cpu_ratio(self) -> float:
        """CPU per update over the two echo runs' mean."""
        return self.run.cpu_ms / statistics.mean(e.cpu_ms for e in self.echoes)


@dataclass(frozen=True)
class Runs:
    """Every run of `run_all`, each paired with the echo runs beside it."""

    echoes: list[Figures]
    echo_db: Paired
    menu: Paired
    sqlite: Paired
    threaded: Paired
    postgres: Paired | None

    @property
    def mixed(self) -> list[Paired]:
        """The mixed-load runs: SQLite, through aiosqlite, PostgreSQL if run."""
        return [self.sqlite, self.threaded, *([self.postgres] if self.postgres else [])]


async def run_all(
    updates: int, concurrency: int, server_url: str | None,
    progress: Callable[[str], None] = lambda _: None,
) -> Runs:
    """Run the mixed load (SQLite, through aiosqlite, PostgreSQL if given) and the
    references, with an echo run before the first, after the last and between any two."""
    echoes: list[Figures] = []

    async def echo() -> Figures:
        progress(f"echo bot, {ECHO_LENGTH * updates:,} updates ({len(echoes) + 1})")
        echoes.append(await run_echo(updates=ECHO_LENGTH * updates, concurrency=concurrency))
        return echoes[-1]

    async def paired(run: Callable[[], Awaitable[Figures]], message: str) -> Paired:
        before = echoes[-1] if echoes else await echo()
        progress(message)
        figures = await run()
        return Paired(figures, before, await echo())

    mixed = f"{updates:,} mixed updates"
    echo_db = await paired(lambda: run_echo(updates=updates, concurrency=concurrency,
                                            with_database=True),
                           f"echo bot recording each person in SQLite, {updates:,} updates")
    menu = await paired(lambda: run_mixed(updates=updates, concurrency=concurrency,
                                          menu_only=True),
                        f"Cabildo answering only /ayuda and «Menú principal», {updates:,} updates")
    sqlite = await paired(lambda: run_mixed(updates=updates, concurrency=concurrency),
                          f"Cabildo on SQLite, {mixed}")
    postgres = None
    if server_url:
        postgres = await paired(lambda: run_mixed(updates=updates, concurrency=concurrency,
                                                  server_url=server_url),
                                f"Cabildo on PostgreSQL, {mixed}")
    threaded = await paired(
        lambda: run_mixed(updates=updates, concurrency=concurrency, sqlite_on_loop=False,
                          label="Cabildo, mixed (SQLITE_ON_LOOP=0)"),
        f"Cabildo on SQLite through aiosqlite's threads (SQLITE_ON_LOOP=0), {mixed}")
    return Runs(echoes, echo_db, menu, sqlite, threaded, postgres)


def describe(figures: Figures) -> str:
    """Return one line with a run's figures."""
    return (
        f"  {figures.label:<30} {figures.updates:6d} updates  {figures.per_second:8.1f} upd/s"
        f"  p50 {figures.p50:7.1f} ms  p99 {figures.p99:7.1f} ms  CPU {figures.cpu_ms:5.2f} ms/upd"
        f"  errors {figures.errors}"
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=16,
                        help="people using the bot at the same time")
    parser.add_argument("--database-url", default=pg_url_from_env(),
                        help=f"a PostgreSQL server to run on too (or set {PG_ENV})")
    args = parser.parse_args()
    freeze_heap()  # as `cabildo run` does once it has started
    runs = asyncio.run(run_all(args.updates, args.concurrency, args.database_url or None))
    print(f"update throughput and latency, {args.concurrency} people at a time")
    for echo in runs.echoes:
        print(describe(echo))
    for paired in [runs.echo_db, runs.menu, *runs.mixed]:
        figures = paired.run
        print(describe(figures))
        for kind, values in sorted(figures.by_kind.items()):
            print(f"      {kind:<10} {len(values):5d}  p50 {statistics.median(values):7.1f} ms"
                  f"  p99 {percentile(values, 99):7.1f} ms")
        for sample in figures.error_samples:
            print(f"      error: {sample}")
        print(f"      taps that found no button: {figures.missed_taps};"
              f" Bot API calls refused: {figures.rejected_calls};"
              f" database connections opened: {figures.connections_opened}")
        print(f"      cost per update vs the echo runs beside it: {paired.ratio:.2f}x wall"
              f" clock, {paired.cpu_ratio:.2f}x CPU   (target <= {TARGET_SQLITE}x on SQLite,"
              f" <= {TARGET_POSTGRES}x on PostgreSQL)")


if __name__ == "__main__":
    main()
