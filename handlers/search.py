"""Any text that is not a command is a question: answer with the best matches, by kind.

The index is built from the database and rebuilt when the data changes (checked at most
once a minute, so imports show up within a minute); when nothing matches well the bot says
so plainly and offers the menu.
"""

from __future__ import annotations

import asyncio
import time
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import CabildoContext
from handlers.keyboards import main_menu
from handlers.paging import callback
from storage.budget import execution, latest_year
from storage.search import SearchIndex, build_index, data_version, tokens

# Every minute a cheap fingerprint of the data says whether to rebuild; past events leave the
# index at the latest after an hour.
CHECK_EVERY_SECONDS = 60.0
MAX_AGE_SECONDS = 3600.0
TITLES = {
    "meta": "🎯 Metas del plan",
    "obra": "🏗️ Obras",
    "presupuesto": "💰 Presupuesto",
    "evento": "📅 Eventos",
    "contratacion": "📑 Contratación",
    "pregunta": "❓ Respuestas",
}
FOUND = "Esto es lo que encontré sobre «{text}»:"
GREETING = "¡Hola! Pregúnteme por una obra, una meta o el presupuesto, o elija una opción:"
THANKS = "Con gusto. ¿Algo más? Elija una opción o escriba su pregunta:"
GREETING_WORDS = {
    "hola", "buenas", "buenos", "buen", "dia", "dias", "tardes", "noches", "gracias", "muchas",
    "mil", "ok", "vale", "saludos", "hey", "que", "tal", "como", "esta", "estas",
}
NOT_FOUND = (
    "No encontré información sobre «{text}» en los datos de la Alcaldía. "
    "Pruebe con otras palabras o elija una opción:"
)


async def _index(context: CabildoContext) -> SearchIndex:
    """Return the search index, rebuilt only when the data changed (one build at a time)."""
    lock: asyncio.Lock = context.bot_data.setdefault("search_lock", asyncio.Lock())
    async with lock:
        cached = context.bot_data.get("search_index")
        now = time.monotonic()
        if cached is not None and now - cached[0] < CHECK_EVERY_SECONDS:
            index: SearchIndex = cached[2]
            return index
        async with context.db.session() as session:
            version = await data_version(session)
            if cached is not None and cached[1] == version and now - cached[3] < MAX_AGE_SECONDS:
                context.bot_data["search_index"] = (now, version, cached[2], cached[3])
                return cached[2]
            index = await build_index(session)
        context.bot_data["search_index"] = (now, version, index, now)
        return index


def forget_index(context: CabildoContext) -> None:
    """Drop the cached index so the next question sees a change made just now."""
    context.bot_data.pop("search_index", None)


def _small_talk(text: str) -> str | None:
    """Return a reply to a bare greeting or thanks, or None if the text asks something."""
    words = set(tokens(text))
    if words and words <= GREETING_WORDS:
        return THANKS if words & {"gracias", "muchas", "mil"} else GREETING
    return None


async def answer_question(update: Update, context: CabildoContext) -> None:
    """Answer free text with the best matches across the data, or say nothing matched."""
    message = update.effective_message
    if message is None or not message.text:
        return
    text = message.text.strip()
    reply = _small_talk(text)
    if reply is not None:
        await message.reply_text(reply, reply_markup=main_menu())
        return
    shown = escape(text[:80])
    groups = (await _index(context)).grouped(text)
    if not groups:
        await message.reply_text(NOT_FOUND.format(text=shown), reply_markup=main_menu())
        return
    offices: list[str] = []
    if "presupuesto" in groups:
        async with context.db.session() as session:
            year = await latest_year(session)
            offices = [o.name for o in (await execution(session, vigencia=year))[1]] if year else []
    lines = [FOUND.format(text=shown)]
    rows: list[list[InlineKeyboardButton]] = []
    for kind, hits in groups.items():
        lines.append(f"\n<b>{TITLES[kind]}</b>")
        for hit in hits:
            lines.append(f"• {escape(hit.title[:120])}")
            data = None
            if kind == "meta":
                data = callback("meta", "g", hit.key)
            elif kind == "obra":
                data = callback("obra", "w", hit.key)
            elif kind == "contratacion" and len(hit.key) < 50:
                data = callback("contr", "p", hit.key)
            elif kind == "pregunta":
                data = callback("preg", "v", hit.key)
            elif kind == "presupuesto" and hit.key in offices:
                data = callback("ppto", "d", offices.index(hit.key))
            if data:
                rows.append([InlineKeyboardButton(hit.title[:60], callback_data=data)])
    rows.append([InlineKeyboardButton("🏠 Menú", callback_data="menu:inicio")])
    await message.reply_text("\n".join(lines)[:4000], reply_markup=InlineKeyboardMarkup(rows[:12]))
