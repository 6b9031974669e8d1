"""Roles: who is a citizen, a community leader, staff or an admin."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import add_entry
from storage.importers.comunas import ComunaIndex, ComunaRef
from storage.importers.errors import CellError
from storage.models import Citizen, Comuna
from storage.types import utcnow

ROLES = ("ciudadano", "lider", "staff", "admin")
# Higher rank includes the permissions of lower ones (a leader's comuna aside).
RANK = {"ciudadano": 0, "lider": 1, "staff": 2, "admin": 3}


class RoleError(ValueError):
    """A role change that cannot be made; the message says why, in Spanish."""


class RoleUnchanged(RoleError):
    """The person already had that role (and comuna): nothing changed, nothing was logged."""


@dataclass(frozen=True)
class RoleChange:
    """The outcome of a role change, for the reply and the audit log."""

    telegram_id: int
    old: str
    new: str
    comuna: str | None
    new_person: bool = False  # never wrote to the bot: counted in no audience until they do


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
    admin_ids: frozenset[int] = frozenset(),
) -> RoleChange:
    """Give `telegram_id` a role (a leader needs a comuna), and log it.

    The comuna is read like imports read it (`4`, `Occidental`, `Comuna 4 - Occidental`).
    Staff may only make or unmake community leaders; everything else takes an admin.
    Someone who never wrote to the bot gets a row marked unreachable (`blocked_at`), so no
    audience counts them until they open the bot (`touch_citizen` clears the mark).
    Raises RoleUnchanged, changing and logging nothing, when the role is already theirs.
    The last admin (counting `admin_ids`, the ADMIN_IDS setting) cannot be demoted, so the
    installation always keeps someone who can grant roles.
    """
    if role not in ROLES:
        raise RoleError(f"El rol «{role}» no existe. Use: {', '.join(ROLES)}.")
    if telegram_id <= 0:
        raise RoleError(
            f"El id {telegram_id} no es de una persona (los de grupos y canales son negativos). "
            "Los roles se dan a personas: use su id numérico de Telegram."
        )
    comuna_row = None
    if role == "lider":
        if not comuna:
            raise RoleError("Un líder necesita su comuna, por ejemplo: lider 4.")
        comuna_row = await _find_comuna(session, comuna)
    citizen = (
        await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
    ).first()
    new_person = citizen is None
    if citizen is None:
        # A private chat's id is the person's user id, so staff can be named before they write.
        now = utcnow()
        citizen = Citizen(
            telegram_id=telegram_id, chat_id=telegram_id, created_at=now, last_seen_at=now,
            blocked_at=now,
        )
    old = citizen.role
    if actor_role != "admin" and (RANK[role] >= RANK["staff"] or RANK[old] >= RANK["staff"]):
        raise RoleError("Solo quien tiene el rol admin puede dar o quitar los roles staff y admin.")
    if old == role and (comuna_row is None or citizen.comuna_id == comuna_row.id):
        where = f" en la comuna {comuna_row.codigo}" if comuna_row is not None else ""
        raise RoleUnchanged(
            f"La persona {telegram_id} ya tenía ese rol ({role}{where}); no cambié nada."
        )
    if old == "admin" and role != "admin" and not admin_ids - {telegram_id}:
        others = (await session.exec(select(Citizen.telegram_id).where(
            Citizen.role == "admin", Citizen.telegram_id != telegram_id))).first()
        if others is None:
            raise RoleError(
                "Es la última persona administradora: nombre primero a otra "
                "(cabildo rol <id> admin) y después cambie este rol."
            )
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
    await session.flush()
    return RoleChange(telegram_id=telegram_id, old=old, new=role, comuna=code_shown,
                      new_person=new_person)


async def _find_comuna(session: AsyncSession, written: str) -> Comuna:
    """Return the comuna named by number or name, or raise RoleError saying why not."""
    comunas = {c.id: c for c in (await session.exec(select(Comuna))).all() if c.id is not None}
    index = ComunaIndex(ComunaRef(i, c.codigo, c.nombre) for i, c in comunas.items())
    if not index:
        raise RoleError("No hay comunas cargadas: importe primero las comunas.")
    try:
        return comunas[index.resolve(written).id]
    except CellError as exc:
        reason = str(exc)
        if reason.startswith("no se encontró"):
            raise RoleError(f"No conozco la comuna «{written}».") from None
        raise RoleError(reason[:1].upper() + reason[1:]) from None


async def staff_ids(session: AsyncSession) -> list[int]:
    """Return the Telegram ids of everyone with the staff or admin role in the database."""
    query = select(Citizen.telegram_id).where(Citizen.role.in_(("staff", "admin")))  # type: ignore[attr-defined]
    return list((await session.exec(query)).all())
