"""Citizens' questions for the hearing and the offices: ask, answer, group duplicates, publish.

The row id is the tracking number (`#12`). A person may ask `DAILY_LIMIT` questions in any
24 hours, of at most `MAX_LENGTH` characters (the same bound `handlers.limits` puts on any
message, so a typed question never hits a second, different limit). Staff actions are written
to the audit log in the same transaction as the change. Answers reach the asker, and the
askers of questions grouped as its duplicates, through the outbox: recording an answer
returns the notices (`AnswerNotice`), which `handlers.question_notices` words and queues,
with a dedupe key made of the question and the answer's text: repeating the same answer
sends nothing new, while a corrected answer is sent once more.

Each question also keeps `asker_key`, a keyed hash of the chat id (`storage.pseudonyms.pseudonym`,
scope "preguntas"). The daily limit counts by it, so deleting one's data (which erases the
chat id) does not reset the limit; the deletion keeps the key only on the questions of the
last 24 hours, the ones the limit still needs.

Citizens support the questions the hearing must answer («Yo también quiero saber»): the
published ones, and pending hearing questions whose asker agreed to show them
(`share_pending`). A support is a `QuestionSupport` row keyed by the person's pseudonym
(scope "apoyos") and never by the chat id, so it needs no personal-data consent, survives
`/borrar_datos`, and one person counts once per question however often they tap. A question
counts the distinct supporters of itself and of the questions grouped under it.

The modules: `core` (asking, the limits, pages, publishing), `answers` (answers and
duplicates), `support` (supports, rankings, the moderator's export) and `offices`. Every
public name is importable from `storage.questions`.
"""

from storage.questions.answers import (
    Answered,
    AnswerNotice,
    Duplicated,
    record_answer,
    record_duplicate,
)
from storage.questions.core import (
    ALREADY_ANSWERED,
    ANSWERED,
    CIRCULAR,
    DAILY_LIMIT,
    DUPLICATE,
    EMPTY_ANSWER,
    HEARING,
    MAX_LENGTH,
    MIN_LENGTH,
    MIN_LETTERS,
    NO_WORDS,
    NOT_ANSWERED,
    NOT_FOUND,
    NOT_SHAREABLE,
    NOT_SUPPORTABLE,
    NOT_YOURS,
    PENDING,
    SAME_QUESTION,
    SORTS,
    STATUSES,
    SUPPORT_SCOPE,
    TOO_LONG,
    TOO_SHORT,
    TOPICS,
    WINDOW,
    QuestionError,
    QuestionPage,
    RateLimited,
    ask,
    asker_key,
    check_rate,
    clean_text,
    forget_asker,
    get_question,
    pending_queue,
    published_question,
    published_questions,
    questions_of,
    set_published,
    set_shared,
)
from storage.questions.offices import (
    likely_duplicates,
    office_code,
    office_named,
    offices,
    reachable_askers,
    set_office,
)
from storage.questions.support import (
    EXPORT_HEADER,
    RankedPage,
    SupportResult,
    export_rows,
    is_supportable,
    most_supported,
    staff_queue,
    support,
    support_counts,
    supported_by,
    supporter_key,
    supports_kept,
)

__all__ = [
    "ALREADY_ANSWERED",
    "ANSWERED",
    "CIRCULAR",
    "DAILY_LIMIT",
    "DUPLICATE",
    "EMPTY_ANSWER",
    "EXPORT_HEADER",
    "HEARING",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "MIN_LETTERS",
    "NOT_ANSWERED",
    "NOT_FOUND",
    "NOT_SHAREABLE",
    "NOT_SUPPORTABLE",
    "NOT_YOURS",
    "NO_WORDS",
    "PENDING",
    "SAME_QUESTION",
    "SORTS",
    "STATUSES",
    "SUPPORT_SCOPE",
    "TOO_LONG",
    "TOO_SHORT",
    "TOPICS",
    "WINDOW",
    "AnswerNotice",
    "Answered",
    "Duplicated",
    "QuestionError",
    "QuestionPage",
    "RankedPage",
    "RateLimited",
    "SupportResult",
    "ask",
    "asker_key",
    "check_rate",
    "clean_text",
    "export_rows",
    "forget_asker",
    "get_question",
    "is_supportable",
    "likely_duplicates",
    "most_supported",
    "office_code",
    "office_named",
    "offices",
    "pending_queue",
    "published_question",
    "published_questions",
    "questions_of",
    "reachable_askers",
    "record_answer",
    "record_duplicate",
    "set_office",
    "set_published",
    "set_shared",
    "staff_queue",
    "support",
    "support_counts",
    "supported_by",
    "supporter_key",
    "supports_kept",
]
