"""Helpers of the `cabildo` command's tests: an operator's folder, the stored works."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import select

from storage.db import Database
from storage.models import Work


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    """Run the CLI from an empty folder against the test database."""
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return tmp_path


def _works(database_url: str) -> list[tuple[str, str, float | None]]:
    async def read() -> list[tuple[str, str, float | None]]:
        db = Database(database_url)
        try:
            async with db.session() as s:
                rows = (await s.exec(select(Work).order_by(Work.codigo))).all()
                return [(w.codigo, w.estado, w.avance_fisico) for w in rows]
        finally:
            await db.dispose()

    return asyncio.run(read())
