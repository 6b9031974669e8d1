"""Participatory budgeting (presupuestos participativos): rounds, projects, ballots (the
results are `storage.participation_results`).

Staff import one file per round (kind `presupuesto_participativo`, one row per project,
read by `storage.importers.participatory`);
a resident of a comuna (self-declared) picks projects within the comuna's budget, and may
change the ballot until the round closes; after it closes anyone sees the results.

Rules, decided here and documented for operators:

- A round is open from `abre` (always, when empty) until `cierra` (never, when empty).
  A date without a time means 00:00 for `abre` and 23:59 for `cierra` (local time).
- Re-importing updates rounds by (ronda, comuna) and projects by `codigo`; projects the
  file does not mention stay as they are (nothing is ever deleted by an import). Once a
  project has votes, its cost cannot change and it cannot move to another round; once a
  round has votes, its budget cannot go down. Either would make ballots already cast no
  longer valid, so such a file is refused as a whole, naming the row and column. Names,
  descriptions and dates may always change.
- One ballot per person per `ronda` (across comunas): voting in another comuna of the same
  ronda replaces the earlier ballot. The ballot is found by `voter_key`, a keyed hash of
  the ronda and the chat id (`storage.pseudonyms.pseudonym`), which stays when the person
  deletes their data (`forget_voter` erases only the chat id): their ballot keeps counting
  once, and if they vote again in the same ronda it is replaced, not added.
- A round may require a verified phone number (`requiere_verificacion`, sí/no): a ballot
  then counts only from an account that shared its own number through Telegram's contact
  button. The number is kept only as a keyed hash (`phone_key`: HMAC-SHA256 with the
  installation's pseudonym secret, scoped to the ronda), beside the voter's pseudonym, in
  `PBPhone`: one account per number and one number per account in a ronda, so a second
  account with the same number cannot add a ballot. Once a round has votes, whether it
  requires verification cannot change.
- Winners ("greedy by votes within budget"): projects are ranked by votes (ties: the
  cheaper first, then by code); going down that list, a project wins if it fits in what
  is left of the budget, otherwise it is skipped and the next ones are still considered.
  Projects without votes never win.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Table, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.comunas import comuna_by_id
from storage.db import insert_if_absent
from storage.models import (
    Citizen,
    Comuna,
    PBPhone,
    PBProject,
    PBRound,
    PBVote,
    Subscription,
)
from storage.pseudonyms import pseudonym

log = logging.getLogger(__name__)

RoundState = Literal["proximo", "abierto", "cerrado"]
BallotStatus = Literal[
    "guardado",  # saved (new or replacing the previous one)
    "sin_ronda",  # the round does not exist
    "no_abierta",  # voting has not started
    "cerrada",  # voting has ended
    "vacia",  # no project chosen
    "desconocido",  # a project that does not exist
    "otra_comuna",  # a project of another round / comuna
    "excede",  # the projects cost more than the budget
    "sin_verificar",  # the round requires a verified phone number and this person has none
]
VerifyStatus = Literal[
    "verificado",  # the number is now this account's for the ronda
    "ya_verificado",  # this account had verified a number for the ronda already
    "numero_usado",  # another account verified this number in the ronda
    "invalido",  # not a phone number
]


# --- queries -------------------------------------------------------------------------


def round_state(pb_round: PBRound, now: datetime) -> RoundState:
    """Tell whether a round's voting is still to come, open, or closed at `now`."""
    if pb_round.cierra is not None and now >= pb_round.cierra:
        return "cerrado"
    if pb_round.abre is not None and now < pb_round.abre:
        return "proximo"
    return "abierto"


@dataclass(frozen=True)
class RoundCard:
    """A round with its comuna and its state at the time asked."""

    round: PBRound
    comuna: Comuna
    state: RoundState

    @property
    def id(self) -> int:
        """Return the round's id."""
        assert self.round.id is not None
        return self.round.id


@dataclass(frozen=True)
class RoundDetail:
    """A round, its comuna and state, and its projects in the order staff loaded them."""

    card: RoundCard
    projects: list[PBProject]

    def project(self, project_id: int) -> PBProject | None:
        """Return the round's project with this id, if it is one of them."""
        return next((p for p in self.projects if p.id == project_id), None)

    def total(self, project_ids: Iterable[int]) -> Decimal:
        """Return what the chosen projects of this round cost together."""
        wanted = set(project_ids)
        return sum((p.costo for p in self.projects if p.id in wanted), Decimal(0))


_ROUND_TABLE: Table = PBRound.__table__  # type: ignore[attr-defined]
_VOTES: Table = PBVote.__table__  # type: ignore[attr-defined]
_ROUNDS = sa_select(_ROUND_TABLE)  # built once
_BALLOT = sa_select(_VOTES).where(
    _VOTES.c.ronda == bindparam("ronda"),
    (_VOTES.c.voter_key == bindparam("key")) | (_VOTES.c.chat_id == bindparam("chat")),
).order_by(_VOTES.c.id).limit(1)


async def _cards(session: AsyncSession, now: datetime, *conditions: Any) -> list[RoundCard]:
    rows: list[tuple[PBRound, Comuna | None]]
    if conditions:
        query = select(PBRound, Comuna).join(Comuna, col(Comuna.id) == col(PBRound.comuna_id))
        rows = [(r, c) for r, c in (await session.exec(query.where(*conditions))).all()]
    else:  # every round, as the citizens' list shows them: no transaction, comunas in memory
        rows = [(r, await comuna_by_id(session, r.comuna_id))
                for r in await lean.objects(session, PBRound, _ROUNDS, {})]
    cards = [RoundCard(r, c, round_state(r, now)) for r, c in rows if c is not None]
    return sorted(cards, key=lambda c: (c.round.ronda, _comuna_order(c.comuna)))


def _comuna_order(comuna: Comuna) -> tuple[int, int, str]:
    code = comuna.codigo
    if code.isdigit():
        return (0, int(code), code)
    digits = "".join(ch for ch in code if ch.isdigit())
    return (1, int(digits) if digits else 0, code)


async def open_rounds(session: AsyncSession, *, now: datetime) -> list[RoundCard]:
    """Return the rounds open for voting at `now`, by ronda and comuna."""
    return [c for c in await _cards(session, now) if c.state == "abierto"]


async def closed_since(session: AsyncSession, *, since: datetime, now: datetime) -> list[RoundCard]:
    """Return the rounds that closed between `since` and `now`."""
    query = (col(PBRound.cierra) > since, col(PBRound.cierra) <= now)
    return await _cards(session, now, *query)


async def current_rounds(session: AsyncSession, *, now: datetime) -> list[RoundCard]:
    """Return the rounds to show citizens: the rondas open now, else the latest ronda."""
    cards = await _cards(session, now)
    if not cards:
        return []
    open_rondas = {c.round.ronda for c in cards if c.state == "abierto"}
    if open_rondas:
        return [c for c in cards if c.round.ronda in open_rondas]
    floor = datetime.min.replace(tzinfo=now.tzinfo)

    def latest(card: RoundCard) -> datetime:
        return max(card.round.abre or floor, card.round.cierra or floor)

    newest = max(cards, key=latest).round.ronda
    return [c for c in cards if c.round.ronda == newest]


async def round_detail(
    session: AsyncSession, *, round_id: int, now: datetime
) -> RoundDetail | None:
    """Return a round with its comuna and projects, or None if there is no such round."""
    cards = await _cards(session, now, col(PBRound.id) == round_id)
    if not cards:
        return None
    projects = (await session.exec(
        select(PBProject).where(PBProject.round_id == round_id).order_by(col(PBProject.id))
    )).all()
    return RoundDetail(cards[0], list(projects))


async def comuna_round(
    session: AsyncSession, *, comuna_id: int, ronda: str, now: datetime
) -> RoundDetail | None:
    """Return a comuna's round of `ronda` with its projects, or None."""
    pb_round = (await session.exec(
        select(PBRound).where(PBRound.comuna_id == comuna_id, PBRound.ronda == ronda)
    )).first()
    if pb_round is None or pb_round.id is None:
        return None
    return await round_detail(session, round_id=pb_round.id, now=now)


async def voter_key(session: AsyncSession, *, ronda: str, chat_id: int) -> str:
    """Return the person's pseudonym for `ronda` (kept on the ballot after a deletion)."""
    return await pseudonym(session, scope=f"pp:{ronda}", chat_id=chat_id)


async def _ballot_by_key(
    session: AsyncSession, *, ronda: str, chat_id: int, key: str
) -> PBVote | None:
    return (await session.exec(
        select(PBVote).where(
            PBVote.ronda == ronda, or_(PBVote.voter_key == key, PBVote.chat_id == chat_id)
        ).order_by(col(PBVote.id))
    )).first()


async def ballot_of(session: AsyncSession, *, ronda: str, chat_id: int) -> PBVote | None:
    """Return the person's ballot in `ronda` (whatever comuna it is for), or None.

    A ballot cast before the person deleted their data is still theirs (found by its key):
    it still counts, and voting again replaces it.
    """
    key = await voter_key(session, ronda=ronda, chat_id=chat_id)
    found = await lean.objects(session, PBVote, _BALLOT, {"ronda": ronda, "key": key,
                                                          "chat": chat_id})
    return found[0] if found else None  # to show: `save_ballot` reads its own to change


async def count_ballots(session: AsyncSession, *, chat_id: int) -> int:
    """Return how many ballots are linked to this chat (for `/mis_datos`)."""
    rows = (await session.exec(select(PBVote.id).where(PBVote.chat_id == chat_id))).all()
    return len(rows)


@dataclass(frozen=True)
class BallotOutcome:
    """What saving a ballot did, or why it was refused (`status` other than `guardado`)."""

    status: BallotStatus
    total: Decimal = Decimal(0)
    budget: Decimal = Decimal(0)
    replaced_round_id: int | None = None  # the earlier ballot was for this other round

    @property
    def saved(self) -> bool:
        """Tell whether the ballot was stored."""
        return self.status == "guardado"


def check_ballot(
    detail: RoundDetail, project_ids: Sequence[int], *, known: set[int]
) -> BallotOutcome | None:
    """Return why a ballot cannot be cast in this round, or None when it can."""
    budget = detail.card.round.presupuesto
    if detail.card.state == "cerrado":
        return BallotOutcome("cerrada", budget=budget)
    if detail.card.state == "proximo":
        return BallotOutcome("no_abierta", budget=budget)
    if not project_ids:
        return BallotOutcome("vacia", budget=budget)
    mine = {p.id for p in detail.projects}
    if any(pid not in known for pid in project_ids):
        return BallotOutcome("desconocido", budget=budget)
    if any(pid not in mine for pid in project_ids):
        return BallotOutcome("otra_comuna", budget=budget)
    total = detail.total(project_ids)
    if total > budget:
        return BallotOutcome("excede", total=total, budget=budget)
    return None


async def save_ballot(
    session: AsyncSession, *, round_id: int, chat_id: int, project_ids: Sequence[int],
    now: datetime,
) -> BallotOutcome:
    """Store the person's ballot for a round, replacing their earlier one in the same ronda."""
    detail = await round_detail(session, round_id=round_id, now=now)
    if detail is None:
        return BallotOutcome("sin_ronda")
    chosen = sorted(set(int(p) for p in project_ids))
    known = set((await session.exec(
        select(PBProject.id).where(col(PBProject.id).in_(chosen))
    )).all()) if chosen else set()
    refusal = check_ballot(detail, chosen, known={k for k in known if k is not None})
    if refusal is not None:
        return refusal
    # Read everything needed from the loaded objects now: a rollback below expires them,
    # and touching an expired attribute would load it lazily (MissingGreenlet).
    ronda = detail.card.round.ronda
    total, budget = detail.total(chosen), detail.card.round.presupuesto
    key = await voter_key(session, ronda=ronda, chat_id=chat_id)
    if detail.card.round.requiere_verificacion and not await _verified(
        session, ronda=ronda, key=key
    ):
        return BallotOutcome("sin_verificar", total=total, budget=budget)
    replaced: int | None = None
    for attempt in range(3):
        ballot = await _ballot_by_key(session, ronda=ronda, chat_id=chat_id, key=key)
        replaced = None
        if ballot is None:
            ballot = PBVote(ronda=ronda, round_id=round_id, created_at=now)
        elif ballot.round_id != round_id:
            replaced = ballot.round_id
        # A ballot left by a deletion becomes theirs again: the same person, voting again.
        ballot.chat_id, ballot.voter_key = chat_id, key
        ballot.round_id, ballot.project_ids, ballot.updated_at = round_id, chosen, now
        try:
            async with session.begin_nested():  # only this write is undone on a race
                session.add(ballot)
        except IntegrityError:
            # Two taps of the same person raced to create the ballot: update the winner's.
            if attempt == 2:
                raise
            continue
        break
    return BallotOutcome("guardado", total=total, budget=budget, replaced_round_id=replaced)


# --- phone verification ------------------------------------------------------------


def phone_digits(phone: str) -> str | None:
    """Return a phone number as its digits in international form, or None if it is none."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits.lstrip("0") if 7 <= len(digits) <= 15 else None


async def phone_key(session: AsyncSession, *, ronda: str, digits: str) -> str:
    """Return the keyed hash of a phone number within a ronda (never the number itself)."""
    return await pseudonym(session, scope=f"tel:{ronda}", chat_id=int(digits))


async def _verified(session: AsyncSession, *, ronda: str, key: str) -> bool:
    found = (await session.exec(
        select(PBPhone.id).where(PBPhone.ronda == ronda, PBPhone.voter_key == key)
    )).first()
    return found is not None


async def is_verified(session: AsyncSession, *, ronda: str, chat_id: int) -> bool:
    """Tell whether the person verified a phone number for this ronda."""
    key = await voter_key(session, ronda=ronda, chat_id=chat_id)
    return await _verified(session, ronda=ronda, key=key)


async def verify_phone(
    session: AsyncSession, *, ronda: str, chat_id: int, phone: str, now: datetime
) -> VerifyStatus:
    """Tie a phone number (the person's own, as Telegram shared it) to their ballot in a ronda.

    Only keyed hashes are stored. A number another account already verified in the ronda
    is refused; an account that already verified one keeps it.
    """
    digits = phone_digits(phone)
    if digits is None:
        return "invalido"
    key = await voter_key(session, ronda=ronda, chat_id=chat_id)
    if await _verified(session, ronda=ronda, key=key):
        return "ya_verificado"
    number = await phone_key(session, ronda=ronda, digits=digits)
    taken = (await session.exec(
        select(PBPhone.id).where(PBPhone.ronda == ronda, PBPhone.phone_key == number)
    )).first()
    if taken is not None:
        return "numero_usado"
    if not await insert_if_absent(
        session, PBPhone.__table__,  # type: ignore[attr-defined]
        ronda=ronda, phone_key=number, voter_key=key, created_at=now,
    ):
        # Two accounts raced with one number (or one account with two taps): one row won.
        return "ya_verificado" if await _verified(session, ronda=ronda, key=key) \
            else "numero_usado"
    return "verificado"


async def round_audience(
    session: AsyncSession, *, card: RoundCard, with_voters: bool
) -> list[int]:
    """Return the chats subscribed to the round's comuna, and its voters if asked."""
    query = select(Subscription.chat_id).where(
        Subscription.kind == "comuna", Subscription.value == card.comuna.codigo
    )
    chats = set((await session.exec(query)).all())
    if with_voters:
        voters = (await session.exec(
            select(PBVote.chat_id).where(PBVote.round_id == card.id)
        )).all()
        chats |= {chat for chat in voters if chat is not None}
    return sorted(chats)


async def remember_comuna(session: AsyncSession, *, telegram_id: int, comuna_id: int) -> bool:
    """Set the person's comuna to the one they voted in, if they had none."""
    citizen = (
        await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
    ).first()
    if citizen is None or citizen.consent_at is None or citizen.comuna_id is not None:
        return False
    citizen.comuna_id = comuna_id
    session.add(citizen)
    await session.flush()
    return True


async def forget_voter(session: AsyncSession, *, chat_id: int) -> int:
    """Unlink the person's ballots from their chat; the caller commits.

    The votes still count, and `voter_key` stays, so the person cannot add a second ballot.
    """
    ballots = (await session.exec(select(PBVote).where(PBVote.chat_id == chat_id))).all()
    for ballot in ballots:
        if ballot.voter_key is None:  # a ballot from before keys existed
            ballot.voter_key = await voter_key(session, ronda=ballot.ronda, chat_id=chat_id)
        ballot.chat_id = None
        session.add(ballot)
    await session.flush()
    return len(ballots)
