"""`cabildo chat`: talk to the real Application in the terminal, with no token and no network.

The Application is the same one `cabildo run` builds; only its transport differs: an
in-process Bot API stand-in (`bot.localapi`) records what the bot sends, and this module
prints it. Inline buttons are numbered; typing the number taps the button. When the bot
changes only a message's buttons (a box ticked in a survey, «Seguir» turned into «Dejar de
seguir») the new buttons are printed and numbered afresh; a number whose button is gone gets
a note, never a crash. Files the bot sends are saved in `chat_files_dir` under their own
name, or `grafico-N.png` / `archivo-N.ext` when the bot gave none.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from telegram import Update

from bot.app import DatabaseNotReady, build_application, ensure_schema
from bot.config import Settings
from bot.localapi import Call, LocalBotAPI, LocalRequest
from storage.text import without_tags

log = logging.getLogger(__name__)

SITE = "🗺️  Mapa de obras, transparencia y datos abiertos: {url}mapa"
SITE_BUSY = (
    "(No pude abrir el sitio web en {host}:{port}: {error}. El chat sigue; cambie WEB_PORT.)"
)
BANNER = (
    "Chat local de Cabildo ({city}). Escriba como en Telegram.\n"
    "Un número toca el botón con ese número ('10 con apóstrofo lo envía como texto) · "
    "/ubicacion 7.12,-73.12 envía una ubicación · /archivo RUTA envía un documento · "
    "/salir termina."
)
PROMPT = "usted › "
BOT = "Cabildo › "
UPDATED = "Cabildo (actualizó) › "
BUTTONS_CHANGED = "Cabildo (cambió los botones; ahora los números son estos) ›"
BUTTONS_REMOVED = "Cabildo (quitó los botones de ese mensaje)"
BUTTON_GONE = "   (Ese botón ya no está. Toque uno de los números de arriba.)"
BUTTON_GONE_NONE = "   (Ese botón ya no está.)"  # and no other button is left to tap
TYPE_WITH_APOSTROPHE = (
    "   (Para escribir un número en vez de tocar un botón, póngale un apóstrofo delante: '5)"
)
NO_BUTTON = "   (no hay botón {number}; elija de 1 a {count})"
# A tap on a «📍 Enviar mi ubicación» button, and a /ubicacion without coordinates.
LOCATION_HOW = (
    "   (aquí la ubicación se escribe: /ubicacion latitud,longitud, por ejemplo "
    "/ubicacion 7.1193,-73.1227)"
)
LINE_FAILED = (
    "   (El chat local no pudo procesar «{text}»: {error}. Puede seguir escribiendo.)"
)
SHOW_FAILED = "   (El chat local no pudo mostrar un mensaje del bot: {error}.)"
UNNAMED = "application.octet-stream"  # what PTB calls a file sent as bare bytes
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_LOCATION = re.compile(r"^/ubicaci[oó]n\s+(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$", re.I)


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


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Read stdin in a daemon thread, so Ctrl+C never waits for a pending input()."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")  # a stray byte must not end the chat

    def reader() -> None:
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        except (OSError, ValueError):  # the terminal went away: end the chat normally
            log.debug("stdin failed", exc_info=True)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, daemon=True, name="cabildo-chat-stdin").start()
    return queue


async def run_chat(
    settings: Settings,
    *,
    user_id: int = 1,
    first_name: str = "Ana",
    lines: Iterable[str] | None = None,
    out: TextIO | None = None,
    live: bool = False,
) -> int:
    """Run a terminal conversation with the bot; return the exit status.

    `live` also runs what a real bot runs beside it — the web site, the outbox sender and
    the scheduler — and prints what reaches this person between their own messages (an
    answer to their question, an alert, a place freed on a waiting list).
    """
    out = out or sys.stdout
    api = LocalBotAPI()
    app = build_application(settings, request=LocalRequest(api))
    transcript = Transcript(out, Path(settings.chat_files_dir), api.stored_file)
    user = api.user(user_id, first_name)
    try:
        await ensure_schema(app.bot_data["db"])
    except DatabaseNotReady as exc:
        print(str(exc), file=sys.stderr)
        await app.bot_data["db"].dispose()
        return 1
    interactive = lines is None and sys.stdin.isatty()
    scripted = iter(lines) if lines is not None else None
    queue = _stdin_lines() if scripted is None else None
    if settings.log_level != "DEBUG":
        # The sender's and scheduler's INFO lines would break up the conversation.
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    site = await _start_site(app, settings, transcript) if live else None
    async with app:
        if live:
            assert app.post_init is not None
            await app.post_init(app)  # the outbox sender and the scheduled jobs
            await app.start()
        transcript.say(BANNER.format(city=settings.municipality_name))
        seen = Seen(len(api.calls))
        watcher = asyncio.create_task(
            _watch(api, user.id, transcript, seen, prompt=PROMPT if interactive else "")
        ) if live else None
        try:
            pending: str | None = "/start"
            while True:
                if pending is None:
                    if scripted is not None:
                        pending = next(scripted, None)
                    else:
                        if interactive:
                            out.write(PROMPT)
                            out.flush()
                        assert queue is not None
                        pending = await queue.get()
                    if pending is None:
                        break
                    if not interactive:
                        transcript.say(PROMPT + pending)
                text, pending = pending.strip(), None
                if not text:
                    continue
                if text.lower() in ("/salir", "/exit", "/quit"):
                    break
                try:
                    async with seen.lock:
                        update = _to_update(text, user, transcript)
                        if update is None:
                            continue
                        transcript.show(_to_person(api.calls[seen.count:], user.id))
                        seen.count = len(api.calls)
                        try:
                            await app.process_update(Update.de_json(update, app.bot))
                        finally:
                            transcript.show(_to_person(api.calls[seen.count:], user.id))
                            seen.count = len(api.calls)
                except Exception as exc:  # the chat must outlive anything one line does
                    log.debug("chat line %r failed", text, exc_info=True)
                    transcript.say(LINE_FAILED.format(text=text, error=_describe(exc)))
        finally:
            if watcher is not None:
                watcher.cancel()
            if live and app.running:
                await app.stop()
                assert app.post_stop is not None
                await app.post_stop(app)
    if site is not None:
        stop, task = site
        stop.set()
        await task
    await app.bot_data["db"].dispose()
    transcript.say("Hasta pronto.")
    return 0


async def _start_site(
    app: Any, settings: Settings, transcript: Transcript
) -> tuple[asyncio.Event, asyncio.Task[None]] | None:
    """Serve the map and transparency site beside the chat; None if its port is taken."""
    from web.server import serve_site

    # The chat prints the site's address itself; server start-up lines would interleave.
    for name in ("uvicorn.error", "web.server"):
        logging.getLogger(name).setLevel(logging.WARNING)
    stop, started = asyncio.Event(), asyncio.Event()

    def ready(url: str) -> None:
        transcript.say(SITE.format(url=url))
        started.set()

    web = settings.web
    task = asyncio.create_task(serve_site(app.bot_data["db"], settings, web.host, web.port,
                                          stop, ready=ready))
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        exc = task.exception()
        transcript.say(SITE_BUSY.format(host=web.host, port=web.port, error=exc))
        return None
    return stop, task


class Seen:
    """How many of the fake API's calls the person has been shown, and a lock to show more."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.lock = asyncio.Lock()


def _to_person(calls: list[Call], chat_id: int) -> list[Call]:
    """Keep the calls this person would see (not messages the bot sent other people)."""
    return [c for c in calls if c.params.get("chat_id") in (None, chat_id)]


async def _watch(
    api: LocalBotAPI, chat_id: int, transcript: Transcript, seen: Seen, *, prompt: str
) -> None:
    """Print what reaches the person while they are not typing (outbox, scheduler)."""
    while True:
        await asyncio.sleep(0.5)
        async with seen.lock:
            new = _to_person(api.calls[seen.count:], chat_id)
            seen.count = len(api.calls)
            if any(c.ok and c.method != "answerCallbackQuery" for c in new):
                transcript.say("")
                try:
                    transcript.show(new, unprompted=True)
                except Exception as exc:  # keep watching: one bad message must not end it
                    log.debug("showing a message failed", exc_info=True)
                    transcript.say(SHOW_FAILED.format(error=_describe(exc)))
                if prompt:
                    transcript.out.write(prompt)
                    transcript.out.flush()


def _describe(exc: BaseException) -> str:
    """Say in one line what went wrong, without a traceback."""
    detail = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0][:200]}" if detail else type(exc).__name__


def _to_update(text: str, user: Any, transcript: Transcript) -> dict[str, Any] | None:
    """Turn a typed line into the update Telegram would send, or None if handled here."""
    if text.startswith("'") and text[1:].strip():
        return user.send_text(text[1:].strip(), enqueue=False)  # a number meant as text
    if text.isdigit() and transcript.buttons and not transcript.asks_for_text:
        index = int(text) - 1
        if not 0 <= index < len(transcript.buttons):
            transcript.say(NO_BUTTON.format(number=text, count=len(transcript.buttons)))
            return None
        chosen = transcript.buttons[index]
        if chosen is None:
            transcript.say(BUTTON_GONE if any(transcript.buttons) else BUTTON_GONE_NONE)
            return None
        button = chosen.data
        if button.get("url"):
            transcript.say(f"   (enlace: {button['url']})")
            return None
        if chosen.kind == "reply" and button.get("request_location"):
            # Telegram would ask the phone for its location; here it is typed.
            transcript.say(LOCATION_HOW)
            return None
        if chosen.kind == "reply":
            return user.send_text(button.get("text", ""), enqueue=False)
        try:
            return user.tap(
                button.get("callback_data", ""), message_id=chosen.message_id, enqueue=False
            )
        except LookupError:  # the bot changed that message in a way the chat did not see
            transcript.say(BUTTON_GONE if any(transcript.buttons) else BUTTON_GONE_NONE)
            return None
    match = _LOCATION.match(text)
    if match:
        lat, lon = float(match.group(1)), float(match.group(2))
        return user.send_location(lat, lon, enqueue=False)
    if text.lower().startswith("/ubicacion") or text.lower().startswith("/ubicación"):
        transcript.say(LOCATION_HOW)
        return None
    if text.lower().startswith("/archivo"):
        parts = text.split(maxsplit=2)
        if len(parts) < 2 or not Path(parts[1]).is_file():
            transcript.say("   (escriba: /archivo RUTA [comentario], con la ruta de un archivo)")
            return None
        path = Path(parts[1])
        caption = parts[2] if len(parts) > 2 else None
        return user.send_document(
            path.name, path.read_bytes(), caption=caption, enqueue=False
        )
    return user.send_text(text, enqueue=False)
