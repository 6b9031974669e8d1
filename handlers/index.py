"""The search index every text search uses (free text, `/obras <texto>`, `/metas <texto>`).

Built from the database once and kept in `bot_data`; a cheap fingerprint of the data says
whether to rebuild (checked at most once a minute, so imports show up within a minute), and
past events leave it at the latest after an hour. `forget_index` drops it after a change made
here (a question published, an answer given).
"""

from __future__ import annotations

import asyncio
import time

from bot.context import CabildoContext
from storage.search import SearchIndex, build_index, data_version

# Every minute a cheap fingerprint of the data says whether to rebuild; past events leave the
# index at the latest after an hour.
CHECK_EVERY_SECONDS = 60.0
MAX_AGE_SECONDS = 3600.0


async def search_index(context: CabildoContext) -> SearchIndex:
    """Return the search index, rebuilt only when the data changed (one build at a time)."""
    lock: asyncio.Lock = context.bot_data.setdefault("search_lock", asyncio.Lock())
    async with lock:
        cached = context.bot_data.get("search_index")
        now = time.monotonic()
        if cached is not None and now - cached[0] < CHECK_EVERY_SECONDS:
            index: SearchIndex = cached[2]
            return index
        async with context.db.session() as session:
            version = await data_version(session)
            if cached is not None and cached[1] == version and now - cached[3] < MAX_AGE_SECONDS:
                context.bot_data["search_index"] = (now, version, cached[2], cached[3])
                return cached[2]
            index = await build_index(session)
        context.bot_data["search_index"] = (now, version, index, now)
        return index


def forget_index(context: CabildoContext) -> None:
    """Drop the cached index so the next question sees a change made just now."""
    context.bot_data.pop("search_index", None)
