"""Roles: who is a citizen, a community leader, staff or an admin."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import add_entry
from storage.models import Citizen, Comuna
from storage.types import utcnow

ROLES = ("ciudadano", "lider", "staff", "admin")
# Higher rank includes the permissions of lower ones (a leader's comuna aside).
RANK = {"ciudadano": 0, "lider": 1, "staff": 2, "admin": 3}


class RoleError(ValueError):
    """A role change that cannot be made; the message says why, in Spanish."""


@dataclass(frozen=True)
class RoleChange:
    """The outcome of a role change, for the reply and the audit log."""

    telegram_id: int
    old: str
    new: str
    comuna: str | None


async def role_of(
    session: AsyncSession, *, telegram_id: int, admin_ids: Collection[int]
) -> str:
    """Return the person's role; ids in ADMIN_IDS are always admins."""
    if telegram_id in admin_ids:
        return "admin"
    role = (
        await session.exec(select(Citizen.role).where(Citizen.telegram_id == telegram_id))
    ).first()
    return role or "ciudadano"


async def set_role(
    session: AsyncSession,
    *,
    actor_id: int | None,
    actor_role: str = "admin",
    telegram_id: int,
    role: str,
    comuna: str | None = None,
) -> RoleChange:
    """Give `telegram_id` a role (a leader needs a comuna code), log it, and commit.

    Staff may only make or unmake community leaders; everything else takes an admin.
    """
    if role not in ROLES:
        raise RoleError(f"El rol «{role}» no existe. Use: {', '.join(ROLES)}.")
    comuna_row = None
    if role == "lider":
        if not comuna:
            raise RoleError("Un líder necesita su comuna, por ejemplo: lider 4.")
        code = comuna.strip().upper().removeprefix("COMUNA").strip().lstrip("0") or "0"
        comuna_row = (await session.exec(select(Comuna).where(Comuna.codigo == code))).first()
        if comuna_row is None:
            raise RoleError(f"No conozco la comuna «{comuna}».")
    citizen = (
        await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
    ).first()
    if citizen is None:
        # A private chat's id is the person's user id, so staff can be named before they write.
        now = utcnow()
        citizen = Citizen(
            telegram_id=telegram_id, chat_id=telegram_id, created_at=now, last_seen_at=now
        )
    old = citizen.role
    if actor_role != "admin" and (RANK[role] >= RANK["staff"] or RANK[old] >= RANK["staff"]):
        raise RoleError("Solo un administrador puede dar o quitar los roles staff y admin.")
    citizen.role = role
    if comuna_row is not None:
        citizen.comuna_id = comuna_row.id
    session.add(citizen)
    code_shown = comuna_row.codigo if comuna_row else None
    add_entry(
        session,
        actor_id=actor_id,
        action="rol",
        detail={"persona": telegram_id, "antes": old, "ahora": role, "comuna": code_shown},
    )
    await session.commit()
    return RoleChange(telegram_id=telegram_id, old=old, new=role, comuna=code_shown)


async def staff_ids(session: AsyncSession) -> list[int]:
    """Return the Telegram ids of everyone with the staff or admin role in the database."""
    query = select(Citizen.telegram_id).where(Citizen.role.in_(("staff", "admin")))  # type: ignore[attr-defined]
    return list((await session.exec(query)).all())
