"""The outbox sender's database steps: finished even when the sender is cancelled, and
coalesced into one transaction when several workers finish at about the same time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_STEPS: set[asyncio.Future[Any]] = set()  # steps running on after their caller was cancelled


async def db_step(db: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session of its own to its end, even if the caller is cancelled.

    The caller still stops at once; the step finishes as a kill a moment later would have
    left it. (A statement cancelled midway could leave its SQLite connection holding the
    write lock: the sweep after a simulated kill then waited its 30 s and failed.)
    """

    async def run() -> T:
        async with db.session() as session:
            return await work(session)

    step = asyncio.ensure_future(run())
    _STEPS.add(step)
    waiting = asyncio.shield(step)
    step.add_done_callback(partial(_settled, waiting))
    return await waiting


def _settled(waiting: asyncio.Future[Any], step: asyncio.Future[Any]) -> None:
    """Forget a finished step. A failure whose caller was cancelled meanwhile (the sender
    stopped during a database outage) is left as a kill would leave it, for the sweep to
    settle; taking it here keeps asyncio from logging it as never retrieved."""
    _STEPS.discard(step)
    if waiting.cancelled() and not step.cancelled() and step.exception() is not None:
        log.debug("a database step failed after its caller stopped", exc_info=step.exception())


class Coalesce(Generic[T, R]):
    """Run `write` for items submitted at about the same time, in one transaction each flush.

    At 25 messages a second each flush holds one or two rows; when many rows finish at once
    (a fast test API, a burst after a pause) they share one commit.
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[R]]) -> None:
        self._write = write
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())
        return await future

    async def close(self) -> None:
        """Stop a flush under way: its sender died, and nothing of a dead process runs on.

        (A flush left running would hand rows over that no one will send, and hold the
        database's write lock while the rest of the bot, or a test, sweeps.)
        """
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task])  # our own cancellation still propagates

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                result = await self._write([item for item, _ in batch])
            except BaseException as exc:  # handed to every waiter
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(result)
