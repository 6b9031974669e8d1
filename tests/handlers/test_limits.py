"""Fair scheduling: one person's flood of messages or taps never stalls anyone else.

Time is a fake clock where the wait matters, and the flood test asserts order, not speed:
the neighbour's answer comes before the flood's 100th handled tap.
"""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from bot.throttle import RateLimiter

FLOODER, NEIGHBOUR, STAFF = 520, 521, 1000  # 1000 is in the tests' ADMIN_IDS
TOO_MANY = "Está enviando muchos mensajes seguidos. Podrá seguir en "


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _texts(api: LocalBotAPI, chat: int) -> list[str]:
    return [c.params["text"] for c in api.calls_to(chat, {"sendMessage"}) if c.ok]


async def _flood(bot: CabildoApp, api: LocalBotAPI, taps: int) -> None:
    """Queue `taps` taps of FLOODER on one menu button, then the neighbour's /start."""
    flooder = api.user(FLOODER)
    flooder.send_text("/menu")
    [menu] = await api.wait_for("sendMessage", chat_id=FLOODER)
    menu_id = menu.response["result"]["message_id"]
    raws = [flooder.tap("menu:metas", message_id=menu_id, enqueue=False) for _ in range(taps)]
    raws.append(api.user(NEIGHBOUR).send_text("/start", enqueue=False))
    for raw in raws:  # all queued at once, the neighbour last
        await bot.update_queue.put(Update.de_json(raw, bot.bot))


@pytest.mark.slow
@pytest.mark.http  # written around the pace of HTTP round trips
async def test_500_taps_from_one_chat_do_not_delay_another_persons_start(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    # No per-person limit here: every tap runs its handler, as 500 people's taps would.
    bot.bot_data.limiter = RateLimiter(100_000)
    await _flood(bot, api, 500)
    [welcome] = await api.wait_for("sendMessage", chat_id=NEIGHBOUR)
    handled = [c for c in api.calls[: api.calls.index(welcome)]
               if c.method == "answerCallbackQuery"]
    assert len(handled) < 100  # it held all 64 slots, waiting on its own chat, until now
    await api.wait_for("answerCallbackQuery", count=500, timeout=120)


async def test_taps_count_in_the_per_person_limit_and_the_flood_is_told_once(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    await _flood(bot, api, 500)
    await api.wait_for("sendMessage", chat_id=NEIGHBOUR)
    answers = await api.wait_for("answerCallbackQuery", count=500, timeout=60)
    told = [a for a in answers if (a.params.get("text") or "").startswith(TOO_MANY)]
    assert len(told) == 1  # once, then the button only stops spinning
    acted = [c for c in api.calls_to(FLOODER) if c.method != "answerCallbackQuery"]
    # /menu cost 2 of the 40 a minute; a tap costs 1: 38 taps opened the goals.
    assert len(acted) == 1 + 38


async def _handle(bot: CabildoApp, raw: dict[str, Any]) -> None:
    await bot.process_update(Update.de_json(raw, bot.bot))


async def test_refused_messages_do_not_extend_the_wait_and_are_answered_once(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    clock = Clock()
    bot.bot_data.limiter = RateLimiter(20, clock=clock)
    person = api.user(FLOODER)
    for _ in range(20):
        await _handle(bot, person.send_text("/ayuda", enqueue=False))
    clock.now += 30
    for _ in range(10):  # refused: they must not push the wait further
        await _handle(bot, person.send_text("/ayuda", enqueue=False))
    texts = _texts(api, FLOODER)
    assert len(texts) == 21
    assert texts[-1] == TOO_MANY + "30 segundos."
    clock.now += 29
    await _handle(bot, person.send_text("/ayuda", enqueue=False))
    assert len(_texts(api, FLOODER)) == 21  # still waiting, and not told again
    clock.now += 1  # a minute after the first 20: free again
    await _handle(bot, person.send_text("/ayuda", enqueue=False))
    texts = _texts(api, FLOODER)
    assert len(texts) == 22 and "Cómo usar Cabildo" in texts[-1]


async def test_staff_get_a_higher_limit(bot: CabildoApp, api: LocalBotAPI) -> None:
    bot.bot_data.limiter = RateLimiter(20, clock=Clock())
    for chat in (STAFF, FLOODER):
        for _ in range(30):
            await _handle(bot, api.user(chat).send_text("/ayuda", enqueue=False))
    assert not any(t.startswith(TOO_MANY) for t in _texts(api, STAFF))
    assert len(_texts(api, STAFF)) == 30
    assert [t.startswith(TOO_MANY) for t in _texts(api, FLOODER)] == [False] * 20 + [True]


def test_windows_of_people_quiet_for_a_minute_are_dropped() -> None:
    clock = Clock()
    limiter = RateLimiter(20, clock=clock)
    for person in range(20_000):
        limiter.take(limiter.window(person), 2)
    muted = limiter.window(7)
    while limiter.take(muted, 2).allowed:
        pass
    assert limiter.tracked == 20_000
    clock.now += 61
    limiter.window(1)  # any update a minute later sweeps the quiet ones
    assert limiter.tracked == 1
