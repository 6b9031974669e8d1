"""Citizens' questions (`/preguntar`, `preg:`): asking, my questions, published answers,
sharing a hearing question and supporting others'."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class QuestionNew(CallbackData, prefix="preg:n"):
    """The topics, to ask a question."""


@dataclasses.dataclass(frozen=True)
class QuestionTopic(CallbackData, prefix="preg:t"):
    """Start a question on `topic`."""

    topic: str


@dataclasses.dataclass(frozen=True)
class QuestionTopicForText(CallbackData, prefix="preg:tt"):
    """File the text given with `/preguntar <texto>` under `topic`."""

    topic: str


@dataclasses.dataclass(frozen=True)
class QuestionContinue(CallbackData, prefix="preg:c"):
    """Offer the topics again for the text kept in the flow (after accepting the notice)."""


@dataclasses.dataclass(frozen=True)
class QuestionFromSearch(CallbackData, prefix="preg:e"):
    """Send the text the bot could not answer as a question."""


@dataclasses.dataclass(frozen=True)
class QuestionCancel(CallbackData, prefix="preg:x"):
    """Leave the question flow without sending anything."""


@dataclasses.dataclass(frozen=True)
class MyQuestions(CallbackData, prefix="preg:m"):
    """A page of the person's questions."""

    page: int


@dataclasses.dataclass(frozen=True)
class AnsweredQuestions(CallbackData, prefix="preg:b"):
    """A page of the published answers."""

    page: int


@dataclasses.dataclass(frozen=True)
class AnsweredQuestion(CallbackData, prefix="preg:v"):
    """One published question with its full answer."""

    question: int


@dataclasses.dataclass(frozen=True)
class QuestionShare(CallbackData, prefix="preg:s"):
    """The asker lets others see and support a pending hearing question (`1`) or not (`0`)."""

    question: int
    shared: Literal["0", "1"]


@dataclasses.dataclass(frozen=True)
class SupportRanking(CallbackData, prefix="preg:r"):
    """A page of the most supported questions."""

    page: int


@dataclasses.dataclass(frozen=True)
class QuestionSupport(CallbackData, prefix="preg:a"):
    """«👍 Yo también quiero saber»; `back` is the screen it came from: `v` the answer's
    card, `r<page>` a page of the ranking."""

    question: int
    back: str
