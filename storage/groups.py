"""Group chats of juntas (JAL/JAC) linked to a comuna, so comuna alerts reach the whole group."""

from __future__ import annotations

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import add_entry
from storage.models import Citizen, Comuna, Subscription


class LinkError(ValueError):
    """A link that cannot be made; the message says why, in Spanish."""


async def link_group(
    session: AsyncSession, *, group_id: int, actor_id: int, actor_role: str, comuna: str | None
) -> Comuna:
    """Link a group to a comuna: a leader only to their own, staff to any; log it; commit."""
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
    await session.commit()
    return wanted


async def unlink_group(session: AsyncSession, *, group_id: int, actor_id: int) -> int:
    """Remove every comuna link of a group; return how many there were."""
    result = await session.exec(
        delete(Subscription).where(
            col(Subscription.chat_id) == group_id, col(Subscription.kind) == "comuna"
        )
    )
    add_entry(session, actor_id=actor_id, action="desvincular_grupo", detail={"grupo": group_id})
    await session.commit()
    return int(result.rowcount or 0)
