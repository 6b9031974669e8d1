"""Fixtures of the web site tests: the site's settings (the example data: `demo_data`)."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from bot.config import Settings, WebSettings

TOKEN = "123456:TEST-token-for-the-web-site"


def unused_port() -> int:
    """Return a local port nothing listens on (for an unreachable tile server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site_settings(settings: Settings) -> Settings:
    """Return the test settings with a bot token, so initData can be verified."""
    return dataclasses.replace(settings, token=TOKEN)


@pytest.fixture
def web_settings() -> WebSettings:
    """Return web settings whose tile server is a local port where nothing answers."""
    return WebSettings(
        tile_url=f"http://127.0.0.1:{unused_port()}/{{z}}/{{x}}/{{y}}.png",
        bot_username="CabildoPruebaBot",
    )
