"""The typed callback context: handlers get settings and the database from it."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from storage.conversations import FlowState
from storage.db import Database


class CabildoContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """CallbackContext exposing the services built once in `bot.app.build_application`."""

    # The person's conversation state, once read in this update (`handlers.flows` reads it
    # for every text): `(state,)`, or None when not read yet. Saves a second round trip.
    known_state: tuple[FlowState | None] | None = None

    @property
    def settings(self) -> Settings:
        """Return the installation's settings."""
        settings: Settings = self.bot_data["settings"]
        return settings

    @property
    def db(self) -> Database:
        """Return the database handle."""
        database: Database = self.bot_data["db"]
        return database


CabildoApp = Application[
    ExtBot[None], CabildoContext, dict[Any, Any], dict[Any, Any], dict[str, Any], Any
]
