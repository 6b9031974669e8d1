"""Settings of the web site, read and checked with the rest by `bot.config.load_settings`.

| variable | default | meaning |
|---|---|---|
| `WEB_PUBLIC_URL` | empty | public https address of the site; enables the Mini App button |
| `WEB_HOST`, `WEB_PORT` | `127.0.0.1`, `8080` | where `python -m web` / `cabildo web` listens |
| `MAP_TILE_URL` | OpenStreetMap's | tile server template with `{z}`, `{x}`, `{y}` |
| `MAP_TILE_ATTRIBUTION` | © OpenStreetMap | credit shown on the map (plain text) |
| `TELEGRAM_BOT_USERNAME` | empty | the bot's @username, for "Seguir en Telegram" links |
| `WEB_INIT_DATA_MAX_AGE` | `3600` | seconds a Mini App's signed `initData` stays valid |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = "© colaboradores de OpenStreetMap"


class WebSettingsError(ValueError):
    """A web setting with a bad value; the message names it, in Spanish."""


@dataclass(frozen=True)
class WebSettings:
    """Where the site listens, where it is published, and how the map gets its tiles."""

    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    tile_url: str = DEFAULT_TILE_URL
    tile_attribution: str = DEFAULT_ATTRIBUTION
    bot_username: str | None = None
    init_data_max_age: int = 3600

    @property
    def mini_app_url(self) -> str | None:
        """Return the map's address for a Telegram Mini App button (https only), or None."""
        if self.public_url and self.public_url.startswith("https://"):
            return self.public_url + "/mapa"
        return None

    @property
    def map_url(self) -> str | None:
        """Return the map's public address (http or https), or None when not published."""
        return self.public_url + "/mapa" if self.public_url else None


def _public_url(value: str) -> str | None:
    value = value.strip().rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WebSettingsError(
            f"WEB_PUBLIC_URL debe ser una dirección http(s) (se leyó «{value}»)."
        )
    return value


def _tile_url(value: str) -> str:
    value = value.strip() or DEFAULT_TILE_URL
    parts = urlsplit(value)
    if (parts.scheme not in ("http", "https") or not parts.netloc
            or not all(p in value for p in ("{z}", "{x}", "{y}"))):
        raise WebSettingsError(
            "MAP_TILE_URL debe ser una dirección http(s) con {z}, {x} y {y} "
            f"(se leyó «{value}»)."
        )
    return value


def _int(name: str, value: str, default: int, *, low: int, high: int) -> int:
    if not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise WebSettingsError(
            f"{name} debe ser un número entre {low} y {high} (se leyó «{value}»)."
        )
    return number


def load_web_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> WebSettings:
    """Read the web settings from `environ` (default: `.env` plus the environment, which wins)."""
    if environ is None:
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ)
        environ = values

    def get(name: str) -> str:
        return environ.get(name, "").strip()

    username = get("TELEGRAM_BOT_USERNAME").lstrip("@")
    return WebSettings(
        public_url=_public_url(get("WEB_PUBLIC_URL")),
        host=get("WEB_HOST") or "127.0.0.1",
        port=_int("WEB_PORT", get("WEB_PORT"), 8080, low=0, high=65535),
        tile_url=_tile_url(get("MAP_TILE_URL")),
        tile_attribution=get("MAP_TILE_ATTRIBUTION") or DEFAULT_ATTRIBUTION,
        bot_username=username or None,
        init_data_max_age=_int("WEB_INIT_DATA_MAX_AGE", get("WEB_INIT_DATA_MAX_AGE"), 3600,
                               low=60, high=86_400),
    )


def public_map_url(settings: object) -> str | None:
    """Return the published map's address (`WEB_PUBLIC_URL` + `/mapa`), or None."""
    web = getattr(settings, "web", None)
    return web.map_url if isinstance(web, WebSettings) else None
