"""The Bot API methods themselves, in memory: `LocalBotAPI.handle` answers one call."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any

from bot.localapi.calls import (
    _METHODS,
    MAX_CAPTION,
    MAX_TEXT,
    ApiError,
    Call,
    SimulatedConnectError,
    SimulatedTimeout,
    _chat_id_of,
    _require_chat,
)
from bot.localapi.failures import FailingApi


class LocalBotAPI(FailingApi):
    """The Bot API's behaviour, in memory, independent of any transport."""

    async def wait_for(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 15.0,
    ) -> list[Call]:
        """Wait until `count` successful calls of `method` (to `chat_id`) are recorded."""

        found: list[Call] = []
        seen = 0  # calls are only appended, each with its final status: look at new ones

        def matching() -> list[Call]:
            nonlocal seen
            calls = self.calls
            for i in range(seen, len(calls)):
                c = calls[i]
                if c.ok and c.method == method and (
                        chat_id is None or _chat_id_of(c.params) == chat_id):
                    found.append(c)
            seen = len(calls)
            return found

        try:
            async with asyncio.timeout(timeout):
                await self._until(lambda: len(matching()) >= count)
        except TimeoutError:
            recent = ", ".join(f"{c.method}({_chat_id_of(c.params)})" for c in self.calls[-8:])
            raise TimeoutError(
                f"waited {timeout}s for {count} {method} to {chat_id}; "
                f"got {len(matching())}. Recent calls: {recent or 'none'}"
            ) from None
        return list(matching())

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
        stored = self._messages.setdefault(chat_id, {})
        stored[message_id] = message
        if self.keep is not None and len(stored) > self.keep:
            del stored[min(stored)]
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
