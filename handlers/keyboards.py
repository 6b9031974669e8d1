"""The main menu keyboard, shared by every area that offers a way back."""

from __future__ import annotations

from functools import cache

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

# (label, area) in the order the 2020 diagnostic ranked citizens' interests:
# plan goals, finances, public works first.
MENU_ITEMS: tuple[tuple[str, str], ...] = (
    ("🎯 Metas del plan", "metas"),
    ("💰 Presupuesto", "presupuesto"),
    ("🏗️ Obras", "obras"),
    ("📑 Contratación", "contratacion"),
    ("📄 Informes", "informes"),
    ("📅 Agenda", "agenda"),
    ("📝 Encuestas", "encuestas"),
    ("❓ Preguntar", "preguntar"),
    ("🗳️ Presupuestos participativos", "presupuestos"),
    ("🔔 Alertas", "alertas"),
    ("ℹ️ Ayuda", "ayuda"),
)


@cache  # PTB's objects are frozen: one keyboard serves every chat
def main_menu() -> InlineKeyboardMarkup:
    """Return the main menu as two buttons a row."""
    buttons = [
        InlineKeyboardButton(label, callback_data=f"menu:{area}") for label, area in MENU_ITEMS
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


@cache
def back_to_menu() -> InlineKeyboardMarkup:
    """Return a single 'back to the menu' button."""
    button = InlineKeyboardButton("⬅️ Menú principal", callback_data="menu:inicio")
    return InlineKeyboardMarkup([[button]])


LOCATION_BUTTON = "📍 Enviar mi ubicación"
LOCATION_PROMPT = "📍 Para ver las obras cercanas, toque «📍 Enviar mi ubicación» abajo."


def location_keyboard() -> ReplyKeyboardMarkup:
    """The keyboard button that sends the person's location (Telegram asks for one only in a
    private chat; a message holds one keyboard, so it comes in a message of its own)."""
    return ReplyKeyboardMarkup([[KeyboardButton(LOCATION_BUTTON, request_location=True)]],
                               resize_keyboard=True, one_time_keyboard=True)
