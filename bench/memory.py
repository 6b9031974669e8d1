"""Peak memory of one bot instance holding 100,000 citizens and 20,000 works.

    python -m bench.memory [--citizens 100000] [--works 20000] [--updates 300]
                           [--database-url postgresql://user@host:port/anydb]

This process creates a scratch database (SQLite, or its own database on the PostgreSQL
server given), loads the example data, and bulk-inserts the generated citizens and works
(realistic names, addresses, coordinates inside the city, states and amounts). Then a
fresh Python process — the instance measured — builds the real Application (offline
request class, outbox sender and scheduler running) and serves typical updates from 16
people at a time (`--concurrency`): /start, `/obras <comuna>`, a work's card, a shared
location (five nearest works), a free-text question (the search index over every goal and
work), a text search of works (`/obras parque`), and the budget with its chart (drawn with
matplotlib, the heaviest import). It reports its peak RSS (VmHWM; `ru_maxrss`
off Linux), which includes the interpreter and every library: target under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, select

from bench.common import PG_ENV, peak_rss_mb, pg_url_from_env, quiet, scratch_database
from bench.search import ACTIONS, PLACES, THINGS
from bot.config import Settings
from storage.db import Database
from storage.demo import load_demo
from storage.models import Citizen, Comuna, Work
from storage.types import utcnow

FIRST_CITIZEN = 10_000_000
STATES = ["En ejecución"] * 4 + ["Terminada"] * 3 + ["Suspendida", "Por iniciar", "En contratación"]
CONTRACTORS = ["Consorcio Vías del Norte", "Unión Temporal Santander", "Constructora Lebrija",
               "Consorcio Parques 2026", "Ingeniería del Oriente S.A.S.", "Unión Temporal CDI"]
CHUNK = 2_000


async def populate(url: str, *, citizens: int, works: int, seed: int = 11) -> float:
    """Load the example data plus `citizens` and `works` generated rows; return seconds."""
    rng = random.Random(seed)
    started = time.perf_counter()
    db = Database(url)
    try:
        async with db.session() as session:
            await load_demo(session, tz=Settings().tz)
        async with db.session() as session:
            conn = await session.connection()
            comunas = list((await conn.execute(select(Comuna.__table__.c.id))).scalars())  # type: ignore[attr-defined]
            now = utcnow()
            citizen_table: Table = Citizen.__table__  # type: ignore[attr-defined]
            for start in range(0, citizens, CHUNK):
                rows = [_citizen(i, rng, comunas, now)
                        for i in range(start, min(start + CHUNK, citizens))]
                await conn.execute(citizen_table.insert(), rows)
            work_table: Table = Work.__table__  # type: ignore[attr-defined]
            for start in range(0, works, CHUNK):
                rows = [_work(i, rng, comunas, now)
                        for i in range(start, min(start + CHUNK, works))]
                await conn.execute(work_table.insert(), rows)
            await session.commit()
    finally:
        await db.dispose()
    return time.perf_counter() - started


def _citizen(i: int, rng: random.Random, comunas: list[int], now: Any) -> dict[str, Any]:
    consented = rng.random() < 0.4
    return {
        "telegram_id": FIRST_CITIZEN + i, "chat_id": FIRST_CITIZEN + i, "role": "ciudadano",
        "first_name": f"Persona {i}" if consented else None,
        "comuna_id": rng.choice(comunas) if consented else None,
        "consent_at": now if consented else None, "blocked_at": None,
        "created_at": now, "last_seen_at": now,
    }


def _work(i: int, rng: random.Random, comunas: list[int], now: Any) -> dict[str, Any]:
    thing, place = rng.choice(THINGS), rng.choice(PLACES)
    start = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
    state = rng.choice(STATES)
    progress = 100.0 if state == "Terminada" else 0.0 if state in (
        "Por iniciar", "En contratación") else round(rng.uniform(5, 95), 1)
    return {
        "codigo": f"BW-{i:06d}",
        "nombre": f"{rng.choice(ACTIONS)} {thing} del barrio {place} ({i})",
        "descripcion": f"{rng.choice(ACTIONS)} {thing} con andenes, iluminación y "
                       f"señalización en el barrio {place}.",
        "comuna_id": rng.choice(comunas),
        "direccion": f"Calle {rng.randint(1, 120)} # {rng.randint(1, 40)}-{rng.randint(1, 99)}, "
                     f"Barrio {place}",
        "latitud": round(7.05 + rng.random() * 0.12, 6),
        "longitud": round(-73.16 + rng.random() * 0.08, 6),
        "estado": state, "avance_fisico": progress,
        "avance_financiero": round(progress * rng.uniform(0.7, 1.0), 1),
        "contratista": f"{rng.choice(CONTRACTORS)} {rng.randint(1, 300)}",
        "valor_contrato": Decimal(rng.randint(80, 20_000)) * 1_000_000,
        "fecha_inicio": start, "fecha_fin_prevista": start + timedelta(days=rng.randint(90, 720)),
        "enlace_secop": f"https://community.secop.gov.co/Public/Tendering/OpportunityDetail/"
                        f"Index?noticeUID=CO1.NTC.{7_000_000 + i}",
        "updated_at": now,
    }


async def serve(url: str, *, updates: int, concurrency: int = 16) -> dict[str, Any]:
    """Be the measured instance: build the Application, serve `updates`, report memory."""
    from bench.driver import Driver, Person, Step, drive
    from bot.app import build_application, running
    from bot.localapi import LocalBotAPI, LocalRequest

    with tempfile.TemporaryDirectory(prefix="cabildo-bench-files-") as files:
        async with quiet() as errors:
            settings = Settings(database_url=url, schedule_grace_hours=0, chat_files_dir=files)
            api = LocalBotAPI()
            app = build_application(settings, request=LocalRequest(api))
            async with running(app):
                ready_mb = peak_rss_mb()
                rng = random.Random(3)
                script: list[Step] = [
                    lambda p: p.text("/start", "comando"),
                    lambda p: p.text(f"/obras {p.rng.randint(1, 17)}", "comando"),
                    lambda p: p.tap("obra:w:"),
                    lambda p: p.location(),
                    lambda p: p.question(),
                    lambda p: p.text(f"/obras {p.rng.choice(THINGS)}", "comando"),
                    lambda p: p.text("/presupuesto", "comando"),
                    lambda p: p.tap("ppto:g"),
                ]
                people = [Person(api, FIRST_CITIZEN + rng.randrange(100_000), random.Random(i))
                          for i in range(-(-updates // len(script)))]
                started = time.perf_counter()
                by_kind = await drive(Driver(app), people, [script], concurrency, updates)
                seconds = time.perf_counter() - started
    return {
        "updates": sum(map(len, by_kind.values())), "seconds": seconds,
        "ready_rss_mb": ready_mb, "peak_rss_mb": peak_rss_mb(), "errors": errors.count,
        "error_samples": errors.samples, "missed_taps": sum(p.missed_taps for p in people),
    }


async def run(
    *, citizens: int, works: int, updates: int, server_url: str | None = None,
    concurrency: int = 16,
) -> dict[str, Any]:
    """Populate a scratch database, measure a fresh instance serving it; return figures."""
    async with scratch_database(server_url) as url:
        populate_s = await populate(url, citizens=citizens, works=works)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.memory", "--serve", url, "--updates", str(updates),
            "--concurrency", str(concurrency), stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"the measured instance failed with status {child.returncode}")
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    figures["populate_s"] = populate_s
    return figures


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--works", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16,
                        help="people using the bot at the same time")
    parser.add_argument("--database-url", default=pg_url_from_env(),
                        help=f"a PostgreSQL server to use instead of SQLite (or set {PG_ENV})")
    parser.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(asyncio.run(serve(args.serve, updates=args.updates,
                                           concurrency=args.concurrency))))
        return
    figures = asyncio.run(run(citizens=args.citizens, works=args.works, updates=args.updates,
                              server_url=args.database_url or None,
                              concurrency=args.concurrency))
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"one instance with {args.citizens:,} citizens and {args.works:,} works ({backend})")
    print(f"  populate database    {figures['populate_s']:8.1f} s")
    print(f"  RSS when ready       {figures['ready_rss_mb']:8.1f} MB")
    print(f"  updates served       {figures['updates']:8.0f} in {figures['seconds']:.1f} s")
    print(f"  peak RSS             {figures['peak_rss_mb']:8.1f} MB   (target < 300 MB)")
    print(f"  errors logged        {figures['errors']:8.0f}")
    for sample in figures["error_samples"]:
        print(f"    {sample}")


if __name__ == "__main__":
    main()
