"""The search index every text search uses (free text, `/obras <texto>`, `/metas <texto>`).

Built from the database once and kept in `bot_data.search`; a cheap fingerprint of the data says
whether to rebuild (checked at most once a minute, so imports show up within a minute), and
past events leave it at the latest after an hour. `forget_index` drops it after a change made
here (a question published, an answer given). `question_index` is the same kind of index
over the citizens' questions, for staff grouping duplicates, rebuilt when a question is added,
answered or grouped.
"""

from __future__ import annotations

import time

from bot.context import CabildoContext
from storage.search import (
    SearchIndex,
    build_index,
    build_question_index,
    data_version,
    question_version,
)

# Every minute a cheap fingerprint of the data says whether to rebuild; past events leave the
# index at the latest after an hour.
CHECK_EVERY_SECONDS = 60.0
MAX_AGE_SECONDS = 3600.0


async def search_index(context: CabildoContext) -> SearchIndex:
    """Return the search index, rebuilt only when the data changed (one build at a time)."""
    cached = context.bot_data.search
    async with cached.lock:
        now = time.monotonic()
        if cached.value is not None and now - cached.checked_at < CHECK_EVERY_SECONDS:
            return cached.value
        async with context.db.session() as session:
            version = await data_version(session)
            if (cached.value is not None and cached.version == version
                    and now - cached.built_at < MAX_AGE_SECONDS):
                cached.checked_at = now
                return cached.value
            index = await build_index(session)
        cached.value, cached.version, cached.checked_at, cached.built_at = index, version, now, now
        return index


def forget_index(context: CabildoContext) -> None:
    """Drop the cached index so the next question sees a change made just now."""
    context.bot_data.search.value = None


async def question_index(context: CabildoContext) -> SearchIndex:
    """Return the index of the questions (see `storage.search.build_question_index`), rebuilt
    only when one was added, answered or grouped since."""
    cached = context.bot_data.questions
    async with cached.lock:
        async with context.db.session() as session:
            version = await question_version(session)
            if cached.value is not None and cached.version == version:
                return cached.value
            index = await build_question_index(session)
        cached.value, cached.version = index, version
        return index
