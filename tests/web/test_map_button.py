"""The "🗺️ Mapa de obras" button of /obras: a Mini App over https, a link over http, else none."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI

USER = 7301


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


@pytest.fixture
def settings(settings: Settings, public_url: str) -> Settings:
    """Return the test settings with WEB_PUBLIC_URL as the test says, read like at start-up."""
    web = load_settings({"WEB_PUBLIC_URL": public_url}, env_file=None).web
    return dataclasses.replace(settings, web=web)


def _map_buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = params["reply_markup"]["inline_keyboard"]
    return [b for row in rows for b in row if b["text"] == "🗺️ Mapa de obras"]


@pytest.mark.parametrize(
    ("public_url", "expected"),
    [
        ("https://obras.example.gov.co",
         {"text": "🗺️ Mapa de obras", "web_app": {"url": "https://obras.example.gov.co/mapa"}}),
        ("http://192.0.2.10:8080/",
         {"text": "🗺️ Mapa de obras", "url": "http://192.0.2.10:8080/mapa"}),
        ("", None),
    ],
)
async def test_obras_index_offers_the_web_map(
    bot: CabildoApp, api: LocalBotAPI, public_url: str, expected: dict[str, Any] | None,
) -> None:
    user = api.user(USER)

    user.send_text("/obras")

    index, _ = await api.wait_for("sendMessage", chat_id=USER, count=2)  # + the location
    assert _map_buttons(index.params) == ([expected] if expected else [])
    user.tap("obra:c:4:0")
    await api.wait_for("editMessageText", chat_id=USER)
    user.tap("obra:i")
    edits = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert _map_buttons(edits[-1].params) == ([expected] if expected else [])
