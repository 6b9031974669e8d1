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
import io
import logging
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from bot.app import build_application, running
from bot.config import Settings
from bot.localapi import Call, LocalBotAPI, LocalRequest
from bot.transcript import Transcript
from bot.updates import update_from_json
from storage.ready import DatabaseNotReady, ensure_schema

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
BUTTON_GONE = "   (Ese botón ya no está. Toque uno de los números de arriba.)"
BUTTON_GONE_NONE = "   (Ese botón ya no está.)"  # and no other button is left to tap
NO_BUTTON = "   (no hay botón {number}; elija de 1 a {count})"
# A tap on a «📍 Enviar mi ubicación» button, and a /ubicacion without coordinates.
LOCATION_HOW = (
    "   (aquí la ubicación se escribe: /ubicacion latitud,longitud, por ejemplo "
    "/ubicacion 7.1193,-73.1227)"
)
CONTACT_SENT = "   (en el chat local se envía un número de prueba de esta cuenta)"
LINE_FAILED = (
    "   (El chat local no pudo procesar «{text}»: {error}. Puede seguir escribiendo.)"
)
SHOW_FAILED = "   (El chat local no pudo mostrar un mensaje del bot: {error}.)"
_LOCATION = re.compile(r"^/ubicaci[oó]n\s+(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$", re.I)
















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
        await ensure_schema(app.bot_data.db)
    except DatabaseNotReady as exc:
        print(str(exc), file=sys.stderr)
        await app.bot_data.db.dispose()
        return 1
    interactive = lines is None and sys.stdin.isatty()
    scripted = iter(lines) if lines is not None else None
    queue = _stdin_lines() if scripted is None else None
    if settings.log_level != "DEBUG":
        # The sender's and scheduler's INFO lines would break up the conversation.
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    site = await _start_site(app, settings, transcript) if live else None
    # Live, the outbox sender and the scheduled jobs run too (post_init).
    async with running(app, start=live):
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
                            await app.process_update(update_from_json(update, app.bot))
                        finally:
                            transcript.show(_to_person(api.calls[seen.count:], user.id))
                            seen.count = len(api.calls)
                except Exception as exc:  # the chat must outlive anything one line does
                    log.debug("chat line %r failed", text, exc_info=True)
                    transcript.say(LINE_FAILED.format(text=text, error=_describe(exc)))
        finally:
            if watcher is not None:
                watcher.cancel()
    if site is not None:
        stop, task = site
        stop.set()
        await task
    await app.bot_data.db.dispose()
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
    task = asyncio.create_task(serve_site(app.bot_data.db, settings, web.host, web.port,
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
        if chosen.kind == "reply" and button.get("request_contact"):
            # Telegram would send this account's own number; here a made-up one stands in.
            transcript.say(CONTACT_SENT)
            return user.send_contact(f"57300{user.id % 10_000_000:07d}", enqueue=False)
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
