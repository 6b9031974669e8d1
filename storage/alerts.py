"""Alert subscriptions of a chat, and the alerts an import's changes cause."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.db import insert_if_absent
from storage.importers import ImportResult
from storage.importers.kinds import data_kind
from storage.models import Comuna, Goal, Subscription, Work
from storage.types import utcnow

TOPICS = ("obras", "eventos", "contratacion", "resumen", "encuestas")
# What followers hear about, per table: what a citizen watching a work or a goal cares for.
WATCHED = {
    "obras": ("estado", "avance_fisico", "avance_financiero", "valor_contrato",
              "fecha_fin_prevista"),
    "metas": ("avance",),
}


_SUBSCRIPTIONS = sa_select(col(Subscription.kind), col(Subscription.value)).where(
    col(Subscription.chat_id) == bindparam("chat"))


async def subscriptions_of(session: AsyncSession, *, chat_id: int) -> set[tuple[str, str]]:
    """Return the chat's subscriptions as (kind, value) pairs (read on every card shown)."""
    params = {"chat": chat_id}
    return {(kind, value) for kind, value in await lean.rows(session, _SUBSCRIPTIONS, params)}


async def toggle(session: AsyncSession, *, chat_id: int, kind: str, value: str) -> bool:
    """Switch one subscription on or off; return whether it is on now. Safe to repeat."""
    existing = (
        await session.exec(
            select(Subscription).where(
                Subscription.chat_id == chat_id, Subscription.kind == kind,
                Subscription.value == value,
            )
        )
    ).first()
    if existing is not None:
        await session.exec(delete(Subscription).where(col(Subscription.id) == existing.id))
        await session.flush()
        return False
    # a double tap may have added it already: then it stays on
    await insert_if_absent(
        session, Subscription.__table__,  # type: ignore[attr-defined]
        chat_id=chat_id, kind=kind, value=value, created_at=utcnow(),
    )
    return True


@dataclass(frozen=True)
class ItemChange:
    """A watched change of one work or goal: what it is, the field, from and to."""

    kind: str  # obra | meta
    key: str
    name: str
    field: str
    old: object
    new: object


async def alerts_for_import(
    session: AsyncSession, result: ImportResult
) -> dict[int, list[ItemChange]]:
    """Return, per chat, the watched changes of this import it should hear about.

    A work's followers and its comuna's subscribers hear about the work; a goal's followers
    about the goal. Each chat appears once, with all its changes, so one import makes at
    most one message per chat. A published source counts as the table it fills (a SECOP
    sync's contracts are works).
    """
    kind = data_kind(result.kind)
    watched = WATCHED.get(kind)
    if not watched:
        return {}
    changes = [c for c in result.changes if c.field in watched]
    if not changes:
        return {}
    keys = {c.key for c in changes}
    per_chat: dict[int, list[ItemChange]] = defaultdict(list)
    if kind == "obras":
        works = (await session.exec(select(Work).where(col(Work.codigo).in_(keys)))).all()
        comunas = {c.id: c.codigo for c in (await session.exec(select(Comuna))).all()}
        by_key = {w.codigo: w for w in works}
        subs = (await session.exec(select(Subscription).where(
            col(Subscription.kind).in_(("obra", "comuna"))
        ))).all()
        for change in changes:
            work = by_key.get(change.key)
            if work is None:
                continue
            item = ItemChange("obra", work.codigo, work.nombre, change.field, change.old,
                              change.new)
            comuna = comunas.get(work.comuna_id)
            for sub in subs:
                if (sub.kind == "obra" and sub.value == work.codigo) or (
                    sub.kind == "comuna" and sub.value == comuna
                ):
                    per_chat[sub.chat_id].append(item)
    else:
        goals = {g.codigo: g for g in (await session.exec(
            select(Goal).where(col(Goal.codigo).in_(keys))
        )).all()}
        subs = (await session.exec(select(Subscription).where(Subscription.kind == "meta"))).all()
        for change in changes:
            goal = goals.get(change.key)
            if goal is None:
                continue
            item = ItemChange("meta", goal.codigo, goal.meta, change.field, change.old, change.new)
            for sub in subs:
                if sub.value == goal.codigo:
                    per_chat[sub.chat_id].append(item)
    return {chat: list(dict.fromkeys(items)) for chat, items in per_chat.items()}
