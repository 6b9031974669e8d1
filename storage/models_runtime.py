"""The tables the running bot keeps for itself: installation secrets, broadcasts and the
outbox with its shared pace, the audit log, people's pending steps, updates already taken,
the public data's versions and scheduled job runs. Imported with the rest of the schema
from `storage.models`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.columns import bigint, when
from storage.types import JSONType


class AppSecret(SQLModel, table=True):
    """A secret the installation generates once (e.g. the key hashing anonymous respondents)."""

    name: str = Field(max_length=40, primary_key=True)
    value: str = Field(max_length=200)
    created_at: datetime = when(nullable=False)


# --- notifications ----------------------------------------------------------


class Broadcast(SQLModel, table=True):
    """A staff broadcast: audience, text, schedule and state."""

    id: int | None = Field(default=None, primary_key=True)
    created_by: int = bigint()
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    text: str = Field(sa_type=Text)
    status: str = Field(default="borrador", max_length=16)
    scheduled_for: datetime | None = when()
    created_at: datetime = when(nullable=False)
    finished_at: datetime | None = when()


class OutboxMessage(SQLModel, table=True):
    """One message to one chat, sent by the outbox sender at a paced rate."""

    __table_args__ = (
        Index("ix_outbox_pending", "status", "not_before"),
        # The rows still to send, those in flight, and the uncertain ones (for /healthz): a
        # handful beside the never-pruned delivered ones, which make `status` look
        # unselective to SQLite's planner (it read the whole outbox for every claim).
        # `storage.outbox` names these conditions as constants in its SQL.
        *(Index(f"ix_outbox_{name}", column, sqlite_where=text(f"status = '{status}'"),
                postgresql_where=text(f"status = '{status}'"))
          for name, column, status in (("due", "id", "pendiente"),
                                       ("in_flight", "id", "enviando"),
                                       ("uncertain", "claimed_at", "incierto"))),
        UniqueConstraint("dedupe_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    chat_id: int = bigint()
    kind: str = Field(default="text", max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    dedupe_key: str | None = Field(default=None, max_length=200)
    # The key's part shared by every recipient (the key without its chat): what
    # `outbox.queued_before` looks up.
    dedupe_group: str | None = Field(default=None, max_length=200, index=True)
    # pendiente | enviando | enviado | bloqueado | fallido | incierto (storage.outbox)
    status: str = Field(default="pendiente", max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    telegram_message_id: int | None = bigint(nullable=True)
    not_before: datetime = when(nullable=False)
    claimed_at: datetime | None = when()  # when it was last handed to Telegram
    sent_at: datetime | None = when()  # when the request left for Telegram
    created_at: datetime = when(nullable=False)
    # The sender (instance) that holds the row, and until when: a `pendiente` row it reserved,
    # or an `enviando` row in flight. Past `lease_until` the holder is presumed gone.
    claimed_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = when()


class SendPace(SQLModel, table=True):
    """The next free sending moment of one rate (the whole bot's: key «bot»), shared by all
    instances so together they never pass it."""

    key: str = Field(primary_key=True, max_length=60)
    next_at: float = 0.0  # seconds since the epoch, on the database's clock


class AuditEntry(SQLModel, table=True):
    """An append-only record of a staff or admin action."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = when(nullable=False, index=True)
    actor_id: int | None = bigint(nullable=True)
    action: str = Field(max_length=60)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class ConversationState(SQLModel, table=True):
    """Where a person is in a multi-step flow; kept here so any instance can continue it."""

    chat_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    flow: str = Field(max_length=40)
    step: str = Field(default="", max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    updated_at: datetime = when(nullable=False)


class SeenUpdate(SQLModel, table=True):
    """A Telegram update some instance has taken, kept an hour so a redelivery is dropped."""

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    seen_at: datetime = when(nullable=False, index=True)


class DataVersion(SQLModel, table=True):
    """The version of one read-mostly public table, moved by a trigger on every write to it.

    `storage.snapshot` keeps what it read of those tables in memory and reads it again when
    a version moves, whichever process or instance wrote. The values are random, never
    sequential: a write rolled back and another one committed never share a version.
    """

    table_name: str = Field(max_length=40, primary_key=True)
    version: int = Field(default=0, sa_type=BigInteger)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job for one period, claimed by the instance that does it."""

    __table_args__ = (UniqueConstraint("job", "period_key"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=60)
    period_key: str = Field(max_length=60)
    claimed_by: str = Field(max_length=120)
    claimed_at: datetime = when(nullable=False, index=True)
