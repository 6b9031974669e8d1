"""Group chats of juntas (JAL/JAC) linked to a comuna, so comuna alerts reach the whole group."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import add_entry
from storage.models import Citizen, Comuna, OutboxMessage, Subscription

# Outbox dedupe prefix of the note a group gets when the bot is added (see handlers.membership).
WELCOME_DEDUPE = "grupo_agregado"


class LinkError(ValueError):
    """A link that cannot be made; the message says why, in Spanish."""


async def link_group(
    session: AsyncSession, *, group_id: int, actor_id: int, actor_role: str, comuna: str | None
) -> Comuna:
    """Link a group to a comuna: a leader only to their own, staff to any; log it."""
    actor = (await session.exec(select(Citizen).where(Citizen.telegram_id == actor_id))).first()
    own = await session.get(Comuna, actor.comuna_id) if actor and actor.comuna_id else None
    if comuna:
        code = comuna.strip().upper().removeprefix("COMUNA").strip().lstrip("0") or "0"
        wanted = (await session.exec(select(Comuna).where(Comuna.codigo == code))).first()
        if wanted is None:
            raise LinkError(f"No conozco la comuna «{comuna}».")
    elif own is not None:
        wanted = own
    else:
        raise LinkError("Diga la comuna, por ejemplo: /vincular 4.")
    if actor_role == "lider" and (own is None or own.id != wanted.id):
        mine = f" ({own.codigo} - {own.nombre})" if own else ""
        raise LinkError(f"Como líder solo puede vincular el grupo a su comuna{mine}.")
    exists = (
        await session.exec(
            select(Subscription).where(
                Subscription.chat_id == group_id,
                Subscription.kind == "comuna",
                Subscription.value == wanted.codigo,
            )
        )
    ).first()
    if exists is None:
        session.add(Subscription(chat_id=group_id, kind="comuna", value=wanted.codigo))
        add_entry(session, actor_id=actor_id, action="vincular_grupo",
                  detail={"grupo": group_id, "comuna": wanted.codigo})
    await session.flush()
    return wanted


async def unlink_group(session: AsyncSession, *, group_id: int, actor_id: int) -> int:
    """Remove every comuna link of a group; return how many there were."""
    result = await session.exec(
        delete(Subscription).where(
            col(Subscription.chat_id) == group_id, col(Subscription.kind) == "comuna"
        )
    )
    add_entry(session, actor_id=actor_id, action="desvincular_grupo", detail={"grupo": group_id})
    await session.flush()
    return int(result.rowcount or 0)


async def linked_comunas(session: AsyncSession, *, group_id: int) -> list[str]:
    """Return the codes of the comunas a group is linked to, in order."""
    rows = await session.exec(
        select(Subscription.value).where(
            Subscription.chat_id == group_id, Subscription.kind == "comuna"
        )
    )
    return sorted(rows.all())


async def group_joined(session: AsyncSession, *, group_id: int, at: datetime) -> list[str]:
    """The bot was added to a group at `at`: make the chat reachable again.

    Clears an earlier mark of an unreachable chat (a removal, a refused message) dated up
    to `at`. Return the comunas the group is linked to (already linked: a supergroup that
    was a linked group a moment ago, or a repeated update).
    """
    citizens: Table = Citizen.__table__  # type: ignore[attr-defined]
    until = at.replace(microsecond=0) + timedelta(seconds=1)
    conn = await session.connection()
    await conn.execute(
        update(citizens)
        .where(citizens.c.chat_id == group_id, citizens.c.blocked_at < until)
        .values(blocked_at=None)
    )
    comunas = await linked_comunas(session, group_id=group_id)
    await session.flush()
    return comunas


async def forget_group(
    session: AsyncSession, *, group_id: int, actor_id: int | None, at: datetime
) -> list[str]:
    """The bot left or was removed from a group at `at`: drop its subscriptions.

    Only subscriptions made up to that moment go, so a removal that is handled late (after
    the bot was added again and the group linked anew) changes nothing. Return the comuna
    codes it was linked to; when there were any, it is written to the audit log.
    """
    until = at.replace(microsecond=0) + timedelta(seconds=1)  # Telegram dates are seconds
    rows = (
        await session.exec(
            select(Subscription).where(
                Subscription.chat_id == group_id, col(Subscription.created_at) < until
            )
        )
    ).all()
    comunas = sorted(r.value for r in rows if r.kind == "comuna")
    for row in rows:
        await session.delete(row)
    # Rows of people whose chat is this group (/start sent there) stop counting as well.
    citizens: Table = Citizen.__table__  # type: ignore[attr-defined]
    conn = await session.connection()
    await conn.execute(
        update(citizens)
        .where(citizens.c.chat_id == group_id, citizens.c.blocked_at.is_(None))
        .values(blocked_at=at)
    )
    if comunas:
        add_entry(session, actor_id=actor_id, action="desvincular_grupo",
                  detail={"grupo": group_id, "comunas": comunas,
                          "motivo": "el bot salió del grupo"})
    await session.flush()
    return comunas


async def move_group(
    session: AsyncSession, *, old_id: int, new_id: int, actor_id: int | None
) -> list[str]:
    """A group became a supergroup with a new chat id: carry its links over.

    Subscriptions (a link the new chat already has is kept once), citizens' rows that
    pointed at the old chat, and messages still waiting in the outbox move to `new_id`; a
    note about being added, queued for the new chat meanwhile, is withdrawn (the group was
    linked already). Safe to run twice, as Telegram announces the move in both chats:
    the second run finds nothing to move. Return the comuna codes moved (audited when any).
    """
    if old_id == new_id:
        return []
    for attempt in range(2):
        try:
            async with session.begin_nested():  # only this move is undone on a race
                return await _move_group(
                    session, old_id=old_id, new_id=new_id, actor_id=actor_id
                )
        except IntegrityError:  # someone linked the new chat at the same moment: look again
            if attempt:
                raise
    return []  # pragma: no cover - the loop returns or raises


async def _move_group(
    session: AsyncSession, *, old_id: int, new_id: int, actor_id: int | None
) -> list[str]:
    subs: Table = Subscription.__table__  # type: ignore[attr-defined]
    conn = await session.connection()
    # One conditional UPDATE first: when both announcements are handled at once, the
    # second waits for the first and then finds no row left under the old id.
    twin = subs.alias("twin")
    already = (
        sa_select(twin.c.id)
        .where(twin.c.chat_id == new_id, twin.c.kind == subs.c.kind,
               twin.c.value == subs.c.value)
        .exists()
    )
    moved_rows = (await conn.execute(
        update(subs).where(subs.c.chat_id == old_id, ~already).values(chat_id=new_id)
        .returning(subs.c.kind, subs.c.value)
    )).all()
    kept_rows = (await conn.execute(
        subs.delete().where(subs.c.chat_id == old_id).returning(subs.c.kind, subs.c.value)
    )).all()
    moved = sorted({value for kind, value in [*moved_rows, *kept_rows] if kind == "comuna"})
    citizens: Table = Citizen.__table__  # type: ignore[attr-defined]
    outbox: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    await conn.execute(
        update(citizens).where(citizens.c.chat_id == old_id).values(chat_id=new_id)
    )
    await conn.execute(
        update(outbox)
        .where(outbox.c.chat_id == old_id, outbox.c.status == "pendiente")
        .values(chat_id=new_id)
    )
    if await linked_comunas(session, group_id=new_id):
        await conn.execute(
            outbox.delete().where(
                outbox.c.chat_id == new_id, outbox.c.status == "pendiente",
                outbox.c.dedupe_key.like(f"{WELCOME_DEDUPE}:%"),
            )
        )
    if moved:
        add_entry(session, actor_id=actor_id, action="migrar_grupo",
                  detail={"grupo": old_id, "nuevo": new_id, "comunas": moved})
    await session.flush()
    return moved
