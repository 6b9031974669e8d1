"""Quiet outages: a database or network that is down is logged once with its cause, then counted.

When PostgreSQL stops for 20 seconds, every update, every sender loop and every job fails
the same way; a traceback for each one buries the log (1.5 MB in 20 s) and says nothing more
than the first line. `Outages.failed` logs the first failure of an outage with its cause
(no traceback), counts the rest, and says once a minute how many there were while it lasts;
`Outages.recovered` logs the end with the count. What is not an outage (a bug) is still
logged in full by its caller.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("cabildo.outages")

REMIND_EVERY = 60.0  # seconds between "still down" lines
QUIET_AFTER = 30.0  # a failure this long after the last one starts a new outage


def is_outage(error: BaseException | None) -> bool:
    """Tell whether `error` means the database cannot be reached, rather than a bug."""
    if error is None:
        return False
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error,
        (OperationalError, InterfaceError, PoolTimeout, ConnectionError, socket.gaierror,
         TimeoutError, asyncio.TimeoutError, OSError),
    )


def cause(error: BaseException) -> str:
    """Return the first line of what went wrong, as the driver said it."""
    inner = getattr(error, "orig", None) or error.__cause__ or error
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


class Outages:
    """Log an outage once, count its failures, and log its end."""

    def __init__(self, what: str = "database") -> None:
        self.what = what
        self.count = 0  # failures in the current outage
        self.total = 0  # failures since start
        self._since: float | None = None
        self._last = 0.0
        self._reminded = 0.0

    @property
    def ongoing(self) -> bool:
        """Tell whether an outage is going on (a failure and no recovery since)."""
        return self._since is not None

    def failed(self, error: BaseException, where: str) -> None:
        """Record one failure caused by the outage; log only the first and a minute's count."""
        now = time.monotonic()
        if self._since is not None and now - self._last > QUIET_AFTER:
            self.recovered()
        self.count += 1
        self.total += 1
        self._last = now
        if self._since is None:
            self._since = self._reminded = now
            log.error("%s unreachable (%s): %s; further failures are counted, not logged",
                      self.what, where, cause(error))
        elif now - self._reminded >= REMIND_EVERY:
            self._reminded = now
            log.error("%s still unreachable: %d failures in %.0f s", self.what, self.count,
                      now - self._since)

    def recovered(self) -> None:
        """Record that things work again; log the outage's end once."""
        if self._since is None:
            return
        log.warning("%s back after %.0f s and %d failures", self.what,
                    time.monotonic() - self._since, self.count)
        self._since = None
        self.count = 0
