"""The typed callback context: handlers get settings and the database from it."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from storage.db import Database


class CabildoContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """CallbackContext exposing the services built once in `bot.app.build_application`."""

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
