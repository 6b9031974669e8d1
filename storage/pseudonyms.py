"""Pseudonyms: keyed hashes of a chat id, so a person is recognised without storing who they are.

`pseudonym` is HMAC-SHA256(secret, "scope:chat id"), with the secret generated once per
installation and kept in `AppSecret("survey_hmac")` (`survey_secret`). It keeps one response
per person and survey (`storage.surveys.respondent_key`), one ballot per person in
participatory budgeting, one support per question, and the daily limit of questions after
a deletion; it cannot be turned back into a chat id without the secret.
"""


from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from weakref import WeakKeyDictionary

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_for
from storage.models import (
    AppSecret,
)
from storage.types import utcnow

SECRET_NAME = "survey_hmac"
_SECRETS: WeakKeyDictionary[Any, bytes] = WeakKeyDictionary()  # per engine


async def survey_secret(session: AsyncSession) -> bytes:
    """Return the installation's key for pseudonyms (`pseudonym`), creating it once.

    The key never changes once created, so each process reads it once per database.
    """
    engine = session.sync_session.get_bind()
    known = _SECRETS.get(engine)
    if known is not None:
        return known
    row = await session.get(AppSecret, SECRET_NAME)
    if row is None:
        # Two people may start an anonymous survey at once: the first insert wins and the
        # other is ignored, with no rollback that would expire the caller's objects.
        conn = await session.connection()
        table = AppSecret.__table__  # type: ignore[attr-defined]
        await conn.execute(
            insert_for(conn, table)
            .values(name=SECRET_NAME, value=secrets.token_hex(32), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        await session.flush()
        row = await session.get(AppSecret, SECRET_NAME, populate_existing=True)
        assert row is not None
        # Not remembered yet: the caller's transaction may still be rolled back, and a
        # key remembered but never stored would give pseudonyms no later run can match.
        return bytes.fromhex(row.value)
    _SECRETS[engine] = bytes.fromhex(row.value)
    return _SECRETS[engine]


def keyed_hash(secret: bytes, scope: str, chat_id: int) -> str:
    """Return the pseudonym of a chat within `scope`: "h:" and HMAC-SHA256 in hex."""
    return "h:" + hmac.new(secret, f"{scope}:{chat_id}".encode(), hashlib.sha256).hexdigest()


async def pseudonym(session: AsyncSession, *, scope: str, chat_id: int) -> str:
    """Return the person's keyed pseudonym within `scope` (not reversible without the key).

    Scopes in use: the survey id (responses), "pp:<ronda>" (ballots), "preguntas".
    """
    return keyed_hash(await survey_secret(session), scope, chat_id)
