"""Invitations to answer a survey: their words and button, queued through the outbox.

`storage.surveys` says who is to be invited (`yet_to_answer`, `followers_reached`); this
module words the invitation and queues it with a dedupe key, so nobody gets the same
invitation twice.
"""

from __future__ import annotations

from html import escape
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.callbacks import SurveyOpen
from storage import outbox
from storage.models import Survey
from storage.surveys import followers_reached, is_open, yet_to_answer

INVITATION = "📝 <b>{title}</b>\n¿Nos regala un par de minutos? Su opinión nos ayuda a mejorar."
INVITATION_BUTTON = "📝 Responder la encuesta"


def invitation_payload(survey: Survey, text: str | None = None) -> dict[str, Any]:
    """Return an outbox payload inviting to a survey: a text and an `enc:o:<slug>` button."""
    body = text if text is not None else INVITATION.format(title=escape(survey.titulo))
    button = {"text": INVITATION_BUTTON, "callback_data": SurveyOpen(survey.slug).encode()}
    return {"text": body, "reply_markup": {"inline_keyboard": [[button]]}}


async def invite(
    session: AsyncSession, *, survey: Survey, chat_ids: list[int], text: str | None = None,
    dedupe: str | None = None,
) -> int:
    """Queue an invitation to the survey for each chat that has not answered it yet.

    Goes through the outbox; `dedupe` (default: one per survey) keeps a chat from getting
    the same invitation twice. Returns how many were queued.
    """
    pending = await yet_to_answer(session, survey=survey, chat_ids=chat_ids)
    return await outbox.enqueue(
        session, chat_ids=pending, payload=invitation_payload(survey, text), kind="encuesta",
        dedupe=dedupe or f"encuesta:{survey.slug}",
    )


async def announce(session: AsyncSession, *, survey: Survey) -> int:
    """Invite the people following the «encuestas» topic to an open survey, once each.

    Returns how many invitations were queued (0 when the survey is not open).
    """
    if not is_open(survey):
        return 0
    followers = await followers_reached(session, survey=survey)
    return await invite(session, survey=survey, chat_ids=followers,
                        dedupe=f"encuesta-nueva:{survey.slug}")
