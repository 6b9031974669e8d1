"""A request body that is produced on demand and counts what the server pulled from it."""

from __future__ import annotations

from collections.abc import AsyncIterator


class CountingBody:
    """Yield `total` bytes in chunks of `chunk`, never holding more than one chunk.

    `pulled` is how many bytes the server has asked for so far: through
    `httpx.ASGITransport` each chunk is produced only when the app calls `receive()`.
    """

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total = total
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        block = b"x" * self.chunk
        while self.pulled < self.total:
            size = min(self.chunk, self.total - self.pulled)
            self.pulled += size
            yield block[:size]
