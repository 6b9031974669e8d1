"""What the benchmarks share: scratch databases (SQLite or PostgreSQL) and quiet logging."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import sys
import tempfile
import traceback
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.config import normalize_database_url
from storage.migrate import upgrade

PG_ENV = "CABILDO_BENCH_PG"
ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB.

    Linux's VmHWM belongs to the current program image; `ru_maxrss` is not used there
    because it keeps the parent's peak across fork + exec, which would charge a
    benchmark child with the memory of the process that started it.
    """
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def pg_url_from_env() -> str:
    """Return the PostgreSQL server URL from CABILDO_BENCH_PG, or ''."""
    value = os.environ.get(PG_ENV, "").strip()
    return value if value.startswith("postgres") else ""


@asynccontextmanager
async def scratch_database(server_url: str | None) -> AsyncIterator[str]:
    """Yield the URL of a new, migrated, empty database (SQLite temp file or on a PG server)."""
    if not server_url:
        with tempfile.TemporaryDirectory(prefix="cabildo-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            await asyncio.to_thread(upgrade, url)
            yield url
        return
    import asyncpg

    base = make_url(normalize_database_url(server_url))
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"cabildo_bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()


class ErrorCounter(logging.Handler):
    """Counts ERROR records logged while a run lasts (failed updates, sender crashes)."""

    def __init__(self, keep: int = 3) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.keep = keep
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record and keep a one-line summary of the first few."""
        self.count += 1
        if len(self.samples) < self.keep:
            summary = f"{record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                text = str(error).splitlines()[0][:160] if str(error) else ""
                summary += f": {type(error).__name__}: {text}{_where(error)}"
            self.samples.append(summary)


def _where(error: BaseException) -> str:
    """Return ' (at path:line)' for the innermost frame of this project, if any."""
    root = str(Path(__file__).resolve().parent.parent)
    found = ""
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.startswith(root) and "/.venv/" not in frame.filename:
            found = f" (at {Path(frame.filename).relative_to(root)}:{frame.lineno})"
    return found


@asynccontextmanager
async def quiet() -> AsyncIterator[ErrorCounter]:
    """Count ERROR logs and keep INFO chatter (and Alembic's) off the table."""
    counter = ErrorCounter()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(counter)
    root.setLevel(logging.WARNING)
    for name in ("alembic", "httpx", "apscheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield counter
    finally:
        root.removeHandler(counter)
        root.setLevel(previous)


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[Any]:
    """Yield a started throwaway PostgreSQL server (`dev.ThrowawayPostgres`, its URL in
    `.url`), or None when dev.py or the PostgreSQL binaries are not there."""
    sys.path.insert(0, str(ROOT))
    try:
        from dev import ThrowawayPostgres, _pg_bindir
    except ImportError:
        yield None
        return
    bindir = _pg_bindir()
    if bindir is None:
        yield None
        return
    server = ThrowawayPostgres(bindir)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    try:
        yield server
    finally:
        server.stop()


def pg_ctl(server: Any, action: str) -> None:
    """Stop (fast: connections cut) or start a throwaway PostgreSQL server again."""
    data, folder = server.dir / "data", server.dir
    if action == "stop":
        server._run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        return
    server._run(
        "pg_ctl", "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
        f"-k {folder} -p {server.port} -h 127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off", "start",
    )


@contextlib.contextmanager
def postgres(url: str, allowed: bool) -> Iterator[tuple[str | None, str]]:
    """Yield (server URL or None, how it was obtained), starting a throwaway one if we can."""
    if not allowed:
        yield None, "skipped (--no-postgres)"
        return
    if url:
        yield url, "given server"
        return
    stack = contextlib.ExitStack()
    try:
        server = stack.enter_context(throwaway_postgres())
    except Exception as exc:  # initdb/pg_ctl failed: say so and go on with SQLite
        yield None, f"not available (could not start: {exc})"
        return
    with stack:
        if server is None:
            yield None, "not available (no dev.py or no PostgreSQL binaries)"
        else:
            yield server.url, "throwaway server"
