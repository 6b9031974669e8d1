"""Drive a real Application as citizens do: simulated people with scripts of updates, fed
through its `update_queue` and timed each until the Application finished with it (see
`bench.throughput`, `bench.memory`)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.localapi import LocalBotAPI
from bot.updates import update_from_json


class Driver:
    """Feeds updates through an Application's update_queue and times each one to completion."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.app = app
        self._pending: dict[int, asyncio.Future[float]] = {}
        processor = app.update_processor
        original = processor.do_process_update

        async def timed(update: object, coroutine: Any) -> None:
            try:
                await original(update, coroutine)
            finally:
                if isinstance(update, Update):
                    future = self._pending.pop(update.update_id, None)
                    if future is not None and not future.done():
                        future.set_result(time.perf_counter())

        # PerChatUpdateProcessor has no __slots__, so the instance attribute wins.
        processor.do_process_update = timed  # type: ignore[method-assign]

    async def send(self, raw: dict[str, Any]) -> float:
        """Put one update on the queue; return ms until the Application finished it."""
        update = update_from_json(raw, self.app.bot)
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pending[update.update_id] = future
        started = time.perf_counter()
        await self.app.update_queue.put(update)
        finished = await asyncio.wait_for(future, timeout=120)
        return (finished - started) * 1000


# A step returns (kind, raw update) for a person, given what the bot showed them so far.
Step = Callable[["Person"], tuple[str, dict[str, Any]]]


class Person:
    """One simulated citizen with their own script of updates."""

    def __init__(self, api: LocalBotAPI, user_id: int, rng: random.Random) -> None:
        self.api = api
        self.user = api.user(user_id, f"Persona{user_id % 1000}")
        self.rng = rng
        self.missed_taps = 0

    def text(self, text: str, kind: str = "texto") -> tuple[str, dict[str, Any]]:
        """Send a text (a command when it starts with /)."""
        return kind, self.user.send_text(text, enqueue=False)

    def buttons(self, prefix: str) -> tuple[int, list[str]]:
        """Return (message id, callback data) of the newest message with matching buttons."""
        for message in reversed(self.api.messages(self.user.id)):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            found = [b["callback_data"] for row in rows for b in row
                     if str(b.get("callback_data", "")).startswith(prefix)]
            if found:
                return message["message_id"], found
        return 0, []

    def tap(self, *prefixes: str, last: bool = False) -> tuple[str, dict[str, Any]]:
        """Tap a button whose data starts with one of `prefixes` (fallback: /menu)."""
        for prefix in prefixes:
            message_id, found = self.buttons(prefix)
            if found:
                data = found[-1] if last else self.rng.choice(found)
                return "toque", self.user.tap(data, message_id=message_id, enqueue=False)
        self.missed_taps += 1
        return self.text("/menu", "comando")

    def question(self) -> tuple[str, dict[str, Any]]:
        """Ask a free-text question the way citizens type them."""
        from tests.storage.search_phrasings import ANSWERABLE, UNANSWERABLE

        if self.rng.random() < 0.2:
            return self.text(self.rng.choice(UNANSWERABLE), "pregunta")
        return self.text(self.rng.choice(ANSWERABLE)[0], "pregunta")

    def location(self) -> tuple[str, dict[str, Any]]:
        """Share a location somewhere in Bucaramanga."""
        lat = 7.10 + self.rng.random() * 0.05
        lon = -73.14 + self.rng.random() * 0.04
        return "ubicacion", self.user.send_location(lat, lon, enqueue=False)

    def survey(self) -> tuple[str, dict[str, Any]]:
        """Take the next survey action the bot's last message offers."""
        message_id, found = self.buttons("priv:acepto")
        newest = self._newest_keyboard_id()
        if found and message_id == newest:
            return "encuesta", self.user.tap(found[0], message_id=message_id, enqueue=False)
        message_id, found = self.buttons("enc:")
        if not found or message_id != newest:
            return self.text("Que arreglen las vías del barrio", "encuesta")
        answers = [d for d in found if d.startswith("enc:a:")]
        toggles = [d for d in found if d.startswith("enc:m:") and not d.endswith(":ok")]
        done = [d for d in found if d.startswith("enc:m:") and d.endswith(":ok")]
        starts = [d for d in found if d.startswith("enc:s:")]
        if answers:
            data = self.rng.choice(answers)
        elif done and self._mask(done[0]):
            data = done[0]  # something is chosen: confirm with «Listo»
        elif toggles:
            data = self.rng.choice(toggles)
        elif starts:
            data = starts[0]
        else:
            intro = [d for d in found if d.startswith(("enc:i:", "enc:o:"))]
            data = self.rng.choice(intro) if intro else found[0]
        return "encuesta", self.user.tap(data, message_id=message_id, enqueue=False)

    @staticmethod
    def _mask(data: str) -> int:
        try:
            return int(data.split(":")[4])
        except (IndexError, ValueError):
            return 0

    def _newest_keyboard_id(self) -> int:
        for message in reversed(self.api.messages(self.user.id)):
            if (message.get("reply_markup") or {}).get("inline_keyboard"):
                return int(message["message_id"])
        return 0


async def drive(
    driver: Driver,
    people: list[Person],
    scripts: list[list[Step]],
    concurrency: int,
    total: int,
) -> dict[str, list[float]]:
    """Run every person's script, `concurrency` people at a time; stop after `total`.

    Return the latencies in ms by kind of update.
    """
    by_kind: dict[str, list[float]] = {}
    queue: asyncio.Queue[tuple[Person, list[Step]]] = asyncio.Queue()
    budget = [total]
    for i, person in enumerate(people):
        queue.put_nowait((person, scripts[i % len(scripts)]))

    async def worker() -> None:
        while not queue.empty():
            person, script = queue.get_nowait()
            for step in script:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
                kind, raw = step(person)
                by_kind.setdefault(kind, []).append(await driver.send(raw))
            person.api.forget_chat(person.user.id)  # (Telegram's memory, not the bot's)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return by_kind
