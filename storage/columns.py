"""Column helpers shared by the table modules (`storage.models`, `storage.models_runtime`):
money is NUMERIC, Telegram ids are BIGINT, timestamps are UTC (`UTCDateTime`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlmodel import Field

from storage.types import UTCDateTime, utcnow

MONEY = Numeric(20, 2)


def money(nullable: bool = True) -> Any:
    return Field(default=None if nullable else Decimal(0), sa_type=MONEY, nullable=nullable)


def when(nullable: bool = True, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def bigint(nullable: bool = False, index: bool = False, unique: bool = False) -> Any:
    return Field(
        default=None, sa_type=BigInteger, nullable=nullable, index=index, unique=unique
    )


def source(max_length: int) -> Any:
    return Field(default=None, max_length=max_length)
