"""Callback data: one frozen dataclass per button action, encoded once and decoded once.

An action declares its prefix and its fields; `encode()` writes `prefix:field:field…`
(refusing anything over Telegram's 64 bytes) and `decode()` reads it back, or returns None
for data that is not this action's. `on_press(Action, callback)` is the PTB handler for
one action: it answers the tap, decodes the data once and calls
`callback(update, context, action)`. The strings are the ones the buttons always carried,
so a button sent before a deploy keeps working after it.

Fields are `int` (0 to 2³¹ − 1), `str` or a `Literal` of strings. Only the last field may
hold a `:`; a last `str` field with a default is left out when it has that value
(`obra:w:<codigo>` and `obra:w:<codigo>:c:4:2` are the same action). Data no action
decodes goes to the area's `on_stale` handler, or else to `handlers.fallback.stale_button`.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal, TypeVar

from telegram import InlineKeyboardButton, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.context import CabildoContext

__all__ = ["MAX_CALLBACK_BYTES", "MAX_INT", "CallbackData", "button", "on_press", "on_stale"]

MAX_CALLBACK_BYTES = 64
MAX_INT = 2**31 - 1  # a forged id past this would fail in PostgreSQL, not just not be found

A = TypeVar("A", bound="CallbackData")


class CallbackData:
    """Base of every button action; subclasses are frozen dataclasses with a `prefix`."""

    prefix: ClassVar[str]

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.prefix = prefix

    def encode(self) -> str:
        """Return this action as callback data, at most 64 bytes."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        values = [str(getattr(self, f.name)) for f in fields]
        while values and fields[len(values) - 1].default == values[-1] == "":
            values.pop()
        if any(":" in v for v in values[:-1]):
            raise ValueError(f"only the last field may hold ':': {self!r}")
        data = ":".join([self.prefix, *values])
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def decode(cls: type[A], data: object) -> A | None:
        """Return the action `data` encodes, or None when it is not one of this class."""
        # Every action's handler is asked about every tap: most answer no right here.
        if not isinstance(data, str) or not data.startswith(cls.prefix):
            return None
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        if data == cls.prefix:
            parts: list[str] = []
        elif data.startswith(cls.prefix + ":") and fields:
            parts = data[len(cls.prefix) + 1:].split(":", len(fields) - 1)
        else:
            return None
        required = sum(1 for f in fields if f.default is dataclasses.MISSING)
        if not required <= len(parts) <= len(fields):
            return None
        hints = _hints(cls)
        try:
            values = [_parse(hints[f.name], part) for f, part in zip(fields, parts, strict=False)]
        except ValueError:
            return None
        return cls(*values)


def _hints(cls: type) -> dict[str, Any]:
    """Return the field types of `cls` (cached: decoding runs on every tap)."""
    cached: dict[str, Any] | None = cls.__dict__.get("_hints")
    if cached is None:
        cached = typing.get_type_hints(cls)
        cls._hints = cached  # type: ignore[attr-defined]
    return cached


def _parse(kind: Any, text: str) -> object:
    """Return `text` as a value of `kind`, raising ValueError when it is not one."""
    if kind is int:  # ids, pages, positions: never negative, and a database INTEGER
        if not (text.isascii() and text.isdigit() and int(text) <= MAX_INT):
            raise ValueError(text)
        return int(text)
    if typing.get_origin(kind) is Literal:
        if text not in typing.get_args(kind):
            raise ValueError(text)
        return text
    if kind is str:
        return text
    raise TypeError(f"unsupported callback field type {kind!r}")


def button(text: str, action: CallbackData | str) -> InlineKeyboardButton:
    """Return an inline button carrying `action` (or a plain data string such as a menu's)."""
    data = action if isinstance(action, str) else action.encode()
    return InlineKeyboardButton(text, callback_data=data)


class _Press(CallbackQueryHandler[CabildoContext, None]):
    """A CallbackQueryHandler whose check result is the decoded action."""

    def __init__(
        self,
        kind: type[A],
        callback: Callable[[Update, CabildoContext, A], Awaitable[None]],
        answer: bool,
    ) -> None:
        self.on_action: Callable[[Update, CabildoContext, Any], Awaitable[None]] = callback
        self.answers = answer
        self.kind: type[CallbackData] = kind
        # PTB hands whatever the pattern returns to handle_update as `check_result`.
        super().__init__(self._unused, pattern=kind.decode)  # type: ignore[arg-type]

    def check_update(self, update: object) -> object | None:
        """The decoded action, or None: every tap is offered to every action's handler, so
        the ones it is not for say no in a few attribute reads."""
        query = update.callback_query if isinstance(update, Update) else None
        data = query.data if query is not None else None
        if not isinstance(data, str) or not data.startswith(self.kind.prefix):
            return None
        return self.kind.decode(data)

    async def _unused(self, update: Update, context: CabildoContext) -> None:
        raise AssertionError("handle_update calls on_action directly")  # pragma: no cover

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, CabildoContext, Any, Any, Any, Any],
        check_result: object,
        context: CabildoContext,
    ) -> None:
        """Answer the tap (unless the action answers itself) and run the callback."""
        query = update.callback_query
        if self.answers and query is not None:
            await query.answer()
        await self.on_action(update, context, check_result)


def on_press(
    kind: type[A],
    callback: Callable[[Update, CabildoContext, A], Awaitable[None]],
    *,
    answer: bool = True,
    gone: Callable[[Update, CabildoContext], Awaitable[None]] | None = None,
) -> CallbackQueryHandler[CabildoContext, None]:
    """Return the handler running `callback(update, context, action)` for `kind`'s buttons.

    `answer=False` leaves answering the tap to the callback (a toast such as «Siguiendo»).
    With `gone`, a LookupError or ValueError from the callback (the row or page the button
    names no longer exists) calls `gone(update, context)` instead: the area's polite answer.
    """
    if gone is None:
        return _Press(kind, callback, answer)
    on_gone = gone

    async def guarded(update: Update, context: CabildoContext, action: A) -> None:
        try:
            await callback(update, context, action)
        except (LookupError, ValueError):
            await on_gone(update, context)

    return _Press(kind, guarded, answer)


def on_stale(
    prefix: str, callback: Callable[[Update, CabildoContext], Awaitable[None]],
    *, answer: bool = True,
) -> CallbackQueryHandler[CabildoContext, None]:
    """Return the catch-all for `prefix` data no action decodes: a stale or forged button.

    Added after the area's actions, it answers the tap (unless `answer=False`: `callback`
    answers with a notice) and lets `callback` say so in the area's own words; data of no
    area at all reaches `handlers.fallback.stale_button`.
    """

    async def answered(update: Update, context: CabildoContext) -> None:
        if answer and update.callback_query is not None:
            await update.callback_query.answer()
        await callback(update, context)

    return CallbackQueryHandler(answered, pattern=rf"^{re.escape(prefix)}(:|$)")
