"""Staff's questions (`/preguntas`, `staff:preg:`): the queue, its order, filters and
export; answering, duplicates, offices, publishing.

A queue view travels as three fields, `sort`, `topic` and `office`, with `-` for no filter.
"""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class StaffQuestionQueue(CallbackData, prefix="staff:preg:q"):
    """A page of the queue, in its default order and unfiltered."""

    page: int


@dataclasses.dataclass(frozen=True)
class StaffQuestionView(CallbackData, prefix="staff:preg:l"):
    """A page of the queue, sorted and filtered."""

    sort: str
    topic: str
    office: str
    page: int


@dataclasses.dataclass(frozen=True)
class StaffQuestionTopics(CallbackData, prefix="staff:preg:ft"):
    """The topics to filter the queue by."""

    sort: str
    topic: str
    office: str


@dataclasses.dataclass(frozen=True)
class StaffQuestionOffices(CallbackData, prefix="staff:preg:fo"):
    """The offices to filter the queue by."""

    sort: str
    topic: str
    office: str


@dataclasses.dataclass(frozen=True)
class StaffQuestionCsv(CallbackData, prefix="staff:preg:x"):
    """The moderator's sheet of the view, as CSV."""

    sort: str
    topic: str
    office: str


@dataclasses.dataclass(frozen=True)
class StaffQuestionXlsx(CallbackData, prefix="staff:preg:xx"):
    """The moderator's sheet of the view, as XLSX."""

    sort: str
    topic: str
    office: str


@dataclasses.dataclass(frozen=True)
class StaffQuestionAnswer(CallbackData, prefix="staff:preg:r"):
    """Answer a question: ask for the text."""

    question: int


@dataclasses.dataclass(frozen=True)
class StaffQuestionDuplicate(CallbackData, prefix="staff:preg:d"):
    """Mark a question as a duplicate: ask for the original, suggesting look-alikes."""

    question: int


@dataclasses.dataclass(frozen=True)
class StaffQuestionDuplicateOf(CallbackData, prefix="staff:preg:g"):
    """Mark `question` as a duplicate of `original` (a suggested look-alike)."""

    question: int
    original: int


@dataclasses.dataclass(frozen=True)
class StaffQuestionOffice(CallbackData, prefix="staff:preg:o"):
    """The offices that may answer a question."""

    question: int


@dataclasses.dataclass(frozen=True)
class StaffQuestionOfficeSet(CallbackData, prefix="staff:preg:oo"):
    """Give a question to an office (by `store.office_code`), or to none (`-`)."""

    question: int
    office: str


@dataclasses.dataclass(frozen=True)
class StaffQuestionPublish(CallbackData, prefix="staff:preg:p"):
    """Publish an answered question (`published` 1) or withdraw it (0)."""

    question: int
    published: int
