"""Surveys (`/encuestas`, `enc:`): the list, an intro, answering, pausing, results."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class SurveyList(CallbackData, prefix="enc:l"):
    """A page of the open surveys."""

    page: int


@dataclasses.dataclass(frozen=True)
class SurveyOpen(CallbackData, prefix="enc:o"):
    """A survey's intro as a new message (from messages others sent: an invitation)."""

    slug: str


@dataclasses.dataclass(frozen=True)
class SurveyIntro(CallbackData, prefix="enc:i"):
    """A survey's intro, in place."""

    survey: int


@dataclasses.dataclass(frozen=True)
class SurveyStart(CallbackData, prefix="enc:s"):
    """Start or continue a survey."""

    survey: int


@dataclasses.dataclass(frozen=True)
class SurveyAnswer(CallbackData, prefix="enc:a"):
    """Answer question `number` with option `value` (single choice) or value (scale)."""

    survey: int
    number: int
    value: int


@dataclasses.dataclass(frozen=True)
class SurveyTick(CallbackData, prefix="enc:m"):
    """Tick option `option` of a multiple-choice question, or confirm it (`ok`); `mask` is
    the selection the tapped message shows, so a double tap ticks once."""

    survey: int
    number: int
    mask: int
    option: str


@dataclasses.dataclass(frozen=True)
class SurveyPause(CallbackData, prefix="enc:p"):
    """Pause a survey."""

    survey: int


@dataclasses.dataclass(frozen=True)
class SurveyResultsShown(CallbackData, prefix="enc:r"):
    """A survey's results, for someone who answered it."""

    survey: int
