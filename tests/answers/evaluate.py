"""Ask the labelled questions through the real bot and score the first replies.

Each question is typed by a new person (a follow-up pair by one person), through the fake
Bot API, and its first reply is checked for every expected fact (`facts.resolve`), for any
text it must not hold, and for a button. Used by `tests/answers/test_labelled.py` and by
`python -m bench.answers`, which prints the table.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.localapi import LocalBotAPI
from storage.db import Database
from tests.answers.facts import folded, resolve

HERE = Path(__file__).parent
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Outcome:
    """How one labelled question was answered."""

    id: str
    intent: str
    question: str
    ok: bool
    reply: str
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0


def load_set(name: str) -> list[dict[str, Any]]:
    """Read a labelled set from this folder (`labelled.yaml`, `labelled_otra.yaml`)."""
    entries: list[dict[str, Any]] = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    return entries


def _visible(text: str) -> str:
    """Return a reply as the person reads it: tags out, entities back."""
    plain = _TAG.sub("", text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace(
        "&#x27;", "'").replace("&amp;", "&")


def _labels(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {}
    return [b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row]


async def _first_reply(api: LocalBotAPI, user_id: int, text: str) -> dict[str, Any]:
    """Send `text` as `user_id` and return the first message the bot sends back."""
    before = sum(1 for c in api.calls if c.ok and c.method == "sendMessage"
                 and c.params.get("chat_id") == user_id)
    api.user(user_id).send_text(text)
    calls = await api.wait_for("sendMessage", chat_id=user_id, count=before + 1)
    return calls[before].params


async def evaluate(entries: list[dict[str, Any]], api: LocalBotAPI, db: Database, *,
                   tz: ZoneInfo, first_user: int = 900_000) -> list[Outcome]:
    """Ask every entry's question through the running bot and score its first reply."""
    outcomes = []
    async with db.session() as session:
        expected = {i: [await resolve(e, session, tz=tz) for e in entry.get("expect") or []]
                    for i, entry in enumerate(entries)}
    for i, entry in enumerate(entries):
        user = first_user + i
        if entry.get("after"):
            await _first_reply(api, user, str(entry["after"]))
        started = time.perf_counter()
        params = await _first_reply(api, user, str(entry["q"]))
        seconds = time.perf_counter() - started
        shown = folded(_visible(params.get("text", "")))
        missing = [e for e in expected[i] if folded(e) not in shown]
        missing += [f"no: {n}" for n in entry.get("not") or [] if folded(n) in shown]
        button = entry.get("button")
        if button and not any(folded(str(button)) in folded(b) for b in _labels(params)):
            missing.append(f"botón: {button}")
        outcomes.append(Outcome(str(entry["id"]), str(entry["intent"]), str(entry["q"]),
                                not missing, params.get("text", ""), missing, seconds))
    return outcomes


def by_intent(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """Return (right, asked) per intent, and «total»."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for outcome in outcomes:
        for key in (outcome.intent, "total"):
            table[key][0] += outcome.ok
            table[key][1] += 1
    return {k: (v[0], v[1]) for k, v in table.items()}


def report(title: str, outcomes: list[Outcome], *, misses: int = 40) -> str:
    """Return the accuracy table per intent and the first misses, as text."""
    lines = [f"{title}", f"{'intent':<14}{'right':>7}{'asked':>7}{'%':>8}"]
    table = by_intent(outcomes)
    for intent in sorted(table, key=lambda k: (k == "total", k)):
        right, asked = table[intent]
        lines.append(f"{intent:<14}{right:>7}{asked:>7}{100 * right / asked:>7.1f}%")
    wrong = [o for o in outcomes if not o.ok]
    if wrong:
        lines.append(f"misses ({len(wrong)}):")
    for outcome in wrong[:misses]:
        reply = " ".join(_visible(outcome.reply).split())[:160]
        lines.append(f"  [{outcome.id}] {outcome.question}\n      falta {outcome.missing}"
                     f"\n      → {reply}")
    return "\n".join(lines)
