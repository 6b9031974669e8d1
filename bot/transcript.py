"""What the local chat prints: the transcript of a conversation with the bot.

Messages the bot sends become plain terminal text, inline buttons are numbered (typing the
number taps the button), edits and changed buttons are shown as such, and files are saved
(`bot.chat` runs the conversation; this module only renders it).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from bot.localapi import Call
from storage.text import without_tags

BOT = "Cabildo › "
UPDATED = "Cabildo (actualizó) › "
BUTTONS_CHANGED = "Cabildo (cambió los botones; ahora los números son estos) ›"
BUTTONS_REMOVED = "Cabildo (quitó los botones de ese mensaje)"
TYPE_WITH_APOSTROPHE = (
    "   (Para escribir un número en vez de tocar un botón, póngale un apóstrofo delante: '5)"
)
UNNAMED = "application.octet-stream"  # what PTB calls a file sent as bare bytes
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)


def html_to_text(text: str) -> str:
    """Render Telegram HTML as plain terminal text (links keep their address)."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({html.unescape(m.group(1))})", text)
    return html.unescape(without_tags(text, ""))
_ASKS_TO_TYPE = re.compile(
    r"(?:^|[.?!:»)]\s+|\n)[^\w<]*(?:<[^>]+>)*(?:Ahora\s+)?[Ee]scriba\b"
)


def asks_to_type(text: str) -> bool:
    """Tell whether a message asks the person to type something: a sentence that starts
    with «Escriba…» («¿Cuántos cupos hay? Escriba un número»), not «…o escriba un comando»."""
    return _ASKS_TO_TYPE.search(text) is not None


class Button(NamedTuple):
    """One numbered button: how tapping it reaches the bot, and the message it belongs to."""

    kind: str  # "inline" (a callback or a link) or "reply" (sends its text)
    data: dict[str, Any]
    message_id: int | None


class Transcript:
    """Prints what the bot sent and remembers the numbered buttons of the last keyboard.

    `buttons` holds the numbered buttons; a button the bot has since taken away (its message
    edited or deleted) stays in place as None, so the other numbers keep their meaning.
    """

    def __init__(
        self, out: TextIO, files_dir: Path,
        stored_file: Callable[[str], tuple[str, bytes] | None] | None = None,
    ) -> None:
        self.out = out
        self.files_dir = files_dir
        self.stored_file = stored_file  # a file the bot sends by its id: name and bytes
        self.buttons: list[Button | None] = []
        # Whether the bot's newest message asks for a typed answer (no buttons and an
        # «Escriba…», like «¿Cuántos cupos hay? Escriba un número»): a number is then text.
        self.asks_for_text = False

    def say(self, text: str) -> None:
        """Write one block of text."""
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, calls: Iterable[Call], *, unprompted: bool = False) -> None:
        """Print the bot's successful calls in order and number any new buttons.

        `unprompted` calls (an alert, a broadcast, a freed place) arrive between the
        person's lines: they do not change whether the bot is waiting for a typed answer.
        """
        new_buttons: list[Button | None] = []
        gone: set[int] = set()  # messages whose buttons the bot took away
        for call in calls:
            if call.status != 200:
                continue
            p = call.params
            message_id = _message_id(call)
            if call.method == "editMessageReplyMarkup":
                markup = p.get("reply_markup")
                if _has_buttons(markup):
                    self.say(BUTTONS_CHANGED)
                elif self._shows(message_id):
                    self.say(BUTTONS_REMOVED)
            elif call.method in ("sendMessage", "editMessageText"):
                prefix = BOT if call.method == "sendMessage" else UPDATED
                self.say(prefix + html_to_text(str(p.get("text", ""))))
                if not unprompted:
                    self.asks_for_text = not _has_buttons(p.get("reply_markup")) and (
                        asks_to_type(str(p.get("text", ""))))
            elif call.method == "editMessageCaption":
                self.say(UPDATED + html_to_text(str(p.get("caption", ""))))
            elif call.method in ("sendPhoto", "sendDocument"):
                self._save_files(call)
                if p.get("caption"):
                    self.say("   " + html_to_text(str(p["caption"])))
            elif call.method == "sendVenue":
                self.say(
                    f"{BOT}📍 {p.get('title')} — {p.get('address')} "
                    f"({p.get('latitude')}, {p.get('longitude')})"
                )
            elif call.method == "sendLocation":
                self.say(f"{BOT}📍 ({p.get('latitude')}, {p.get('longitude')})")
            elif call.method == "answerCallbackQuery" and p.get("text"):
                self.say(f"   (aviso: {p['text']})")
                continue
            elif call.method == "deleteMessage":
                if message_id is not None:
                    gone.add(message_id)
                continue
            else:
                continue
            if call.method.startswith("edit") and message_id is not None:
                gone.add(message_id)  # whatever it had is replaced by what is printed below
                new_buttons = [
                    None if b is None or b.message_id == message_id else b for b in new_buttons
                ]
            shown = self._print_keyboard(p.get("reply_markup"), len(new_buttons), message_id)
            if shown and asks_to_type(str(p.get("text", ""))):
                # Asks for a typed answer and has buttons (e.g. «Escriba el número de la
                # pregunta original» with «Volver»): a bare number taps, so say how to type one.
                self.say(TYPE_WITH_APOSTROPHE)
            new_buttons.extend(shown)
        if any(new_buttons):
            self.buttons = new_buttons
        elif gone:
            self.buttons = [
                None if b is None or b.message_id in gone else b for b in self.buttons
            ]

    def _shows(self, message_id: int | None) -> bool:
        """Tell whether some numbered button belongs to this message."""
        return any(b is not None and b.message_id == message_id for b in self.buttons)

    def _print_keyboard(self, markup: Any, start: int, message_id: int | None) -> list[Button]:
        if not isinstance(markup, dict):
            return []
        kind = "inline" if "inline_keyboard" in markup else "reply"
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        found: list[Button] = []
        for row in rows:
            cells = []
            for button in row:
                button = button if isinstance(button, dict) else {"text": str(button)}
                found.append(Button(kind, button, message_id))
                label = button.get("text", "")
                if button.get("url"):
                    label += f" → {button['url']}"
                cells.append(f"[{start + len(found)}] {label}")
            self.say("   " + "   ".join(cells))
        return found

    def _save_files(self, call: Call) -> None:
        icon = "🖼️" if call.method == "sendPhoto" else "📎"
        files = dict(call.files or {})
        for field_name in ("photo", "document"):
            file_id = call.params.get(field_name)
            if field_name not in files and isinstance(file_id, str) and self.stored_file:
                found = self.stored_file(file_id)  # sent again by Telegram's file_id
                if found is not None:
                    files[field_name] = found
        for field_name, (filename, content) in files.items():
            try:
                target = self._write_file(filename, field_name, content, call.method)
            except OSError as exc:
                self.say(f"{BOT}{icon} (no pude guardar el archivo en {self.files_dir}: {exc})")
                continue
            self.say(f"{BOT}{icon} archivo guardado en {target}")

    def _write_file(self, filename: str, field_name: str, content: bytes, method: str) -> Path:
        """Save a file the bot sent under a readable name; never overwrite an earlier one."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        name = Path(filename or "").name
        if name in (".", "..", field_name, UNNAMED):
            name = ""  # the bot gave no name; PTB then sends "application.octet-stream"
        stem = Path(name).stem if name else ("grafico" if method == "sendPhoto" else "archivo")
        suffix = Path(name).suffix or _extension(content)
        counter = 0 if name else 1
        while True:
            target = self.files_dir / (f"{stem}-{counter}{suffix}" if counter else stem + suffix)
            try:
                with target.open("xb") as handle:
                    handle.write(content)
                return target
            except FileExistsError:
                counter += 1


def _message_id(call: Call) -> int | None:
    """Return the id of the message a call sent or changed, if known."""
    result = call.response.get("result") if isinstance(call.response, dict) else None
    if isinstance(result, dict) and isinstance(result.get("message_id"), int):
        return int(result["message_id"])
    value = call.params.get("message_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _has_buttons(markup: Any) -> bool:
    """Tell whether a reply markup carries at least one inline button."""
    return isinstance(markup, dict) and any(markup.get("inline_keyboard") or [])


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
    (b"%PDF", ".pdf"),
    (b"BEGIN:VCALENDAR", ".ics"),
    (b"PK\x03\x04", ".zip"),
)


def _extension(content: bytes) -> str:
    """Pick a file extension from the file's first bytes."""
    for magic, suffix in _MAGIC:
        if content.startswith(magic):
            if suffix == ".zip" and b"xl/" in content[:2000]:
                return ".xlsx"
            return suffix
    if content.startswith(b"\xef\xbb\xbf"):
        return ".csv" if b"," in content[:200] or b";" in content[:200] else ".txt"
    try:
        content[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return ".bin"
    return ".txt"
