"""The staff broadcast wizard (`staff:dif:`): audience, preview, send or schedule."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class BroadcastAudience(CallbackData, prefix="staff:dif:a"):
    """Staff broadcast: send to `todos`, by `comuna`, by `tema`, to `lideres` or an `evento`."""

    kind: str


@dataclasses.dataclass(frozen=True)
class BroadcastComuna(CallbackData, prefix="staff:dif:c"):
    """Staff broadcast: tick or untick a comuna; `ok` when done."""

    comuna: str


@dataclasses.dataclass(frozen=True)
class BroadcastTopic(CallbackData, prefix="staff:dif:t"):
    """Staff broadcast: the people following a topic."""

    topic: str


@dataclasses.dataclass(frozen=True)
class BroadcastEvent(CallbackData, prefix="staff:dif:e"):
    """Staff broadcast: the people registered for an event."""

    event: int


@dataclasses.dataclass(frozen=True)
class BroadcastSend(CallbackData, prefix="staff:dif:ok"):
    """Staff broadcast: send the previewed message now."""


@dataclasses.dataclass(frozen=True)
class BroadcastSchedule(CallbackData, prefix="staff:dif:prog"):
    """Staff broadcast: ask when to send the previewed message."""


@dataclasses.dataclass(frozen=True)
class BroadcastCancel(CallbackData, prefix="staff:dif:cancelar"):
    """Staff broadcast: leave the wizard."""
