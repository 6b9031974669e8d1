"""Fault runs with real `cabildo run` processes: kill -9, slow answers, a database stopped.

    python -m bench.faults [--recipients 3000] [--kills 3] [--rate 25] [--restart-delay 5]
                           [--parts kill,slow,outage,rate] [--backends sqlite,postgresql]
                           [--database-url postgresql://user@host:port/anydb]

This process runs the fake Bot API (`bot.localapi`, over HTTP) and starts real bot
processes (`cabildo run`, webhook mode, one port each) on one database. What it prints:

- **kill**: a broadcast to `--recipients` people; instance 0 is killed with SIGKILL at a
  random point and started again `--restart-delay` seconds later, as systemd's unit would.
  Per run: recipients with exactly one message, `incierto` rows, recipients with no message
  and no record (must be 0), with two (must be 0), the seconds from the restart to the
  author's delivery report (target < 120: it includes sending what was left, up to 120 s
  for 3,000 at 25/s when killed early) and from the last message sent to the report (the
  wait for the dead sender's lease and the minute sweep). The last run has two instances:
  the other one goes on sending while the killed one restarts.
- **slow**: 20 sends Telegram carries out but answers after the bot's read timeout (5 s):
  20 messages, 0 duplicates, 20 rows `incierto`.
- **outage** (PostgreSQL only): the server is stopped for `--outage-seconds` mid-broadcast
  while people keep writing: nothing stranded, one apology per update, few log lines.
- **rate**: 1, 2 and 3 instances against `--rate`: the busiest second of requests leaving
  the bot processes (each row's `sent_at`; must be ≤ the rate), the same as the fake API
  took them in (this process may lag on a busy machine and bunch them, as a network can),
  and the achieved rate ÷ the configured one (1 instance: target ≥ 0.95).

PostgreSQL: `--database-url` or CABILDO_BENCH_PG, otherwise a throwaway server
(`dev.ThrowawayPostgres`) when PostgreSQL is installed; the outage needs that throwaway one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import socket
import sys
import tempfile
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from bench.common import pg_ctl, pg_url_from_env, scratch_database, throwaway_postgres
from bot.localapi import LocalBotAPI, LocalBotAPIServer
from storage import outbox
from storage.broadcasts import Audience, create_broadcast
from storage.db import Database
from storage.models import Citizen
from storage.types import utcnow

TOKEN = "123456789:FAULTS-token-for-the-fake-bot-api-server"
SECRET = "faults-bench-webhook-secret-0123456789"
ADMIN = 1000
APOLOGY = "😕 Algo falló de nuestro lado"
FIRST_PERSON = 100_000
REPORT_WAIT = 600.0  # seconds; a run whose report takes longer is reported as never


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    """One `cabildo run` process in webhook mode, and where its log goes."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=_free_port)
    proc: asyncio.subprocess.Process | None = None

    async def start(self) -> float:
        """Start the process; return when it was started (the monotonic clock)."""
        cabildo = Path(sys.executable).with_name("cabildo")
        command = [str(cabildo)] if cabildo.exists() else [sys.executable, "-m", "bot.cli"]
        env = {**self.env, "WEBHOOK_PORT": str(self.port)}
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *command, "run", env=env, stdout=log, stderr=log, cwd=self.log.parent
            )
        return started

    async def ready(self, timeout: float = 90.0) -> None:
        """Wait until /healthz answers 200."""
        async with asyncio.timeout(timeout), httpx.AsyncClient() as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def kill(self) -> None:
        """kill -9."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        """Stop it as systemd does (SIGTERM), or kill it after 20 s."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            await self.kill()

    def lines(self) -> int:
        """Return how many lines the process has logged so far."""
        return len(self.log.read_bytes().splitlines()) if self.log.exists() else 0


@dataclass
class Bench:
    """The fake Bot API, a scratch database with citizens, and bot processes on them."""

    api: LocalBotAPI
    api_url: str
    db: Database
    database_url: str
    folder: Path
    rate: float
    people: list[int]
    running: list[Instance] = field(default_factory=list)

    def instance(self) -> Instance:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEB"))},
            "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": self.api_url,
            "DATABASE_URL": self.database_url, "ADMIN_IDS": str(ADMIN),
            "OUTBOX_RATE_PER_SECOND": f"{self.rate:g}", "SCHEDULE_GRACE_HOURS": "0",
            "WEBHOOK_URL": "https://cabildo.bench.invalid", "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1", "LOG_LEVEL": "INFO",
        }
        made = Instance(env, self.folder / f"instancia-{len(self.running)}.log")
        self.running.append(made)
        return made

    async def start(self, count: int) -> list[Instance]:
        started = [self.instance() for _ in range(count)]
        for one in started:
            await one.start()
        await asyncio.gather(*(one.ready() for one in started))
        return started

    async def stop_all(self) -> None:
        await asyncio.gather(*(one.stop() for one in self.running))
        self.running.clear()

    async def broadcast(self, recipients: int, text: str) -> tuple[int, int]:
        """Queue a broadcast to the first `recipients` people; return its id and the call mark.

        The others are marked as having blocked the bot, so the audience «todos» is exactly
        those `recipients`.
        """
        async with self.db.session() as session:
            conn = await session.connection()
            await conn.execute(Citizen.__table__.update().values(  # type: ignore[attr-defined]
                blocked_at=utcnow()
            ).where(Citizen.chat_id >= FIRST_PERSON + recipients))
            await conn.execute(Citizen.__table__.update().values(  # type: ignore[attr-defined]
                blocked_at=None
            ).where(Citizen.chat_id < FIRST_PERSON + recipients))
            await session.commit()
            mark = len(self.api.calls)
            broadcast, queued = await create_broadcast(
                session, created_by=ADMIN, audience=Audience("todos"), text=text
            )
        assert queued == recipients, (queued, recipients)
        assert broadcast.id is not None
        return broadcast.id, mark

    def sends(self, mark: int) -> list[Any]:
        return [c for c in self.api.calls[mark:]
                if c.method == "sendMessage" and c.ok and c.params["chat_id"] >= FIRST_PERSON]

    async def report(self, broadcast_id: int, deadline: float = REPORT_WAIT) -> float | None:
        """Wait for the author's report of this broadcast; return when it came, or None."""
        needle = f"Difusión #{broadcast_id}<"
        until = time.monotonic() + deadline
        while time.monotonic() < until:
            for call in reversed(self.api.calls):
                if (call.method == "sendMessage" and call.ok and call.params["chat_id"] == ADMIN
                        and needle in call.params["text"]):
                    return call.at
            await asyncio.sleep(0.2)
        return None

    async def departures(self, broadcast_id: int) -> list[float]:
        """Return when each sent row's request left its bot process (seconds, sorted)."""
        table = outbox.OUTBOX
        async with self.db.session() as session:
            conn = await session.connection()
            rows = await conn.execute(select(table.c.sent_at).where(
                table.c.broadcast_id == broadcast_id, table.c.sent_at.is_not(None)))
            return sorted(when.timestamp() for (when,) in rows.all())

    async def statuses(self, broadcast_id: int) -> dict[int, str]:
        table = outbox.OUTBOX
        async with self.db.session() as session:
            conn = await session.connection()
            rows = await conn.execute(select(table.c.chat_id, table.c.status).where(
                table.c.broadcast_id == broadcast_id))
            return {int(chat): str(status) for chat, status in rows.all()}


@dataclass
class Outcome:
    """How one broadcast ended, recipient by recipient."""

    one: int
    uncertain: int
    zero_without_record: int
    two: int
    stuck: int

    @classmethod
    def of(cls, sends: list[Any], statuses: dict[int, str]) -> Outcome:
        got = Counter(c.params["chat_id"] for c in sends)
        final = {"enviado", "incierto", "fallido", "bloqueado"}
        return cls(
            one=sum(1 for chat in statuses if got[chat] == 1),
            uncertain=sum(1 for s in statuses.values() if s == "incierto"),
            zero_without_record=sum(1 for chat, s in statuses.items()
                                    if got[chat] == 0 and s not in ("incierto", "fallido")),
            two=sum(1 for n in got.values() if n >= 2),
            stuck=sum(1 for s in statuses.values() if s not in final),
        )


@asynccontextmanager
async def bench(server_url: str | None, rate: float, people: int) -> AsyncIterator[Bench]:
    """Yield a Bench on a new database with `people` citizens, the fake API serving."""
    api = LocalBotAPI()
    async with scratch_database(server_url) as url, LocalBotAPIServer(api) as server:
        db = Database(url)
        with tempfile.TemporaryDirectory(prefix="cabildo-faults-") as folder:
            chats = list(range(FIRST_PERSON, FIRST_PERSON + people))
            async with db.session() as session:
                conn = await session.connection()
                await conn.execute(insert(Citizen.__table__), [  # type: ignore[attr-defined]
                    {"telegram_id": p, "chat_id": p, "role": "ciudadano",
                     "created_at": utcnow(), "last_seen_at": utcnow()} for p in chats
                ])
                await session.commit()
            made = Bench(api, server.url, db, url, Path(folder), rate, chats)
            try:
                yield made
            finally:
                await made.stop_all()
                await db.dispose()


@dataclass
class KillRun:
    instances: int
    killed_at: int
    outcome: Outcome
    restart_to_report: float | None
    last_send_to_report: float | None  # how long the report waited for the sweep


async def kill_run(b: Bench, recipients: int, instances: int, restart_delay: float,
                   run: int) -> KillRun:
    """Kill instance 0 with SIGKILL mid-broadcast and start it again after the delay."""
    started = await b.start(instances)
    broadcast_id, mark = await b.broadcast(recipients, f"Aviso de prueba {run}")
    point = random.randint(recipients // 20, recipients * 19 // 20)
    while len(b.sends(mark)) < point:
        await asyncio.sleep(0.005)
    await started[0].kill()
    killed_at = len(b.sends(mark))
    await asyncio.sleep(restart_delay)
    restarted = await started[0].start()
    reported = await b.report(broadcast_id)
    sends = b.sends(mark)
    outcome = Outcome.of(sends, await b.statuses(broadcast_id))
    await b.stop_all()
    if reported is None:
        return KillRun(instances, killed_at, outcome, None, None)
    return KillRun(instances, killed_at, outcome, reported - restarted,
                   reported - max(c.at for c in sends))


async def slow_run(b: Bench, delay: float = 8.0) -> Outcome:
    """Twenty sends carried out but answered after the bot's read timeout."""
    await b.start(1)
    b.api.slow_accept_delay = delay
    b.api.fail("sendMessage", "slow_accept", times=20)
    broadcast_id, mark = await b.broadcast(20, "Audiencia pública (respuesta lenta)")
    await b.report(broadcast_id)
    outcome = Outcome.of(b.sends(mark), await b.statuses(broadcast_id))
    await b.stop_all()
    return outcome


@dataclass
class RateRun:
    instances: int
    sent: int
    busiest_left: int  # requests leaving the bot processes (rows' sent_at): the promise
    busiest_arrived: int  # requests as the fake API took them in (its process may lag)
    fraction: float


def busiest_second(at: list[float]) -> int:
    """Return the most requests in any one-second window of the sorted times `at`."""
    return max((bisect_left(at, t + 1.0) - i for i, t in enumerate(at)), default=0)


async def rate_run(b: Bench, recipients: int, instances: int) -> RateRun:
    """Send a broadcast with `instances` processes; measure the rate it went out at."""
    await b.start(instances)
    broadcast_id, mark = await b.broadcast(recipients, f"Ritmo con {instances}")
    await b.report(broadcast_id)
    at = sorted(c.at for c in b.sends(mark))
    left = await b.departures(broadcast_id)
    await b.stop_all()
    # From the first request to the last: n - 1 intervals.
    fraction = (len(at) - 1) / (at[-1] - at[0]) / b.rate if len(at) > 1 else 0.0
    return RateRun(instances, len(at), busiest_second(left), busiest_second(at), fraction)


@dataclass
class OutageRun:
    outcome: Outcome
    updates: int
    apologies: Counter[int]
    log_lines: int
    outage_to_report: float | None


async def outage_run(b: Bench, pg: Any, recipients: int, seconds: float,
                     updates: int) -> OutageRun:
    """Stop PostgreSQL for `seconds` mid-broadcast while people write; start it again."""
    [one] = await b.start(1)
    broadcast_id, mark = await b.broadcast(recipients, "Corte de agua el jueves")
    while len(b.sends(mark)) < recipients // 3:
        await asyncio.sleep(0.01)
    lines_before = one.lines()
    stopped = time.monotonic()
    await asyncio.to_thread(pg_ctl, pg, "stop")
    writers = [ADMIN + 1 + n for n in range(updates)]
    async with httpx.AsyncClient(base_url=one.url) as client:
        for n, person in enumerate(writers):  # spread over the outage
            update = b.api.user(person).send_text("/metas", enqueue=False)
            await client.post("/telegram", json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            await asyncio.sleep(max(0.0, stopped + seconds * (n + 1) / updates
                                    - time.monotonic()))
    await asyncio.sleep(max(0.0, stopped + seconds - time.monotonic()))
    await asyncio.to_thread(pg_ctl, pg, "start")
    reported = await b.report(broadcast_id)
    apologies = Counter({p: sum(1 for c in b.api.calls_to(p, ["sendMessage"])
                                if c.params["text"].startswith(APOLOGY)) for p in writers})
    outcome = Outcome.of(b.sends(mark), await b.statuses(broadcast_id))
    log_lines = one.lines() - lines_before
    await b.stop_all()
    return OutageRun(outcome, updates, apologies, log_lines,
                     None if reported is None else reported - stopped)


def _sec(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f} s"


async def main_async(args: argparse.Namespace) -> None:
    parts = set(args.parts.split(","))
    wants_pg = "postgresql" in args.backends.split(",") and not args.database_url
    with throwaway_postgres() if wants_pg else contextlib.nullcontext() as pg:
        servers: dict[str, str | None] = {}
        for backend in args.backends.split(","):
            if backend == "sqlite":
                servers["SQLite"] = None
            elif args.database_url:
                servers["PostgreSQL"] = args.database_url
            elif pg is not None:
                servers["PostgreSQL"] = pg.url
            else:
                print("PostgreSQL: not available (install it or pass --database-url)")
        people = max(args.recipients, args.rate_recipients, args.outage_recipients)
        for name, server_url in servers.items():
            print(f"== {name}: configured rate {args.rate:g} msg/s, fake Bot API over HTTP, "
                  "real `cabildo run` processes")
            async with bench(server_url, args.rate, people) as b:
                if "kill" in parts:
                    print(f"kill -9 mid-broadcast of {args.recipients:,}, restart after "
                          f"{args.restart_delay:g} s (targets: 0 without record, 0 twice, "
                          "report < 120 s after the restart)")
                    print("  run  instances  killed at  exactly one  incierto  "
                          "0 w/o record  two  stuck  restart → report  last send → report")
                    for run in range(args.kills):
                        instances = 2 if run == args.kills - 1 and args.kills > 1 else 1
                        k = await kill_run(b, args.recipients, instances, args.restart_delay,
                                           run)
                        o = k.outcome
                        print(f"  {run + 1:>3}  {k.instances:>9}  {k.killed_at:>9,}  "
                              f"{o.one:>11,}  {o.uncertain:>8}  {o.zero_without_record:>12}  "
                              f"{o.two:>3}  {o.stuck:>5}  {_sec(k.restart_to_report):>16}  "
                              f"{_sec(k.last_send_to_report):>19}")
                if "slow" in parts:
                    o = await slow_run(b, args.slow_delay)
                    print(f"slow accept (20 sends answered after {args.slow_delay:g} s, "
                          f"read timeout 5 s): exactly one {o.one}, two {o.two}, "
                          f"incierto {o.uncertain}, 0 w/o record {o.zero_without_record}")
                if "outage" in parts and name == "PostgreSQL":
                    if pg is None:
                        print("outage: needs the throwaway PostgreSQL (no --database-url)")
                    else:
                        r = await outage_run(b, pg, args.outage_recipients,
                                             args.outage_seconds, args.outage_updates)
                        o = r.outcome
                        print(f"PostgreSQL stopped {args.outage_seconds:g} s mid-broadcast of "
                              f"{args.outage_recipients:,}, {r.updates} updates meanwhile:")
                        print(f"  exactly one {o.one:,}, two {o.two}, incierto {o.uncertain}, "
                              f"0 w/o record {o.zero_without_record}, stuck {o.stuck}; report "
                              f"{_sec(r.outage_to_report)} after the stop")
                        once = sum(1 for n in r.apologies.values() if n == 1)
                        print(f"  updates with exactly one apology {once} of {r.updates} "
                              f"(most to one: {max(r.apologies.values(), default=0)}); "
                              f"log lines from the stop on: {r.log_lines} (target < 20)")
                if "rate" in parts:
                    print(f"rate: {args.rate_recipients:,} recipients, configured "
                          f"{args.rate:g} msg/s for the whole bot")
                    print("  instances  sent  busiest second: leaving  arriving  "
                          "achieved ÷ configured")
                    for count in (1, 2, 3):
                        r2 = await rate_run(b, args.rate_recipients, count)
                        print(f"  {r2.instances:>9}  {r2.sent:>4}  {r2.busiest_left:>23}  "
                              f"{r2.busiest_arrived:>8}  {r2.fraction:>21.3f}")


def main() -> None:
    """Run the fault runs and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--restart-delay", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--rate-recipients", type=int, default=1500)
    parser.add_argument("--slow-delay", type=float, default=8.0)
    parser.add_argument("--outage-recipients", type=int, default=1000)
    parser.add_argument("--outage-seconds", type=float, default=20.0)
    parser.add_argument("--outage-updates", type=int, default=80)
    parser.add_argument("--parts", default="kill,slow,outage,rate")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--database-url", default=pg_url_from_env())
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
