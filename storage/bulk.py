"""Bulk work with the cyclic garbage collector paused: an import, a whole city's broadcast.

Such work builds tens of thousands of objects that live until it ends (the rows read, the
rows to write), so Python's full collections ran again and again while it lasted, each
walking all of them to find nothing to free (25-85 ms each, on the event loop's thread:
every chat waited; `python -m bench.large`). Reference counting still frees everything
as usual; only the search for reference cycles waits until the bulk work is over.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_holders = 0  # bulk works running now (an import and a broadcast may overlap)
_paused = False  # whether we turned the collector off (never re-enable what others disabled)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (blocks may overlap or nest)."""
    global _holders, _paused
    if _holders == 0 and gc.isenabled():
        gc.disable()
        _paused = True
    _holders += 1
    try:
        yield
    finally:
        _holders -= 1
        if _holders == 0 and _paused:
            _paused = False
            gc.enable()


SLICE = 2_000  # items freed between two turns of the event loop


async def let_go(*heaps: list[Any]) -> None:
    """Empty big lists a slice at a time, the event loop serving others between slices.

    Freeing an import's 20,000 parsed rows in one go held the loop for about 25 ms.
    """
    for heap in heaps:
        while heap:
            del heap[-SLICE:]
            await asyncio.sleep(0)
