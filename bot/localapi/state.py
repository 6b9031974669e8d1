"""What the fake Bot API remembers (people, groups, the bot's membership, messages, files,
the update queue), and the simulated people whose actions become updates."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from bot.localapi.calls import Call, _chat_id_of, _Failure


class ApiState:
    """The Bot API's memory: chats, messages, files, updates and the calls made."""

    def __init__(
        self,
        *,
        bot_id: int = 777000111,
        bot_username: str = "cabildo_local_bot",
        bot_name: str = "Cabildo",
        keep: int | None = None,
    ) -> None:
        """`keep`: remember only about the last `keep` calls and each chat's last `keep`
        messages (a long benchmark: what Telegram remembers is not the bot's memory, yet in
        this process every full collection of the garbage collector walks it); `refused`
        counts every refused call either way."""
        self.keep = keep
        self.refused = 0
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

    def forget_chat(self, chat_id: int) -> None:
        """Forget the bot's messages in a chat (a benchmark's person who is done: Telegram
        keeps them, but not in the bot's process)."""
        self._messages.pop(chat_id, None)

    def file_bytes(self, file_id: str) -> bytes:
        """Return the content of a stored file."""
        return self._files[file_id][1]

    def stored_file(self, file_id: str) -> tuple[str, bytes] | None:
        """Return the name and content of a stored file, or None if there is none."""
        found = self._files.get(file_id)
        return (found[0], found[1]) if found else None

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self.refused += not call.ok
        if self.keep is not None and len(self.calls) > 2 * self.keep:
            del self.calls[:-self.keep]
        self._notify()

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


class LocalUser:
    """A simulated person: builds the updates Telegram would send for what they do."""

    def __init__(
        self, api: ApiState, user_id: int, first_name: str, username: str | None,
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

    def send_contact(
        self, phone_number: str, *, user_id: int | None = -1, first_name: str | None = None,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """Share a contact: by default one's own (Telegram's «share my number» button);
        `user_id` another account's id, or None for a contact without Telegram."""
        contact: dict[str, Any] = {"phone_number": phone_number,
                                   "first_name": first_name or self.first_name}
        owner = self.id if user_id == -1 else user_id
        if owner is not None:
            contact["user_id"] = owner
        return self._emit("message", self._message(None, contact=contact), enqueue)

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
