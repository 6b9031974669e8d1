"""The Bot API stand-in behaves like Telegram where the bot can tell the difference."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut

from bot.localapi import LocalBotAPI, LocalBotAPIServer, LocalRequest
from tests.utils.harness import TEST_TOKEN


@pytest.fixture
def api() -> LocalBotAPI:
    return LocalBotAPI()


@pytest.fixture
async def bot(api: LocalBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TEST_TOKEN, request=LocalRequest(api)) as bot:
        yield bot


@pytest.fixture
async def http_bot(api: LocalBotAPI) -> AsyncIterator[Bot]:
    async with LocalBotAPIServer(api) as server:
        bot = Bot(TEST_TOKEN, base_url=f"{server.url}/bot", base_file_url=f"{server.url}/file/bot")
        async with bot:
            yield bot


@pytest.mark.parametrize(
    ("error", "exception", "fragment"),
    [
        ("retry_after", RetryAfter, "Flood control exceeded"),
        ("forbidden", Forbidden, "blocked by the user"),
        ("bad_request", BadRequest, "(?i)simulated failure"),
        ("timeout", TimedOut, "Timed out"),
    ],
)
async def test_injected_failures_reach_ptb_as_telegram_errors_then_clear(
    bot: Bot, api: LocalBotAPI, error: str, exception: type[Exception], fragment: str
) -> None:
    api.user(11)
    api.fail("sendMessage", error, chat_id=11, retry_after=7)
    with pytest.raises(exception, match=fragment) as excinfo:
        await bot.send_message(11, "hola")
    if isinstance(excinfo.value, RetryAfter):
        assert excinfo.value.retry_after == timedelta(seconds=7)
    assert api.messages(11) == []
    await bot.send_message(11, "hola")
    assert [m["text"] for m in api.messages(11)] == ["hola"]


async def test_failure_rules_match_only_their_chat(bot: Bot, api: LocalBotAPI) -> None:
    api.fail("sendMessage", "forbidden", chat_id=12)
    await bot.send_message(13, "a otra persona")
    with pytest.raises(Forbidden):
        await bot.send_message(12, "bloqueado")
    assert len(api.messages(13)) == 1


async def test_over_long_text_is_refused_like_telegram(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(14, "x" * 4097)


async def test_edit_with_same_content_is_not_modified(bot: Bot, api: LocalBotAPI) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Ver", callback_data="v:1")]])
    sent = await bot.send_message(15, "uno", reply_markup=markup)
    await bot.edit_message_text("dos", chat_id=15, message_id=sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "dos", chat_id=15, message_id=sent.message_id, reply_markup=markup
        )
    [shown] = api.messages(15)
    assert shown["text"] == "dos"
    assert shown["reply_markup"]["inline_keyboard"][0][0]["text"] == "Ver"


async def test_documents_go_both_ways_over_http(http_bot: Bot, api: LocalBotAPI) -> None:
    await http_bot.send_document(16, b"codigo,nombre\n1,Parque\n", filename="obras.csv",
                                 caption="Exportación")
    [call] = api.calls_to(16, ["sendDocument"])
    assert call.token == TEST_TOKEN
    assert call.files["document"] == ("obras.csv", b"codigo,nombre\n1,Parque\n")
    update = api.user(16).send_document("metas.csv", b"a;b\n1;2\n", enqueue=False)
    file = await http_bot.get_file(update["message"]["document"]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"a;b\n1;2\n"


async def test_get_updates_confirms_with_offset_and_never_repeats(
    http_bot: Bot, api: LocalBotAPI
) -> None:
    user = api.user(17)
    user.send_text("/start")
    user.send_text("hola")
    first = await http_bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["/start", "hola"]
    assert first[0].message and first[0].message.entities[0].type == "bot_command"
    again = await http_bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert again == ()


async def test_tap_names_the_available_buttons_when_missing(bot: Bot, api: LocalBotAPI) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Sí", callback_data="s")]])
    await bot.send_message(18, "¿Confirma?", reply_markup=markup)
    user = api.user(18)
    assert user.tap("Sí", enqueue=False)["callback_query"]["data"] == "s"
    with pytest.raises(LookupError, match="available: \\['Sí'\\]"):
        user.tap("No")
