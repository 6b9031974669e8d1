"""Alerts (`/alertas`, `alr:`): follow or stop following a topic or a comuna."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class AlertTopic(CallbackData, prefix="alr:t"):
    """Switch the alerts of one topic."""

    topic: str


@dataclasses.dataclass(frozen=True)
class AlertComuna(CallbackData, prefix="alr:c"):
    """Switch the alerts of one comuna, by code."""

    comuna: str
