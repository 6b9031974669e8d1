"""The typed callback context and the services every handler shares (`bot_data`)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from telegram import BotCommand
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.outages import Outages
from bot.throttle import RateLimiter
from storage.conversations import FlowState
from storage.db import Database
from storage.jobs import instance_name
from storage.search import SearchIndex

T = TypeVar("T")


@dataclass
class Cached(Generic[T]):
    """A value built from the database, the data version it reflects, and when."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one build at a time
    value: T | None = None
    version: object = None
    checked_at: float = 0.0  # monotonic time the version was last compared
    built_at: float = 0.0


@dataclass(frozen=True)
class Menus:
    """What the command table (`handlers.commands`) says, for the handlers that show it.

    Drawn from the table once by `bot.app.build_application`: the table names those
    handlers, so they read its menus here rather than import it back.
    """

    staff: tuple[BotCommand, ...] = ()  # a staff member's own chat menu
    help: str = ""  # `/ayuda`'s list of commands


@dataclass
class Services:
    """What the handlers of one Application share, built once by `bot.app.build_application`.

    It is the Application's `bot_data`: handlers read it as `context.bot_data`.
    """

    settings: Settings
    db: Database
    owns_db: bool  # created for this Application, so disposed with it
    limiter: RateLimiter
    menus: Menus = field(default_factory=Menus)
    outages: Outages = field(default_factory=Outages)
    instance: str = field(default_factory=instance_name)  # this process, in job claims
    serve_web: bool = False  # polling mode also serves the site (`cabildo run`)
    search: Cached[SearchIndex] = field(default_factory=Cached)
    questions: Cached[SearchIndex] = field(default_factory=Cached)
    # PNG sha256 → Telegram file_id of the pictures this process uploaded (`handlers.photos`)
    uploaded_photos: OrderedDict[str, str] = field(default_factory=OrderedDict)
    # Updates this process let through lately (`bot.updates.drop_seen`), oldest first
    admitted_updates: dict[int, None] = field(default_factory=dict)
    # name → (stop event, task) of what runs beside the bot: the outbox sender, the site
    background: dict[str, tuple[asyncio.Event, asyncio.Task[None]]] = field(
        default_factory=dict
    )


class CabildoContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    """CallbackContext exposing the services built once in `bot.app.build_application`."""

    # The person's conversation state, once read in this update (`handlers.flows` reads it
    # for every text): `(state,)`, or None when not read yet. Saves a second round trip.
    known_state: tuple[FlowState | None] | None = None

    @property
    def settings(self) -> Settings:
        """Return the installation's settings."""
        return self.bot_data.settings

    @property
    def db(self) -> Database:
        """Return the database handle."""
        return self.bot_data.db


CabildoApp = Application[
    ExtBot[None], CabildoContext, dict[Any, Any], dict[Any, Any], Services, Any
]
