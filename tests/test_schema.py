"""The migrated schema matches the models and round-trips the tricky types."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import select

from storage.db import Database
from storage.models import BudgetLine, Citizen


async def test_telegram_ids_beyond_32_bits_and_money_round_trip(db: Database) -> None:
    async with db.session() as s:
        s.add(Citizen(telegram_id=7_000_000_001, chat_id=-1_001_234_567_890))
        s.add(
            BudgetLine(
                vigencia=2026,
                dependencia="Secretaría de Hacienda",
                apropiacion_definitiva=Decimal("123456789012.34"),
                compromisos=Decimal("1.10"),
            )
        )
        await s.commit()
    async with db.session() as s:
        citizen = (await s.exec(select(Citizen))).one()
        line = (await s.exec(select(BudgetLine))).one()
    assert citizen.chat_id == -1_001_234_567_890
    assert citizen.created_at.tzinfo is not None
    assert abs(citizen.created_at - datetime.now(UTC)).total_seconds() < 60
    assert Decimal(line.apropiacion_definitiva) == Decimal("123456789012.34")
