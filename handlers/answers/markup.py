"""The buttons every answer ends with: its own, then the main menu."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MENU_ROW = [InlineKeyboardButton("🏠 Menú", callback_data="menu:inicio")]


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([*rows, MENU_ROW])
