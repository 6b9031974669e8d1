"""Turn the fact references of `labelled.yaml` into the exact text the bot shows.

A reference is `{kind:KEY:field}` (`{obra:OB-2026-029:avance_fisico}`, `{comuna:4:invertido}`:
what a comuna's works are contracted for), or `{count:N}`;
it is read from the database at test time because the demo shifts event and contracting
dates relative to today. Anything else is a literal and comes back unchanged. Replies and
expectations are compared through `folded`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_time
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.formatting import local_date, money_short, number, percent
from storage.models import BudgetLine, Comuna, ContractingProcess, Event, Goal, Work
from storage.text import fold

_REFERENCE = re.compile(r"^\{(?P<kind>[a-z]+):(?P<rest>.+)\}$")
# Every kind of space Babel and Telegram use (no-break, narrow no-break, thin…) and the
# invisible ones, so that «8:00\u202fa.\u00a0m.» and «8:00 a. m.» compare equal.
_SPACES = re.compile(r"[\s\u00a0\u1680\u2000-\u200b\u202f\u205f\u2060\u3000\ufeff]+")

ALL_OFFICES = "*"


class UnknownReference(LookupError):
    """A reference names an item or a field the database does not have."""


def folded(text: str) -> str:
    """Fold `text` for comparing: no accents, lower case, every kind of space as one space."""
    return fold(_SPACES.sub(" ", text))


def is_reference(expect: str) -> bool:
    """Tell whether `expect` is a `{kind:KEY:field}` reference rather than a literal."""
    return _REFERENCE.match(expect.strip()) is not None


async def resolve(
    expect: str, session: AsyncSession, *, tz: ZoneInfo, locale: str = "es_CO"
) -> str:
    """Return the text the bot shows for `expect`: a reference resolved, a literal unchanged."""
    match = _REFERENCE.match(expect.strip())
    if match is None:
        return expect
    kind, rest = match["kind"], match["rest"]
    if kind == "count":
        return rest.strip()
    if ":" not in rest:
        raise UnknownReference(f"{expect}: expected {{{kind}:KEY:field}}")
    key, field = rest.rsplit(":", 1)
    resolver = _RESOLVERS.get(kind)
    if resolver is None:
        raise UnknownReference(f"{expect}: unknown kind «{kind}»")
    try:
        return await resolver(session, key, field, tz, locale)
    except UnknownReference as error:
        raise UnknownReference(f"{expect}: {error}") from None


def _date(value: date | None, locale: str) -> str:
    if value is None:
        raise UnknownReference("no date")
    return local_date(value, locale)


def _money(value: Decimal | float | None, locale: str) -> str:
    if value is None:
        raise UnknownReference("no amount")
    return money_short(value, locale)


def _text(value: str | None) -> str:
    if not value:
        raise UnknownReference("empty")
    return value


async def _work(
    session: AsyncSession, key: str, field: str, tz: ZoneInfo, locale: str
) -> str:
    work = (await session.exec(select(Work).where(Work.codigo == key))).first()
    if work is None:
        raise UnknownReference(f"no work «{key}»")
    match field:
        case "nombre":
            return work.nombre
        case "avance_fisico":
            if work.avance_fisico is None:
                raise UnknownReference("no physical progress")
            return percent(work.avance_fisico, locale)
        case "avance_financiero":
            if work.avance_financiero is None:
                raise UnknownReference("no financial progress")
            return percent(work.avance_financiero, locale)
        case "contratista":
            return _text(work.contratista)
        case "valor_contrato":
            return _money(work.valor_contrato, locale)
        case "fecha_inicio":
            return _date(work.fecha_inicio, locale)
        case "fecha_fin_prevista":
            return _date(work.fecha_fin_prevista, locale)
        case "direccion":
            return _text(work.direccion)
        case "estado":
            return work.estado
        case "comuna":
            comuna = await session.get(Comuna, work.comuna_id)
            if comuna is None:
                raise UnknownReference("no comuna")
            return comuna.nombre
        case "enlace_secop":
            return _text(work.enlace_secop)
    raise UnknownReference(f"unknown work field «{field}»")


async def _goal(
    session: AsyncSession, key: str, field: str, tz: ZoneInfo, locale: str
) -> str:
    goal = (await session.exec(select(Goal).where(Goal.codigo == key))).first()
    if goal is None:
        raise UnknownReference(f"no goal «{key}»")
    match field:
        case "meta":
            return goal.meta
        case "progreso":
            if not goal.meta_cuatrienio:
                raise UnknownReference("no target")
            return percent(goal.avance / goal.meta_cuatrienio * 100, locale)
        case "avance":
            return number(goal.avance, locale)
        case "meta_cuatrienio":
            return number(goal.meta_cuatrienio, locale)
        case "responsable":
            return _text(goal.responsable)
        case "fecha_corte":
            return _date(goal.fecha_corte, locale)
        case "indicador":
            return goal.indicador
        case "programa":
            return goal.programa
        case "linea":
            return goal.linea
    raise UnknownReference(f"unknown goal field «{field}»")


_BUDGET_AMOUNTS: dict[str, Callable[[BudgetLine], Decimal | None]] = {
    "apropiacion": lambda x: x.apropiacion_definitiva,
    "compromisos": lambda x: x.compromisos,
    "obligaciones": lambda x: x.obligaciones,
    "pagos": lambda x: x.pagos,
}
_BUDGET_SHARES = {"comprometido": "compromisos", "obligado": "obligaciones", "pagado": "pagos"}


async def _budget(
    session: AsyncSession, key: str, field: str, tz: ZoneInfo, locale: str
) -> str:
    vigencia = (await session.exec(select(func.max(BudgetLine.vigencia)))).one()
    if vigencia is None:
        raise UnknownReference("no budget")
    query = select(BudgetLine).where(BudgetLine.vigencia == vigencia)
    if key != ALL_OFFICES:
        query = query.where(BudgetLine.dependencia == key)
    lines = list((await session.exec(query.order_by(col(BudgetLine.rubro)))).all())
    if not lines:
        raise UnknownReference(f"no office «{key}» in {vigencia}")

    def total(name: str) -> Decimal:
        return sum((Decimal(_BUDGET_AMOUNTS[name](x) or 0) for x in lines), Decimal(0))

    if field in _BUDGET_AMOUNTS:
        return money_short(total(field), locale)
    if field in _BUDGET_SHARES:
        appropriation = total("apropiacion")
        if not appropriation:
            raise UnknownReference("no appropriation")
        return percent(total(_BUDGET_SHARES[field]) / appropriation * 100, locale)
    raise UnknownReference(f"unknown budget field «{field}»")


async def _event(
    session: AsyncSession, key: str, field: str, tz: ZoneInfo, locale: str
) -> str:
    event = (await session.exec(select(Event).where(Event.clave == key))).first()
    if event is None:
        raise UnknownReference(f"no event «{key}»")
    start = event.inicio.astimezone(tz)
    match field:
        case "titulo":
            return event.titulo
        case "fecha":
            return local_date(start.date(), locale)
        case "hora":
            return format_time(start, "h:mm a", locale=locale)
        case "fin":
            if event.fin is None:
                raise UnknownReference("no end time")
            return format_time(event.fin.astimezone(tz), "h:mm a", locale=locale)
        case "lugar":
            return event.lugar
        case "direccion":
            return _text(event.direccion)
        case "cupos":
            if event.capacidad is None:
                raise UnknownReference("no capacity")
            return number(event.capacidad, locale, 0)
    raise UnknownReference(f"unknown event field «{field}»")


async def _process(
    session: AsyncSession, key: str, field: str, tz: ZoneInfo, locale: str
) -> str:
    process = (await session.exec(
        select(ContractingProcess).where(ContractingProcess.numero_proceso == key)
    )).first()
    if process is None:
        raise UnknownReference(f"no process «{key}»")
    match field:
        case "objeto":
            return process.objeto
        case "estado":
            return process.estado
        case "modalidad":
            return process.modalidad
        case "valor":
            return money_short(process.valor, locale)
        case "fecha_cierre":
            return _date(process.fecha_cierre, locale)
        case "fecha_apertura":
            return _date(process.fecha_apertura, locale)
        case "dependencia":
            return _text(process.dependencia)
    raise UnknownReference(f"unknown process field «{field}»")


async def _comuna(
    session: AsyncSession, key: str, field: str, tz: ZoneInfo, locale: str
) -> str:
    comuna = (await session.exec(select(Comuna).where(Comuna.codigo == key))).first()
    if comuna is None:
        raise UnknownReference(f"no comuna «{key}»")
    works = (await session.exec(select(Work).where(Work.comuna_id == comuna.id))).all()
    match field:
        case "invertido":  # what its works are contracted for
            return money_short(sum((w.valor_contrato or Decimal(0) for w in works), Decimal(0)),
                               locale)
        case "obras":
            return f"{len(works)} obra{'' if len(works) == 1 else 's'}"
    raise UnknownReference(f"unknown comuna field «{field}»")


_RESOLVERS: dict[str, Callable[[AsyncSession, str, str, ZoneInfo, str], Awaitable[str]]] = {
    "obra": _work,
    "meta": _goal,
    "presupuesto": _budget,
    "evento": _event,
    "proceso": _process,
    "comuna": _comuna,
}
