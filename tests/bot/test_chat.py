"""`cabildo chat`: the local conversation shows the menu and taps buttons by number."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.chat import BUTTON_GONE, BUTTON_GONE_NONE, LOCATION_HOW, Seen, _to_update, _watch, run_chat
from bot.config import Settings
from bot.localapi import Call, LocalBotAPI, LocalUser
from bot.transcript import BUTTONS_CHANGED, Button, Transcript, html_to_text
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_bytes, import_file
from storage.models import PBVote, Survey, SurveyAnswer, SurveyResponse
from storage.privacy import give_consent
from tests.storage.helpers import csv_bytes

PNG = b"\x89PNG\r\n\x1a\n"


def _after(text: str, line: str, nth: int = 1) -> str:
    """Return what the transcript shows after the nth time the person typed `line`."""
    parts = text.split(f"usted › {line}\n")
    assert len(parts) > nth, f"{line!r} typed fewer than {nth} times"
    return parts[nth].split("usted › ", 1)[0]


async def test_chat_shows_the_menu_and_number_taps_a_button(
    settings: Settings, db: Database, demo_data: None
) -> None:
    out = io.StringIO()
    status = await run_chat(settings, lines=["1", "/ayuda", "9", "hola", "/salir"], out=out)
    text = out.getvalue()
    assert status == 0
    assert "Cabildo › 👋 Hola, Ana. Soy Cabildo" in text
    assert "[1] 🎯 Metas del plan   [2] 💰 Presupuesto" in text
    assert "Cabildo (actualizó) › 🎯 Metas del plan de desarrollo" in text
    assert "1. Bucaramanga equitativa e incluyente: una ciudad de bienestar: 14 metas" in text
    assert "/metas — cómo van las metas del plan de desarrollo" in text
    assert "🔔 Alertas" in text.split("usted › 9", 1)[1]  # 9th button of the last keyboard
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
    watcher = asyncio.create_task(_watch(api, 5, transcript, seen, prompt="usted › "))
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
    assert text.endswith("usted › ")
    first = transcript.buttons[0]
    assert first is not None and first.data["callback_data"] == "enc:o:evaluacion-audiencia"


async def test_a_number_whose_button_is_gone_gets_a_note_and_the_chat_goes_on(
    settings: Settings, db: Database
) -> None:
    out = io.StringIO()
    status = await run_chat(
        settings, user_id=161, lines=["/alertas", "2", "1", "/menu"], out=out
    )
    text = out.getvalue()
    assert status == 0
    assert "[1] ✅ Acepto   [2] No, gracias" in _after(text, "/alertas")
    assert "Cabildo (actualizó) › Entendido." in _after(text, "2")
    # The consent buttons were taken away, and no other button is left.
    assert _after(text, "1") == BUTTON_GONE_NONE + "\n"
    assert "[1] 🎯 Metas del plan" in _after(text, "/menu")  # the next line is answered
    assert "Traceback" not in text and "LookupError" not in text
    assert text.rstrip().endswith("Hasta pronto.")


def test_a_button_the_bot_changed_unseen_gets_the_same_note(tmp_path: Path) -> None:
    api = LocalBotAPI()
    out = io.StringIO()
    transcript = Transcript(out, tmp_path)
    transcript.buttons = [Button("inline", {"text": "Sí", "callback_data": "enc:r:1:1:0"}, 3)]
    assert _to_update("1", api.user(5), transcript) is None  # message 3 no longer exists
    assert out.getvalue() == BUTTON_GONE + "\n"


async def test_a_multiple_choice_survey_shows_the_new_buttons_and_can_be_finished(
    settings: Settings, db: Database, demo_data: None
) -> None:
    # The first response shows its chart (the chat saves it) when one response is enough.
    settings = dataclasses.replace(settings, survey_min_responses=1)
    lines = ["/encuestas", "1", "1", "1", "1",  # the survey, Empezar, Sí, Sí
             "2", "3", "8",  # question 3 (multiple): two options, then «Listo»
             "1", "2", "8", "1", "7",  # questions 4 and 5 (multiple)
             "4", "1", "Más datos de las obras"]  # scale, single choice, free text
    out = io.StringIO()
    assert await run_chat(settings, user_id=107, lines=lines, out=out) == 0
    text = out.getvalue()
    first_toggle = _after(text, "2", 1)
    assert first_toggle.startswith(BUTTONS_CHANGED + "\n   [1] ▫️ Audiencia pública\n")
    assert "[2] ✅ Feria de servicios" in first_toggle
    assert "[8] Listo ▶️ (1/3)" in first_toggle
    second_toggle = _after(text, "3", 1)
    assert "[2] ✅ Feria de servicios" in second_toggle
    assert "[3] ✅ Visitas de obra" in second_toggle
    assert "[8] Listo ▶️ (2/3)" in second_toggle
    assert "✔️ Feria de servicios; Visitas de obra" in _after(text, "8", 1)
    assert "pregunta 4 de 8" in _after(text, "8", 1)
    done = _after(text, "Más datos de las obras")
    assert "¡Gracias!" in done
    assert "grafico-1.png" in done
    assert "Traceback" not in text and "ya no está" not in text
    assert (Path(settings.chat_files_dir) / "grafico-1.png").read_bytes().startswith(PNG)
    async with db.session() as s:
        survey = (await s.exec(
            select(Survey).where(Survey.slug == "diagnostico-rendicion")
        )).one()
        response = (await s.exec(
            select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
        )).one()
        answers = (await s.exec(
            select(SurveyAnswer).where(SurveyAnswer.response_id == response.id)
        )).all()
    assert response.completed_at is not None
    assert len(answers) == 8


async def test_following_a_work_shows_the_unfollow_button(
    settings: Settings, db: Database, demo_data: None
) -> None:
    async with db.session() as s:
        await give_consent(s, telegram_id=108, chat_id=108)
        await s.commit()
    out = io.StringIO()
    await run_chat(settings, user_id=108, lines=["/obras", "1", "1", "1", "1"], out=out)
    text = out.getvalue()
    assert "[1] 🔔 Seguir esta obra" in _after(text, "1", 2)
    followed = _after(text, "1", 3)
    assert followed.startswith("   (aviso: ")
    assert BUTTONS_CHANGED + "\n   [1] 🔕 Dejar de seguir" in followed
    assert BUTTONS_CHANGED + "\n   [1] 🔔 Seguir esta obra" in _after(text, "1", 4)


async def test_the_location_button_says_how_to_send_a_location_here(
    settings: Settings, db: Database, demo_data: None
) -> None:
    out = io.StringIO()
    await run_chat(settings, user_id=109, lines=["/obras", "22", "/ubicacion 7.1193,-73.1227"],
                   out=out)
    text = out.getvalue()
    assert "[22] 📍 Enviar mi ubicación" in _after(text, "/obras")
    assert _after(text, "22") == LOCATION_HOW + "\n"
    assert "/ubicacion 7.1193,-73.1227" in LOCATION_HOW
    assert "Obras más cercanas a su ubicación" in _after(text, "/ubicacion 7.1193,-73.1227")


async def test_a_chart_is_saved_as_png_without_overwriting_earlier_files(
    settings: Settings, db: Database, demo_data: None
) -> None:
    files = Path(settings.chat_files_dir)
    files.mkdir(parents=True)
    (files / "grafico-1.png").write_bytes(b"de una conversacion anterior")
    out = io.StringIO()
    await run_chat(settings, lines=["/presupuesto", "2", "2"], out=out)
    text = out.getvalue()
    assert f"🖼️ archivo guardado en {files / 'grafico-2.png'}" in _after(text, "2", 1)
    assert f"🖼️ archivo guardado en {files / 'grafico-3.png'}" in _after(text, "2", 2)
    assert (files / "grafico-1.png").read_bytes() == b"de una conversacion anterior"
    assert (files / "grafico-2.png").read_bytes().startswith(PNG)
    assert (files / "grafico-3.png").read_bytes().startswith(PNG)
    assert sorted(p.name for p in files.iterdir()) == [
        "grafico-1.png", "grafico-2.png", "grafico-3.png"
    ]


def test_files_keep_the_bots_name_or_get_one_from_their_content(tmp_path: Path) -> None:
    transcript = Transcript(io.StringIO(), tmp_path)
    ics = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    for name, content in [("evento-7.ics", ics), ("evento-7.ics", ics),
                          ("application.octet-stream", b"%PDF-1.4"),
                          ("application.octet-stream", b"fecha,valor\r\n")]:
        transcript.show([Call("sendDocument", {"chat_id": 5}, {"document": (name, content)})])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "archivo-1.pdf", "archivo-1.txt", "evento-7-1.ics", "evento-7.ics"
    ]


async def test_an_error_in_the_chat_is_one_spanish_line_and_the_chat_goes_on(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    send_text = LocalUser.send_text

    def failing(self: LocalUser, text: str, **kwargs: Any) -> dict[str, Any]:
        if text == "falla":
            raise RuntimeError("simulated")
        return send_text(self, text, **kwargs)

    monkeypatch.setattr(LocalUser, "send_text", failing)
    out = io.StringIO()
    assert await run_chat(settings, lines=["falla", "/ayuda"], out=out) == 0
    text = out.getvalue()
    assert _after(text, "falla") == (
        "   (El chat local no pudo procesar «falla»: RuntimeError: simulated. "
        "Puede seguir escribiendo.)\n"
    )
    assert "/metas — cómo van las metas" in _after(text, "/ayuda")
    assert "Traceback" not in text


async def test_a_number_is_text_when_the_bot_asks_for_one_or_written_with_an_apostrophe(
    tmp_path: Path,
) -> None:
    api = LocalBotAPI()
    user = api.user(5)
    out = io.StringIO()
    transcript = Transcript(out, tmp_path)
    keyboard = {"inline_keyboard": [[{"text": f"Evento {i}", "callback_data": f"ev:e:{i}"}]
                                    for i in range(1, 13)]}

    async def bot_says(text: str, markup: dict[str, Any] | None = None) -> None:
        params: dict[str, Any] = {"chat_id": 5, "text": text}
        if markup:
            params["reply_markup"] = markup
        await api.handle("t", "sendMessage", params)
        transcript.show(api.calls[-1:])

    await bot_says("Eventos", keyboard)
    tapped = _to_update("10", user, transcript)
    assert tapped is not None and tapped["callback_query"]["data"] == "ev:e:10"
    as_text = _to_update("'10", user, transcript)
    assert as_text is not None and as_text["message"]["text"] == "10"
    await bot_says("Entendido.")
    still = _to_update("10", user, transcript)  # not a question: the number still taps
    assert still is not None and still["callback_query"]["data"] == "ev:e:10"
    await bot_says("¿Cuántos cupos hay? Escriba un número, o 0 si no hay límite.")
    typed = _to_update("10", user, transcript)
    assert typed is not None and typed["message"]["text"] == "10"
    # A broadcast arriving meanwhile does not change that the bot asked for a number.
    await api.handle("t", "sendMessage", {"chat_id": 5, "text": "📢 Aviso de la Alcaldía"})
    transcript.show(api.calls[-1:], unprompted=True)
    again = _to_update("10", user, transcript)
    assert again is not None and again["message"]["text"] == "10"
    # Asking for a number while showing a button: the number taps, and the chat says how
    # to type it instead.
    await bot_says("Escriba el número de la pregunta original.",
                   {"inline_keyboard": [[{"text": "⬅️ Volver a la cola", "callback_data": "q:l"}]]})
    assert "póngale un apóstrofo delante: '5" in out.getvalue().splitlines()[-1]
    back = _to_update("1", user, transcript)
    assert back is not None and back["callback_query"]["data"] == "q:l"
    original = _to_update("'1", user, transcript)
    assert original is not None and original["message"]["text"] == "1"
    # «…o escriba un comando» (the help) does not ask for a typed answer: no hint.
    await bot_says("Toque un botón del menú o escriba un comando:",
                   {"inline_keyboard": [[{"text": "🎯 Metas", "callback_data": "menu:metas"}]]})
    assert "apóstrofo" not in out.getvalue().splitlines()[-1]


async def test_chat_shares_the_accounts_own_number_for_a_verified_vote(
    settings: Settings, db: Database
) -> None:
    rows = [["ronda", "comuna", "presupuesto_comuna", "codigo", "proyecto", "costo",
             "requiere_verificacion"],
            ["2027", "4", "1000000", "P1", "Parque La Joya", "600000", "sí"]]
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        await import_bytes(s, "presupuesto_participativo", csv_bytes(rows), "pp.csv",
                           tz=settings.tz)
        await give_consent(s, telegram_id=1, chat_id=1)
    out = io.StringIO()
    # /presupuestos → the comuna → the project → Votar → «📱 Compartir mi número»
    await run_chat(settings, lines=["/presupuestos", "1", "1", "2", "1", "/salir"], out=out)
    after = _after(out.getvalue(), "1", 3)
    assert "(en el chat local se envía un número de prueba de esta cuenta)" in after
    assert "Cabildo › ✅ Número verificado. Guardo su voto…" in after
    assert "Cabildo › ✅ Su voto quedó guardado" in after
    async with db.session() as s:
        [ballot] = (await s.exec(select(PBVote))).all()
    assert ballot.chat_id == 1


async def test_a_new_user_tries_the_verified_vote_on_the_example_data(
    settings: Settings, db: Database, demo_data: None
) -> None:
    out = io.StringIO()
    # /presupuestos → 4 · Occidental → the park → Votar → ✅ Acepto → ✅ Votar → the number
    await run_chat(settings, lines=["/presupuestos", "2", "1", "5", "1", "1", "1", "/salir"],
                   out=out)
    text = out.getvalue()
    basket = _after(text, "2")
    assert "Comuna 4 · Occidental" in basket
    assert "📱 Al votar le pediré verificar su número de teléfono: un voto por número." in basket
    assert "[1] 📱 Compartir mi número" in _after(text, "1", 3)
    shared = _after(text, "1", 4)
    assert "Cabildo › ✅ Número verificado. Guardo su voto…" in shared
    assert "Cabildo › ✅ Su voto quedó guardado" in shared
    assert "• Recuperación del parque del barrio Camilo Torres — $ 300.000.000" in shared
    async with db.session() as s:
        [ballot] = (await s.exec(select(PBVote))).all()
    assert ballot.chat_id == 1
