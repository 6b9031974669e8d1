"""SECOP sync speed: N generated contracts served by the local stand-in of datos.gov.co.

    python -m bench.sync [--contracts 20000] [--changed 300]

Prints the seconds of a first run (every contract new), a run with no changes, and a run
where `--changed` contracts changed status and value, on a fresh SQLite database, over
real HTTP on 127.0.0.1 with 1,000 rows a page. Each run also reads and imports N/4
processes (p6dx-8zbt), in the same transaction. Nothing reaches the internet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.sync import run_sync
from storage.db import Database
from storage.migrate import upgrade
from storage.socrata import SocrataClient
from tests.utils.datos import FakeDatosGov

FIXTURES = Path(__file__).parent.parent / "tests" / "storage" / "fixtures"
FIXTURE = FIXTURES / "secop_contratos_api.json"
PROCESSES_FIXTURE = FIXTURES / "secop_procesos_api.json"
NIT = "890201222"


def contracts(count: int) -> list[dict[str, Any]]:
    """Return `count` API rows shaped like the recorded one, each a distinct work."""
    template = json.loads(FIXTURE.read_text(encoding="utf-8"))[0]
    rows = []
    for number in range(count):
        row = dict(template)
        row["id_contrato"] = f"CO1.PCCNTR.{1_000_000 + number}"
        row["objeto_del_contrato"] = f"MEJORAMIENTO DEL PARQUE NÚMERO {number} DEL BARRIO"
        row["valor_del_contrato"] = str(100_000_000 + number * 1000)
        row["valor_pagado"] = str(10_000_000 + number)
        rows.append(row)
    return rows


def processes(count: int) -> list[dict[str, Any]]:
    """Return `count` p6dx rows shaped like the recorded one, each a distinct process."""
    template = json.loads(PROCESSES_FIXTURE.read_text(encoding="utf-8"))[0]
    rows = []
    for number in range(count):
        row = dict(template)
        row["id_del_proceso"] = f"CO1.REQ.{1_000_000 + number}"
        row["referencia_del_proceso"] = f"SI-LP-{number:05d}-2026"
        row["nombre_del_procedimiento"] = f"PAVIMENTACIÓN DE LA VÍA NÚMERO {number}"
        rows.append(row)
    return rows


async def main(count: int, changed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        settings = Settings(database_url=url)
        async with FakeDatosGov() as fake:
            fake.datasets["jbjy-vk9h"] = contracts(count)
            fake.datasets["p6dx-8zbt"] = processes(count // 4)
            client = SocrataClient(fake.url)
            for label in ("first run (all new)", "no changes", f"{changed} changed"):
                if label.endswith("changed"):
                    for row in fake.datasets["jbjy-vk9h"][:changed]:
                        row["estado_contrato"] = "Suspendido"
                        row["valor_del_contrato"] = str(int(row["valor_del_contrato"]) + 1)
                start = time.perf_counter()
                report = await run_sync(db, settings, "secop", NIT, client=client)
                seconds = time.perf_counter() - start
                parts = []
                for synced in report.synced:
                    assert synced.result is not None
                    parts.append(f"{synced.dataset.dataset}: {synced.pages} pages, "
                                 f"{synced.result.created} new, {synced.result.updated} "
                                 f"changed, {synced.result.unchanged} unchanged")
                print(f"{label:22} {seconds:6.2f} s  ({'; '.join(parts)})")
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=300)
    args = parser.parse_args()
    print(f"SECOP sync of {args.contracts:,} contracts (SQLite, local API stand-in)")
    asyncio.run(main(args.contracts, args.changed))
