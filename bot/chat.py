"""`cabildo chat`: talk to the real Application in the terminal, with no token and no network.

The Application is the same one `cabildo run` builds; only its transport differs: an
in-process Bot API stand-in (`bot.localapi`) records what the bot sends, and this module
prints it. Inline buttons are numbered; typing the number taps the button.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from telegram import Update

from bot.app import DatabaseNotReady, build_application, ensure_schema
from bot.config import Settings
from bot.localapi import Call, LocalBotAPI, LocalRequest

SITE = "🗺️  Mapa de obras, transparencia y datos abiertos: {url}mapa"
SITE_BUSY = (
    "(No pude abrir el sitio web en {host}:{port}: {error}. El chat sigue; cambie WEB_PORT.)"
)
BANNER = (
    "Chat local de Cabildo ({city}). Escriba como en Telegram.\n"
    "Un número toca el botón con ese número · /ubicacion 7.12,-73.12 envía una ubicación · "
    "/archivo RUTA envía un documento · /salir termina."
)
PROMPT = "tú › "
BOT = "Cabildo › "
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_LOCATION = re.compile(r"^/ubicaci[oó]n\s+(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$", re.I)


def html_to_text(text: str) -> str:
    """Render Telegram HTML as plain terminal text (links keep their address)."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({html.unescape(m.group(1))})", text)
    return html.unescape(_TAG.sub("", text))


class Transcript:
    """Prints what the bot sent and remembers the numbered buttons of the last keyboard."""

    def __init__(self, out: TextIO, files_dir: Path) -> None:
        self.out = out
        self.files_dir = files_dir
        self.buttons: list[tuple[str, dict[str, Any]]] = []  # (kind, button) kind: inline|reply

    def say(self, text: str) -> None:
        """Write one block of text."""
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, calls: Iterable[Call]) -> None:
        """Print the bot's successful calls in order and number any new buttons."""
        new_buttons: list[tuple[str, dict[str, Any]]] = []
        for call in calls:
            if call.status != 200:
                continue
            p = call.params
            if call.method in ("sendMessage", "editMessageText"):
                prefix = BOT if call.method == "sendMessage" else "Cabildo (actualizó) › "
                self.say(prefix + html_to_text(str(p.get("text", ""))))
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
            else:
                continue
            new_buttons.extend(self._print_keyboard(p.get("reply_markup"), len(new_buttons)))
        if new_buttons:
            self.buttons = new_buttons

    def _print_keyboard(self, markup: Any, start: int) -> list[tuple[str, dict[str, Any]]]:
        if not isinstance(markup, dict):
            return []
        kind = "inline" if "inline_keyboard" in markup else "reply"
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        found: list[tuple[str, dict[str, Any]]] = []
        for row in rows:
            cells = []
            for button in row:
                button = button if isinstance(button, dict) else {"text": str(button)}
                found.append((kind, button))
                label = button.get("text", "")
                if button.get("url"):
                    label += f" → {button['url']}"
                cells.append(f"[{start + len(found)}] {label}")
            self.say("   " + "   ".join(cells))
        return found

    def _save_files(self, call: Call) -> None:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        for field_name, (filename, content) in (call.files or {}).items():
            safe = Path(filename or field_name).name or field_name
            target = self.files_dir / safe
            counter = 1
            while target.exists():
                target = self.files_dir / f"{Path(safe).stem}-{counter}{Path(safe).suffix}"
                counter += 1
            target.write_bytes(content)
            icon = "🖼️" if call.method == "sendPhoto" else "📎"
            self.say(f"{BOT}{icon} archivo guardado en {target}")


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Read stdin in a daemon thread, so Ctrl+C never waits for a pending input()."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
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
    transcript = Transcript(out, Path(settings.chat_files_dir))
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
            update = _to_update(text, user, transcript)
            if update is None:
                continue
            async with seen.lock:
                transcript.show(_to_person(api.calls[seen.count:], user.id))
                await app.process_update(Update.de_json(update, app.bot))
                transcript.show(_to_person(api.calls[seen.count:], user.id))
                seen.count = len(api.calls)
        if watcher is not None:
            watcher.cancel()
        if live:
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
                transcript.show(new)
                if prompt:
                    transcript.out.write(prompt)
                    transcript.out.flush()


def _to_update(text: str, user: Any, transcript: Transcript) -> dict[str, Any] | None:
    """Turn a typed line into the update Telegram would send, or None if handled here."""
    if text.isdigit() and transcript.buttons:
        index = int(text) - 1
        if not 0 <= index < len(transcript.buttons):
            transcript.say(f"   (no hay botón {text}; elija de 1 a {len(transcript.buttons)})")
            return None
        kind, button = transcript.buttons[index]
        if button.get("url"):
            transcript.say(f"   (enlace: {button['url']})")
            return None
        if kind == "reply":
            return user.send_text(button.get("text", ""), enqueue=False)
        return user.tap(button.get("callback_data", ""), enqueue=False)
    match = _LOCATION.match(text)
    if match:
        lat, lon = float(match.group(1)), float(match.group(2))
        return user.send_location(lat, lon, enqueue=False)
    if text.lower().startswith("/ubicacion") or text.lower().startswith("/ubicación"):
        transcript.say("   (escriba la ubicación así: /ubicacion 7.1193,-73.1227)")
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
