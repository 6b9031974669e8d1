"""Per-person sliding one-minute windows: the counting behind `handlers.limits`.

A message costs MESSAGE_COST and a button tap TAP_COST, out of MESSAGE_COST × the per-minute
setting (staff: STAFF_FACTOR times that). Only what is let through counts; windows of people
quiet for a minute are dropped. Pure counting, no Telegram: the Application holds one
limiter (`bot.context.Services.limiter`), the handlers consult it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_SECONDS = 60.0
MESSAGE_COST, TAP_COST = 2, 1
STAFF_FACTOR = 5  # staff broadcast, answer and import in bursts


@dataclass
class Window:
    """What one person did in the last minute: (time, cost) of each update let through."""

    events: deque[tuple[float, int]] = field(default_factory=deque)
    used: int = 0
    staff: bool | None = None  # looked up the first time they reach the citizens' budget
    told_until: float = 0.0  # refusals until then stay silent


@dataclass(frozen=True)
class Verdict:
    """Whether an update may go on; if not, how long until it may and whether to say so."""

    allowed: bool
    wait: float = 0.0
    tell: bool = False


class RateLimiter:
    """Sliding one-minute windows per person, pruned as time passes."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 window: float = WINDOW_SECONDS) -> None:
        self.budget = MESSAGE_COST * per_minute
        self.clock = clock
        self.window_seconds = window
        self._windows: dict[int, Window] = {}
        self._pruned_at = clock()

    @property
    def tracked(self) -> int:
        """How many people have a window in memory."""
        return len(self._windows)

    def window(self, person: int) -> Window:
        """Return the person's window with events older than a minute dropped."""
        now = self.clock()
        if now - self._pruned_at >= self.window_seconds:
            self._prune(now)
        state = self._windows.setdefault(person, Window())
        self._expire(state, now)
        return state

    def needs_role(self, state: Window, cost: int) -> bool:
        """Tell whether the person's role matters now (they reach the citizens' budget)."""
        return state.staff is None and state.used + cost > self.budget

    def take(self, state: Window, cost: int) -> Verdict:
        """Count the update if it fits in the person's budget; otherwise refuse it."""
        now = self.clock()
        budget = self.budget * (STAFF_FACTOR if state.staff else 1)
        if state.used + cost <= budget:
            state.events.append((now, cost))
            state.used += cost
            return Verdict(True)
        # Free again once enough of the oldest events leave the window.
        freed, until = state.used, now
        for at, spent in state.events:
            freed -= spent
            until = at + self.window_seconds
            if freed + cost <= budget:
                break
        tell = now >= state.told_until
        state.told_until = until
        return Verdict(False, wait=max(until - now, 0.0), tell=tell)

    def _expire(self, state: Window, now: float) -> None:
        while state.events and now - state.events[0][0] >= self.window_seconds:
            state.used -= state.events.popleft()[1]

    def _prune(self, now: float) -> None:
        for person, state in list(self._windows.items()):
            self._expire(state, now)
            if not state.events and now >= state.told_until:
                del self._windows[person]
        self._pruned_at = now
