"""`cabildo chat`: the local conversation shows the menu and taps buttons by number."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from bot.chat import Seen, Transcript, _watch, html_to_text, run_chat
from bot.config import Settings
from bot.localapi import Call, LocalBotAPI
from storage.db import Database
from storage.demo import load_demo


async def test_chat_shows_the_menu_and_number_taps_a_button(
    settings: Settings, db: Database
) -> None:
    async with db.session() as s:
        await load_demo(s, tz=settings.tz)
    out = io.StringIO()
    status = await run_chat(settings, lines=["1", "/ayuda", "9", "hola", "/salir"], out=out)
    text = out.getvalue()
    assert status == 0
    assert "Cabildo › 👋 Hola, Ana. Soy Cabildo" in text
    assert "[1] 🎯 Metas del plan   [2] 💰 Presupuesto" in text
    assert "Cabildo (actualizó) › 🎯 Metas del plan de desarrollo" in text
    assert "1. Bucaramanga equitativa e incluyente: una ciudad de bienestar: 14 metas" in text
    assert "/metas — cómo van las metas del plan de desarrollo" in text
    assert "🔔 Alertas" in text.split("tú › 9", 1)[1]  # 9th button of the last keyboard
    assert "¡Hola! Pregúnteme por una obra" in text
    assert text.rstrip().endswith("Hasta pronto.")


async def test_chat_explains_a_bad_button_number_and_location_syntax(
    settings: Settings, db: Database
) -> None:
    out = io.StringIO()
    await run_chat(settings, lines=["99", "/ubicacion aquí", "/archivo"], out=out)
    text = out.getvalue()
    assert "(no hay botón 99; elija de 1 a 11)" in text
    assert "/ubicacion 7.1193,-73.1227" in text
    assert "/archivo RUTA" in text


async def test_chat_refuses_a_database_without_schema(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'vacia.db'}")
    assert await run_chat(settings, lines=[], out=io.StringIO()) == 1


def test_html_is_rendered_as_plain_text() -> None:
    assert html_to_text('<b>Obra</b> &amp; <a href="https://x.co/a?b=1&amp;c=2">SECOP</a>') == (
        "Obra & SECOP (https://x.co/a?b=1&c=2)"
    )


async def test_what_reaches_the_person_between_messages_is_printed_with_its_buttons() -> None:
    api = LocalBotAPI()
    out = io.StringIO()
    transcript = Transcript(out, Path("chat-files"))
    seen = Seen(0)
    watcher = asyncio.create_task(_watch(api, 5, transcript, seen, prompt="tú › "))
    try:
        markup = {"inline_keyboard": [[{"text": "📝 Responder la encuesta",
                                        "callback_data": "enc:o:evaluacion-audiencia"}]]}
        api.calls.append(Call("sendMessage", {"chat_id": 77, "text": "Para otra persona"}))
        api.calls.append(Call("sendMessage", {"chat_id": 5, "text": "🙏 <b>Gracias</b> por ir",
                                              "reply_markup": markup}))
        async with asyncio.timeout(5):
            while "Gracias" not in out.getvalue():
                await asyncio.sleep(0.05)
    finally:
        watcher.cancel()
    text = out.getvalue()
    assert "Cabildo › 🙏 Gracias por ir" in text and "[1] 📝 Responder la encuesta" in text
    assert "Para otra persona" not in text
    assert text.endswith("tú › ")
    assert transcript.buttons[0][1]["callback_data"] == "enc:o:evaluacion-audiencia"
