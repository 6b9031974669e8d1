"""Personal data (`priv:`): the consent notice's answers, and deleting one's data."""

from __future__ import annotations

import dataclasses

from handlers.callbacks.codec import CallbackData


@dataclasses.dataclass(frozen=True)
class ConsentAccept(CallbackData, prefix="priv:acepto"):
    """Accept the notice, with nothing to resume."""


@dataclasses.dataclass(frozen=True)
class ConsentResume(CallbackData, prefix="priv:ok"):
    """Accept the notice, then replay `target` (callback data) on message `origin` (the
    notice itself when empty)."""

    origin: str
    target: str


@dataclasses.dataclass(frozen=True)
class ConsentDecline(CallbackData, prefix="priv:no"):
    """Decline the notice."""


@dataclasses.dataclass(frozen=True)
class DataDelete(CallbackData, prefix="priv:borrar"):
    """Delete the person's data (confirmed)."""


@dataclasses.dataclass(frozen=True)
class DataKeep(CallbackData, prefix="priv:conservar"):
    """Keep the person's data after all."""
