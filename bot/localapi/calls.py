"""The calls the fake Bot API takes: their parameters decoded, each call as recorded, the
errors it answers with, and the methods it knows."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
# Parameters that are plain strings even when they look like JSON ("123", "true").
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "title", "address", "url",
        "description", "short_description", "name", "emoji", "file_id", "secret_token",
        "language_code", "inline_message_id", "foursquare_id", "google_place_id",
    }
)
_FILE_PARAMS = ("photo", "document", "audio", "video", "voice", "animation", "sticker")


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode Bot API parameters: JSON for everything but known string fields."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or key in _STRING_PARAMS:
            decoded[key] = value
            continue
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return decoded


@dataclass
class Call:
    """One request the bot made, with what it was answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    token: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        """Tell whether Telegram would have accepted the call."""
        return self.status == 200


@dataclass
class _Failure:
    method: str
    error: str
    times: int
    chat_id: int | None
    retry_after: int
    description: str | None


class ApiError(Exception):
    """A Bot API error answer (status and JSON body)."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            self.body["parameters"] = parameters


class SimulatedTimeout(Exception):
    """The call should time out (the transport decides how).

    With `accepted`, Telegram carried the call out (it is recorded, `status` and `body` are
    its answer) but the answer comes too late.
    """

    def __init__(
        self, *, accepted: bool = False, status: int = 504, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__("simulated timeout")
        self.accepted = accepted
        self.status = status
        self.body = body or {}


class SimulatedConnectError(Exception):
    """The connection is refused: the call never reaches the API."""


_KINDS = ("retry_after", "forbidden", "bad_request", "server_error", "timeout", "slow_accept",
          "connect_error")


_METHODS = {
    name.lower(): name
    for name in (
        "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "setMyCommands",
        "getMyCommands", "deleteMyCommands", "setChatMenuButton", "getChatMenuButton",
        "sendMessage", "editMessageText", "editMessageReplyMarkup", "editMessageCaption",
        "deleteMessage", "answerCallbackQuery", "sendPhoto", "sendDocument", "sendVenue",
        "sendLocation", "sendChatAction", "getChat", "getChatMember", "getChatAdministrators",
        "getFile", "close", "logOut", "setMyDescription", "setMyShortDescription",
    )
}


def _chat_id_of(params: Mapping[str, Any]) -> int | None:
    value = params.get("chat_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _require_chat(params: Mapping[str, Any]) -> int:
    chat_id = _chat_id_of(params)
    if chat_id is None:
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id
