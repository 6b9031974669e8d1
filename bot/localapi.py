"""An in-process stand-in for the Telegram Bot API.

It serves the local terminal chat (`LocalRequest`, no network at all), the end-to-end tests
(`LocalBotAPIServer`, real HTTP on 127.0.0.1 that PTB talks to through its own HTTP stack),
and the broadcast benchmarks. It records every call, keeps each chat's messages as they are
after edits, plays any number of users and groups, and can be told to fail the way Telegram
fails (`fail`): 429 with retry_after, 403 blocked, 400, 5xx before acceptance, no answer in
time (`timeout`: the call is not carried out), a send Telegram carries out but answers only
after the client's read timeout (`slow_accept`), and a connection refused (`connect_error`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

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


class LocalBotAPI:
    """The Bot API's behaviour, in memory, independent of any transport."""

    def __init__(
        self,
        *,
        bot_id: int = 777000111,
        bot_username: str = "cabildo_local_bot",
        bot_name: str = "Cabildo",
    ) -> None:
        self.bot_user = {
            "id": bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username,
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.timeout_delay = 3.0
        self.slow_accept_delay = 8.0  # over HTTP: past PTB's default read timeout (5 s)
        self.webhook_url = ""
        self.commands: list[dict[str, Any]] = []
        self._users: dict[int, LocalUser] = {}
        self._groups: dict[int, dict[str, Any]] = {}
        self._admins: dict[int, set[int]] = {}
        # Chats the bot cannot write to any more: people who blocked it, groups it left,
        # groups that became supergroups (old id -> new id). Empty unless a test says so.
        self._blocked_by: set[int] = set()
        self._left_groups: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._membership_dates: dict[int, int] = {}  # chat -> date of the newest change
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, tuple[str, bytes, str]] = {}  # file_id -> (name, bytes, path)
        self._file_counter = itertools.count(1)
        self._update_counter = itertools.count(1)
        self._queue: deque[dict[str, Any]] = deque()
        self._failures: list[_Failure] = []
        self._changed: asyncio.Event | None = None
        self._closed = False

    # --- people ---------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Ana",
        *,
        username: str | None = None,
        language_code: str = "es",
    ) -> LocalUser:
        """Return the simulated user with this id, creating it on first use."""
        if user_id not in self._users:
            self._users[user_id] = LocalUser(self, user_id, first_name, username, language_code)
        return self._users[user_id]

    def group(self, chat_id: int, title: str, *, kind: str = "supergroup") -> dict[str, Any]:
        """Register a group chat (negative id; `kind` group or supergroup); return its chat."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if kind not in ("group", "supergroup"):
            raise ValueError("kind is 'group' or 'supergroup'")
        self._groups[chat_id] = {"id": chat_id, "type": kind, "title": title}
        return self._groups[chat_id]

    def chat_object(self, chat_id: int) -> dict[str, Any]:
        """Return the Chat object Telegram would send for this id."""
        if chat_id in self._groups:
            return dict(self._groups[chat_id])
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": f"Grupo {chat_id}"}
        user = self._users.get(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "type": "private"}
        chat["first_name"] = user.first_name if user else "Persona"
        if user and user.username:
            chat["username"] = user.username
        return chat

    # --- updates --------------------------------------------------------------------

    def new_update_id(self) -> int:
        """Return the next update id."""
        return next(self._update_counter)

    def enqueue(self, update: dict[str, Any]) -> None:
        """Put an update on the queue that getUpdates serves."""
        self._queue.append(update)
        self._notify()

    def close(self) -> None:
        """Make pending and future long polls return at once."""
        self._closed = True
        self._notify()

    # --- inspection -----------------------------------------------------------------

    def calls_to(self, chat_id: int, methods: Collection[str] | None = None) -> list[Call]:
        """Return the recorded calls addressed to `chat_id` (optionally only some methods)."""
        return [
            c for c in self.calls
            if _chat_id_of(c.params) == chat_id and (methods is None or c.method in methods)
        ]

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Return the bot's messages in the chat as they are now, oldest first."""
        stored = self._messages.get(chat_id, {})
        return [stored[k] for k in sorted(stored)]

    def file_bytes(self, file_id: str) -> bytes:
        """Return the content of a stored file."""
        return self._files[file_id][1]

    def stored_file(self, file_id: str) -> tuple[str, bytes] | None:
        """Return the name and content of a stored file, or None if there is none."""
        found = self._files.get(file_id)
        return (found[0], found[1]) if found else None

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next `times` matching calls fail with `error` (one of `_KINDS`).

        `slow_accept` carries the call out (a message is stored and the call recorded as
        accepted) and answers after the client gave up waiting; `timeout` does not carry it
        out; `connect_error` is a refused connection in-process, and 503 over HTTP (a 5xx
        before acceptance: the server cannot refuse a connection it already took).
        """
        if error not in _KINDS:
            raise ValueError(f"unknown error kind {error!r}")
        canonical = _METHODS.get(method.lower(), method)
        self._failures.append(_Failure(canonical, error, times, chat_id, retry_after, description))

    async def wait_for(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 15.0,
    ) -> list[Call]:
        """Wait until `count` successful calls of `method` (to `chat_id`) are recorded."""

        def matching() -> list[Call]:
            return [
                c for c in self.calls
                if c.ok and c.method == method
                and (chat_id is None or _chat_id_of(c.params) == chat_id)
            ]

        try:
            async with asyncio.timeout(timeout):
                await self._until(lambda: len(matching()) >= count)
        except TimeoutError:
            recent = ", ".join(f"{c.method}({_chat_id_of(c.params)})" for c in self.calls[-8:])
            raise TimeoutError(
                f"waited {timeout}s for {count} {method} to {chat_id}; "
                f"got {len(matching())}. Recent calls: {recent or 'none'}"
            ) from None
        return matching()

    # --- the API --------------------------------------------------------------------

    async def handle(
        self,
        token: str,
        method: str,
        params: dict[str, Any],
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: return (HTTP status, JSON body)."""
        canonical = _METHODS.get(method.lower())
        files = dict(files or {})
        if canonical is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        call = Call(method=canonical, params=params, files=files, token=token)
        slow = False
        try:
            slow = self._inject_failure(call)
            self._refuse_unreachable(call)
            if canonical == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                result = getattr(self, "_" + canonical)(params, files)
            call.response = {"ok": True, "result": result}
        except ApiError as exc:
            call.status, call.response = exc.status, exc.body
        except SimulatedTimeout:
            call.status, call.response = 504, {
                "ok": False, "error_code": 504, "description": "Gateway Timeout"
            }
            self._record(call)
            raise
        except SimulatedConnectError:
            raise  # never reached the API: nothing recorded
        if canonical != "getUpdates":
            self._record(call)
        if slow:
            raise SimulatedTimeout(accepted=True, status=call.status, body=call.response)
        return call.status, call.response

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._notify()

    def _inject_failure(self, call: Call) -> bool:
        """Raise the failure set for this call, if any; return True for a slow acceptance."""
        chat_id = _chat_id_of(call.params)
        for rule in self._failures:
            if rule.method != call.method or rule.times <= 0:
                continue
            if rule.chat_id is not None and rule.chat_id != chat_id:
                continue
            rule.times -= 1
            if rule.error == "slow_accept":
                return True
            if rule.error == "connect_error":
                raise SimulatedConnectError()
            if rule.error == "timeout":
                raise SimulatedTimeout()
            if rule.error == "retry_after":
                raise ApiError(
                    429,
                    rule.description or f"Too Many Requests: retry after {rule.retry_after}",
                    {"retry_after": rule.retry_after},
                )
            if rule.error == "forbidden":
                raise ApiError(403, rule.description or "Forbidden: bot was blocked by the user")
            if rule.error == "bad_request":
                raise ApiError(400, rule.description or "Bad Request: simulated failure")
            raise ApiError(502, rule.description or "Bad Gateway")
        return False

    def _refuse_unreachable(self, call: Call) -> None:
        """Answer like Telegram when the bot writes where it no longer can."""
        chat_id = _chat_id_of(call.params)
        if chat_id is None or not call.method.startswith(("send", "edit")):
            return
        if chat_id in self._blocked_by:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self._left_groups:
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        if chat_id in self._migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": self._migrated[chat_id]})

    def _set_reachable(self, chat_id: int, reachable: bool, date: int) -> None:
        """Record the bot's status in a chat, unless a newer change is known already."""
        if date < self._membership_dates.get(chat_id, date):
            return  # an older change delivered late: Telegram's state is the newer one
        self._membership_dates[chat_id] = date
        chats = self._blocked_by if chat_id > 0 else self._left_groups
        if reachable:
            chats.discard(chat_id)
        else:
            chats.add(chat_id)

    def bot_member(self, status: str) -> dict[str, Any]:
        """Return the ChatMember object of the bot itself with this status."""
        user = dict(self.bot_user)
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        if status == "administrator":
            return {**self._member_rights(), "status": "administrator", "user": user}
        return {"status": status, "user": user}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        while self._queue and offset and self._queue[0]["update_id"] < offset:
            self._queue.popleft()
        timeout = float(params.get("timeout") or 0)
        if not self._queue and timeout > 0 and not self._closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._until(lambda: bool(self._queue) or self._closed)
        limit = int(params.get("limit") or 100)
        return list(itertools.islice(self._queue, 0, limit))

    def _getMe(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return dict(self.bot_user)

    def _deleteWebhook(self, params: dict[str, Any], files: Any) -> bool:
        self.webhook_url = ""
        return True

    def _setWebhook(self, params: dict[str, Any], files: Any) -> bool:
        self.webhook_url = str(params.get("url", ""))
        return True

    def _getWebhookInfo(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._queue)}

    def _setMyCommands(self, params: dict[str, Any], files: Any) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    def _getMyCommands(self, params: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        return list(self.commands)

    def _deleteMyCommands(self, params: dict[str, Any], files: Any) -> bool:
        self.commands = []
        return True

    def _true(self, params: dict[str, Any], files: Any) -> bool:
        return True

    _setChatMenuButton = _true
    _sendChatAction = _true
    _close = _true
    _logOut = _true
    _setMyDescription = _true
    _setMyShortDescription = _true
    _answerCallbackQuery = _true

    def _getChatMenuButton(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return {"type": "commands"}

    def _getChat(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        chat = self.chat_object(_require_chat(params))
        chat["accent_color_id"] = 0
        chat["max_reaction_count"] = 11
        return chat

    def make_admin(self, chat_id: int, user_id: int) -> None:
        """Make `user_id` an administrator of the group `chat_id`."""
        self._admins.setdefault(chat_id, set()).add(user_id)

    def _member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_user["id"]:
            user: dict[str, Any] = dict(self.bot_user)
        else:
            user = self.user(user_id).as_dict()
        if user_id not in self._admins.get(chat_id, set()):
            return {"status": "member", "user": user}
        return {"status": "administrator", "user": user, **self._member_rights()}

    @staticmethod
    def _member_rights() -> dict[str, bool]:
        rights = dict.fromkeys(
            ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
             "can_manage_video_chats", "can_restrict_members", "can_promote_members",
             "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
             "can_delete_stories"),
            False,
        )
        return {**rights, "can_manage_chat": True}

    def _getChatMember(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return self._member(_require_chat(params), int(params["user_id"]))

    def _getChatAdministrators(self, params: dict[str, Any], files: Any) -> list[Any]:
        chat_id = _require_chat(params)
        return [self._member(chat_id, u) for u in sorted(self._admins.get(chat_id, set()))]

    def _getFile(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        _, content, path = self._files[file_id]
        return {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": len(content),
                "file_path": path}

    def _sendMessage(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return self._store(params, {"text": text})

    def _sendVenue(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        venue = {"location": location, "title": params.get("title", ""),
                 "address": params.get("address", "")}
        return self._store(params, {"venue": venue, "location": location})

    def _sendLocation(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        return self._store(params, {"location": location})

    def _sendPhoto(self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> Any:
        file_id, _ = self._take_file("photo", params, files, "photo.jpg")
        photo = [{"file_id": file_id, "file_unique_id": "u" + file_id, "width": 800,
                  "height": 600, "file_size": len(self._files[file_id][1])}]
        return self._store(params, {"photo": photo}, caption=True, files=files)

    def _sendDocument(self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> Any:
        file_id, name = self._take_file("document", params, files, "documento")
        document = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": name,
                    "file_size": len(self._files[file_id][1])}
        return self._store(params, {"document": document}, caption=True, files=files)

    def _take_file(
        self, field_name: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]],
        default_name: str,
    ) -> tuple[str, str]:
        value = params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part in files:
                files[field_name] = files.pop(part)
        if field_name in files:
            name, content = files[field_name]
            return self.store_file(name or default_name, content), name or default_name
        if isinstance(value, str) and value in self._files:
            return value, self._files[value][0]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.store_file(value.rsplit("/", 1)[-1] or default_name, b""), default_name
        raise ApiError(400, f"Bad Request: there is no {field_name} in the request")

    def store_file(self, name: str, content: bytes) -> str:
        """Keep a file's bytes and return its new file_id."""
        number = next(self._file_counter)
        file_id = f"LOCALFILE{number:06d}"
        self._files[file_id] = (name, content, f"files/{number}/{name}")
        return file_id

    def file_by_path(self, path: str) -> bytes | None:
        """Return the bytes of the file with this download path, if any."""
        for _, content, file_path in self._files.values():
            if file_path == path:
                return content
        return None

    def _store(
        self,
        params: dict[str, Any],
        content: dict[str, Any],
        *,
        caption: bool = False,
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> dict[str, Any]:
        chat_id = _require_chat(params)
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat_object(chat_id),
            "from": dict(self.bot_user),
            **content,
        }
        if caption and params.get("caption"):
            if len(str(params["caption"])) > MAX_CAPTION:
                raise ApiError(400, "Bad Request: message caption is too long")
            message["caption"] = params["caption"]
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params[
            "reply_markup"
        ]:
            message["reply_markup"] = params["reply_markup"]
        for key in ("entities", "caption_entities"):
            if params.get(key):
                message[key] = params[key]
        self._messages.setdefault(chat_id, {})[message_id] = message
        return message

    def _stored(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not simulated")
        chat_id = _require_chat(params)
        message = self._messages.get(chat_id, {}).get(int(params.get("message_id") or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _edit(self, params: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        message = self._stored(params)
        markup = params.get("reply_markup")
        new = dict(message)
        new.update(changes)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            new["reply_markup"] = markup
        else:
            new.pop("reply_markup", None)
        if {k: new.get(k) for k in ("text", "caption", "reply_markup")} == {
            k: message.get(k) for k in ("text", "caption", "reply_markup")
        }:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        new["edit_date"] = int(time.time())
        self._messages[message["chat"]["id"]][message["message_id"]] = new
        return new

    def _editMessageText(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return self._edit(params, {"text": text})

    def _editMessageCaption(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return self._edit(params, {"caption": params.get("caption", "")})

    def _editMessageReplyMarkup(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return self._edit(params, {})

    def _deleteMessage(self, params: dict[str, Any], files: Any) -> bool:
        message = self._stored(params)
        del self._messages[message["chat"]["id"]][message["message_id"]]
        return True

    # --- plumbing -------------------------------------------------------------------

    async def _until(self, predicate: Callable[[], bool]) -> None:
        """Wait until `predicate` holds, re-checking whenever something changes."""
        while not predicate():
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    def _notify(self) -> None:
        # Wake every waiter once; they re-check and wait on a fresh event.
        event, self._changed = self._changed, None
        if event is not None:
            event.set()


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


class LocalUser:
    """A simulated person: builds the updates Telegram would send for what they do."""

    def __init__(
        self, api: LocalBotAPI, user_id: int, first_name: str, username: str | None,
        language_code: str,
    ) -> None:
        self.api = api
        self.id = user_id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code
        self._message_ids = itertools.count(1_000_000)

    def as_dict(self) -> dict[str, Any]:
        """Return the User object Telegram would send."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name,
                                "language_code": self.language_code}
        if self.username:
            user["username"] = self.username
        return user

    def _message(self, chat_id: int | None, **content: Any) -> dict[str, Any]:
        chat_id = self.id if chat_id is None else chat_id
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": self.api.chat_object(chat_id), "from": self.as_dict(), **content}

    def _emit(self, kind: str, payload: dict[str, Any], enqueue: bool) -> dict[str, Any]:
        update = {"update_id": self.api.new_update_id(), kind: payload}
        if enqueue:
            self.api.enqueue(update)
        return update

    def send_text(
        self, text: str, *, chat_id: int | None = None, enqueue: bool = True
    ) -> dict[str, Any]:
        """Send a text message (a command gets its bot_command entity)."""
        message = self._message(chat_id, text=text)
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._emit("message", message, enqueue)

    def send_location(
        self, latitude: float, longitude: float, *, enqueue: bool = True
    ) -> dict[str, Any]:
        """Share a location."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._emit("message", self._message(None, location=location), enqueue)

    def send_document(
        self,
        filename: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """Send a file; the bot can download it through getFile."""
        file_id = self.api.store_file(filename, content)
        document: dict[str, Any] = {"file_id": file_id, "file_unique_id": "u" + file_id,
                                    "file_name": filename, "file_size": len(content)}
        if mime_type:
            document["mime_type"] = mime_type
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        if caption and caption.startswith("/"):
            extra["caption_entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(caption.split()[0])}
            ]
        return self._emit("message", self._message(None, document=document, **extra), enqueue)

    # --- the bot's membership (my_chat_member updates, supergroup migration) -----------

    def _membership(
        self, chat_id: int, old: str, new: str, *, date: int | None, enqueue: bool
    ) -> dict[str, Any]:
        date = int(time.time()) if date is None else date
        self.api._set_reachable(chat_id, new in ("member", "administrator"), date)
        change = {
            "chat": self.api.chat_object(chat_id), "from": self.as_dict(), "date": date,
            "old_chat_member": self.api.bot_member(old),
            "new_chat_member": self.api.bot_member(new),
        }
        return self._emit("my_chat_member", change, enqueue)

    def block_bot(self, *, date: int | None = None, enqueue: bool = True) -> dict[str, Any]:
        """Block the bot: Telegram says so, and refuses the bot's messages from now on."""
        return self._membership(self.id, "member", "kicked", date=date, enqueue=enqueue)

    def unblock_bot(self, *, date: int | None = None, enqueue: bool = True) -> dict[str, Any]:
        """Unblock the bot (Telegram's «Reiniciar» also sends /start: send it apart)."""
        return self._membership(self.id, "kicked", "member", date=date, enqueue=enqueue)

    def add_bot(
        self, chat_id: int, *, admin: bool = False, date: int | None = None,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """Add the bot to the group `chat_id` (registered with `api.group`)."""
        new = "administrator" if admin else "member"
        return self._membership(chat_id, "left", new, date=date, enqueue=enqueue)

    def remove_bot(
        self, chat_id: int, *, status: str = "kicked", date: int | None = None,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """Remove the bot from the group (`status` kicked, or left); it can no longer write."""
        return self._membership(chat_id, "member", status, date=date, enqueue=enqueue)

    def upgrade_group(
        self, old_id: int, new_id: int, *, announce: str = "both", enqueue: bool = True
    ) -> list[dict[str, Any]]:
        """Turn the group `old_id` into the supergroup `new_id`, as Telegram does.

        Telegram posts a service message in each chat (`migrate_to_chat_id` in the old,
        `migrate_from_chat_id` in the new); `announce` ("both", "to" or "from") chooses which
        reach the bot. Messages to the old id fail from now on, with the new id in the error.
        """
        if announce not in ("both", "to", "from"):
            raise ValueError("announce is 'both', 'to' or 'from'")
        old = self.api._groups.get(old_id) or self.api.group(old_id, f"Grupo {old_id}",
                                                             kind="group")
        old["type"] = "group"  # only basic groups migrate
        self.api.group(new_id, str(old["title"]))
        self.api._migrated[old_id] = new_id
        for admin in sorted(self.api._admins.get(old_id, set())):
            self.api.make_admin(new_id, admin)
        updates = []
        if announce in ("both", "to"):
            updates.append(
                self._emit("message", self._message(old_id, migrate_to_chat_id=new_id), enqueue)
            )
        if announce in ("both", "from"):
            updates.append(self._emit(
                "message", self._message(new_id, migrate_from_chat_id=old_id), enqueue
            ))
        return updates

    def tap(
        self, label_or_data: str, *, message_id: int | None = None, enqueue: bool = True
    ) -> dict[str, Any]:
        """Tap an inline button by its label or callback data."""
        messages = self.api.messages(self.id)
        if message_id is not None:
            messages = [m for m in messages if m["message_id"] == message_id]
        available: list[str] = []
        for message in reversed(messages):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            for button in itertools.chain.from_iterable(rows):
                available.append(button.get("text", ""))
                if label_or_data in (button.get("text"), button.get("callback_data")):
                    if "callback_data" not in button:
                        raise LookupError(f"button {label_or_data!r} is a link, not tappable")
                    query = {"id": str(self.api.new_update_id() * 7919), "from": self.as_dict(),
                             "message": message, "chat_instance": f"ci{self.id}",
                             "data": button["callback_data"]}
                    return self._emit("callback_query", query, enqueue)
        raise LookupError(f"no button {label_or_data!r}; available: {available}")


class LocalRequest(BaseRequest):
    """A PTB request class that answers from a LocalBotAPI in-process: no network at all."""

    def __init__(self, api: LocalBotAPI) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        """Return the default read timeout (none is needed in-process)."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Route the call to the in-memory API and return its status and JSON body."""
        path = urlsplit(url).path
        if "/file/bot" in path:
            file_path = path.split("/file/bot", 1)[1].split("/", 1)[1]
            content = self.api.file_by_path(file_path)
            return (200, content) if content is not None else (404, b"Not Found")
        token, api_method = path.rsplit("/bot", 1)[1].split("/", 1)
        params = decode_params(request_data.json_parameters if request_data else {})
        files: dict[str, tuple[str, bytes]] = {}
        if request_data is not None and request_data.contains_files:
            for name, (filename, part, *_) in request_data.multipart_data.items():
                data = part if isinstance(part, bytes) else part.read()
                files[name] = (filename or name, data)
        try:
            status, body = await self.api.handle(token, api_method, params, files)
        except SimulatedTimeout as exc:
            # As PTB's HTTPXRequest says it: the request was written, no answer came in time.
            raise TimedOut("Timed out (simulated)") from httpx.ReadTimeout(
                "simulated: accepted, answered late" if exc.accepted else "simulated"
            )
        except SimulatedConnectError:
            error = httpx.ConnectError("simulated: connection refused")
            raise NetworkError(f"httpx.ConnectError: {error}") from error
        return status, json.dumps(body).encode()


class LocalBotAPIServer:
    """The same LocalBotAPI over real HTTP on 127.0.0.1 (tornado, in the running loop)."""

    def __init__(self, api: LocalBotAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        self.port = port
        self.url = ""
        self._server: Any = None

    async def start(self) -> str:
        """Start serving and return the root URL, e.g. http://127.0.0.1:PORT."""
        from tornado.httpserver import HTTPServer
        from tornado.netutil import bind_sockets
        from tornado.web import Application

        app = Application([
            (r"/file/bot([^/]+)/(.+)", _FileHandler, {"api": self.api}),
            (r"/bot([^/]+)/([A-Za-z]+)", _MethodHandler, {"api": self.api}),
        ])
        sockets = bind_sockets(self.port, self.host)
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)
        self.url = f"http://{self.host}:{self.port}"
        return self.url

    async def stop(self) -> None:
        """Stop serving and close open connections."""
        self.api.close()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    async def __aenter__(self) -> LocalBotAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _handlers() -> tuple[type, type]:
    from tornado.web import RequestHandler

    class MethodHandler(RequestHandler):
        def initialize(self, api: LocalBotAPI) -> None:
            self.api = api

        async def get(self, token: str, method: str) -> None:
            await self.post(token, method)

        async def post(self, token: str, method: str) -> None:
            raw: dict[str, Any] = {}
            content_type = self.request.headers.get("Content-Type", "")
            if content_type.startswith("application/json") and self.request.body:
                raw = json.loads(self.request.body)
                params = raw
            else:
                for key, values in self.request.arguments.items():
                    raw[key] = values[-1].decode()
                if not raw and self.request.body and "multipart" not in content_type:
                    raw = dict(parse_qsl(self.request.body.decode()))
                params = decode_params(raw)
            files = {
                name: (parts[0].filename, parts[0].body)
                for name, parts in self.request.files.items() if parts
            }
            try:
                status, body = await self.api.handle(token, method, params, files)
            except SimulatedTimeout as exc:
                if exc.accepted:
                    await asyncio.sleep(self.api.slow_accept_delay)
                    status, body = exc.status, exc.body
                else:
                    await asyncio.sleep(self.api.timeout_delay)
                    status = 504
                    body = {"ok": False, "error_code": 504, "description": "Gateway Timeout"}
            except SimulatedConnectError:
                status = 503
                body = {"ok": False, "error_code": 503, "description": "Service Unavailable"}
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(body))

    class FileHandler(RequestHandler):
        def initialize(self, api: LocalBotAPI) -> None:
            self.api = api

        def get(self, token: str, path: str) -> None:
            content = self.api.file_by_path(path)
            if content is None:
                self.set_status(404)
                self.finish("Not Found")
                return
            self.finish(content)

    return MethodHandler, FileHandler


_MethodHandler, _FileHandler = _handlers()
