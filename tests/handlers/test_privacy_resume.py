"""Accepting the data notice does what the person had asked for: no dead end after «Acepto»."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import Call, LocalBotAPI
from storage.conversations import get_state
from storage.db import Database
from storage.models import (
    Citizen,
    CitizenQuestion,
    Comuna,
    Event,
    Registration,
    Subscription,
    Work,
)

PERSON = 7601


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def _event(db: Database, settings: Settings) -> Event:
    start = (datetime.now(settings.tz) + timedelta(days=5)).replace(hour=18, minute=0, second=0,
                                                                    microsecond=0)
    async with db.session() as s:
        event = Event(clave="prueba-consentimiento", titulo="Taller del parque", tipo="taller",
                      inicio=start.astimezone(UTC), lugar="Salón comunal", capacidad=40)
        s.add(event)
        await s.commit()
        await s.refresh(event)
        return event


def _labels(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["text"] for row in rows for b in row]


def _sent(call: Call) -> dict[str, Any]:
    """Return the message a call sent, as the bot got it back."""
    result: dict[str, Any] = call.response["result"]
    return result


def _message(api: LocalBotAPI, message_id: int) -> dict[str, Any]:
    return next(m for m in api.messages(PERSON) if m["message_id"] == message_id)


async def _consented(db: Database) -> bool:
    async with db.session() as s:
        citizen = (await s.exec(select(Citizen).where(Citizen.telegram_id == PERSON))).first()
    return citizen is not None and citizen.consent_at is not None


async def test_accepting_after_asistire_registers_and_the_card_says_so(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    event = await _event(db, settings)
    user = api.user(PERSON)
    user.send_text(f"/start evento_{event.id}")
    [card] = await api.wait_for("sendMessage", chat_id=PERSON)
    user.tap("✅ Asistiré")
    [_, notice] = await api.wait_for("sendMessage", chat_id=PERSON, count=2)
    assert "Para inscribirse a eventos" in notice.params["text"]
    async with db.session() as s:
        assert (await s.exec(select(Registration))).all() == []

    user.tap("✅ Acepto")
    answers = await api.wait_for("answerCallbackQuery", count=2)
    assert answers[-1].params["text"].startswith("✅ Listo, tiene su cupo")
    assert answers[-1].params["show_alert"] is True
    async with db.session() as s:
        [registration] = (await s.exec(select(Registration))).all()
    assert (registration.chat_id, registration.status) == (PERSON, "confirmado")
    shown = api.messages(PERSON)
    notice_now = shown[-1]
    assert notice_now["text"] == "✅ Gracias. Ya puede inscribirse a eventos."
    assert "reply_markup" not in notice_now  # no stale Acepto / No, gracias left
    card_now = _message(api, _sent(card)["message_id"])
    assert "✅ Usted tiene su cupo." in card_now["text"]
    assert "❌ Cancelar asistencia" in _labels(card_now)
    assert await _consented(db)

    # «Acepto» again on the same notice (a double tap) does not act again.
    forged = user.tap("❌ Cancelar asistencia", enqueue=False)
    forged["callback_query"]["data"] = f"priv:ok:{_sent(card)['message_id']}:ev:r:{event.id}"
    forged["callback_query"]["message"] = _sent(notice)
    api.enqueue(forged)
    answers = await api.wait_for("answerCallbackQuery", count=3)
    assert answers[-1].params["text"] == (
        "Ya aceptó el tratamiento de sus datos. Véalos con /mis_datos."
    )
    async with db.session() as s:
        assert len((await s.exec(select(Registration))).all()) == 1


async def test_accepting_after_seguir_esta_obra_follows_it_once_even_on_a_double_tap(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        work = (await s.exec(select(Work).order_by(col(Work.codigo)))).first()
    assert work is not None
    user = api.user(PERSON)
    user.send_text(f"/start obra_{work.codigo}")
    [card] = await api.wait_for("sendMessage", chat_id=PERSON)
    user.tap("🔔 Seguir esta obra")
    user.tap("🔔 Seguir esta obra")  # double tap before consenting: one notice only
    await api.wait_for("answerCallbackQuery", count=2)
    [*_, notice] = await api.wait_for("sendMessage", chat_id=PERSON, count=2)
    assert "Para seguir esta obra" in notice.params["text"]
    assert sum("Para seguir esta obra" in (m.get("text") or "") for m in api.messages(PERSON)) == 1
    user.tap("✅ Acepto")
    user.tap("✅ Acepto")  # double tap: following must not be switched off again
    answers = await api.wait_for("answerCallbackQuery", count=4)
    texts = [a.params.get("text") for a in answers[2:]]
    assert "Le avisaré de los cambios de esta obra." in texts
    assert "Ya aceptó el tratamiento de sus datos. Véalos con /mis_datos." in texts
    async with db.session() as s:
        subs = (await s.exec(select(Subscription).where(Subscription.chat_id == PERSON))).all()
    assert [(x.kind, x.value) for x in subs] == [("obra", work.codigo)]
    card_now = _message(api, _sent(card)["message_id"])
    assert any(label.startswith("🔕 Dejar de seguir") for label in _labels(card_now))
    assert not any(label.startswith("🔔 Seguir") for label in _labels(card_now))
    assert api.messages(PERSON)[-1]["text"] == "✅ Gracias. Ya puede seguir esta obra."


async def test_accepting_after_alertas_opens_the_alerts_screen(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(PERSON)
    user.send_text("/alertas")
    [notice] = await api.wait_for("sendMessage", chat_id=PERSON)
    assert "Para recibir alertas" in notice.params["text"]
    user.tap("✅ Acepto")
    await api.wait_for("answerCallbackQuery")
    [_, screen] = await api.wait_for("sendMessage", chat_id=PERSON, count=2)
    assert screen.params["text"].startswith("🔔 <b>Alertas</b>")
    assert "Comunas activas: ninguna." in screen.params["text"]
    assert _message(api, _sent(notice)["message_id"])["text"] == (
        "✅ Gracias. Ya puede recibir alertas."
    )
    user.tap("4 · Occidental")  # the screen that opened works
    [*_, shown] = await api.wait_for("editMessageText", chat_id=PERSON, count=2)
    assert "Comunas activas: 4 Occidental." in shown.params["text"]


async def test_accepting_after_preguntar_with_text_offers_the_topics_for_that_text(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(PERSON)
    user.send_text("/preguntar ¿Cuándo terminan el parque de La Joya?")
    [notice] = await api.wait_for("sendMessage", chat_id=PERSON)
    assert "Para enviar preguntas a la Alcaldía" in notice.params["text"]
    user.tap("✅ Acepto")
    await api.wait_for("answerCallbackQuery")
    [*_, topics] = await api.wait_for("editMessageText", chat_id=PERSON, count=2)
    assert "«¿Cuándo terminan el parque de La Joya?»" in topics.params["text"]
    user.tap("🏗️ Obras")
    answers = await api.wait_for("answerCallbackQuery", count=2)
    assert answers
    [*_, received] = await api.wait_for("editMessageText", chat_id=PERSON, count=3)
    assert received.params["text"].startswith("✅ Recibimos su pregunta <b>#1</b> (🏗️ Obras)")
    async with db.session() as s:
        [question] = (await s.exec(select(CitizenQuestion))).all()
    assert (question.chat_id, question.topic) == (PERSON, "obras")


async def test_declining_forgets_the_question_text_and_keeps_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(PERSON)
    user.send_text("/preguntar ¿Cuándo terminan el parque de La Joya?")
    await api.wait_for("sendMessage", chat_id=PERSON)
    user.tap("No, gracias")
    [declined] = await api.wait_for("editMessageText", chat_id=PERSON)
    assert declined.params["text"].startswith("Entendido.")
    async with db.session() as s:
        assert await get_state(s, chat_id=PERSON, user_id=PERSON) is None
        assert (await s.exec(select(CitizenQuestion))).all() == []
    assert not await _consented(db)


async def test_votar_is_offered_again_rather_than_cast_for_the_person(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(PERSON)
    user.send_text("/alertas")  # any notice will do; its data says what to resume
    await api.wait_for("sendMessage", chat_id=PERSON)
    forged = user.tap("✅ Acepto", enqueue=False)
    forged["callback_query"]["data"] = "priv:ok:1:pp:v:3"
    api.enqueue(forged)
    [done] = await api.wait_for("editMessageText", chat_id=PERSON)
    assert done.params["text"] == (
        "✅ Gracias. Ya puede recibir alertas. Para seguir, toque:"
    )
    assert [b["callback_data"] for row in done.params["reply_markup"]["inline_keyboard"]
            for b in row] == ["pp:v:3"]


async def test_a_button_too_long_to_carry_is_asked_to_be_tapped_again(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(PERSON)
    user.send_text("/alertas")
    await api.wait_for("sendMessage", chat_id=PERSON)
    forged = user.tap("✅ Acepto", enqueue=False)
    forged["callback_query"]["data"] = "priv:ok::"  # what a notice carries when it cannot fit
    api.enqueue(forged)
    [done] = await api.wait_for("editMessageText", chat_id=PERSON)
    assert done.params["text"] == (
        "✅ Gracias. Ya puede recibir alertas. Toque otra vez el botón que había tocado."
    )
    assert await _consented(db)


@pytest.mark.parametrize("data", [
    "priv:ok:1:staff:preg:r:1",  # a staff button: the access rules still apply
    "priv:ok:1:priv:ok:1:menu:alertas",  # no replay of a replay
    "priv:ok:x1:menu:alertas",  # not a message id
    "priv:ok:1:ev:r:999999",  # an event that does not exist
])
async def test_forged_resume_data_does_not_act(
    bot: CabildoApp, api: LocalBotAPI, db: Database, data: str
) -> None:
    user = api.user(PERSON)
    user.send_text("/alertas")
    await api.wait_for("sendMessage", chat_id=PERSON)
    forged = user.tap("✅ Acepto", enqueue=False)
    forged["callback_query"]["data"] = data
    api.enqueue(forged)
    [answer] = await api.wait_for("answerCallbackQuery")
    assert answer.params.get("text") in (None, "Ese botón ya no está disponible.",
                                         "Ese evento ya no está disponible.")
    async with db.session() as s:
        assert (await s.exec(select(Registration))).all() == []
        assert (await s.exec(select(Subscription))).all() == []
        assert (await s.exec(select(Comuna).where(Comuna.codigo == "4"))).one()
    assert await _consented(db)  # what was accepted is the notice itself
    user.send_text("/menu")
    await api.wait_for("sendMessage", chat_id=PERSON, count=2)  # the bot is still answering


async def test_after_declining_the_same_button_asks_again(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    event = await _event(db, settings)
    user = api.user(PERSON)
    user.send_text(f"/start evento_{event.id}")
    await api.wait_for("sendMessage", chat_id=PERSON)
    user.tap("✅ Asistiré")
    [*_, notice] = await api.wait_for("sendMessage", chat_id=PERSON, count=2)
    user.tap("No, gracias")
    await api.wait_for("editMessageText", chat_id=PERSON)
    user.tap("✅ Asistiré")  # seconds later: a new decision, so a new notice
    [*_, again] = await api.wait_for("sendMessage", chat_id=PERSON, count=3)
    assert again.params["text"] == notice.params["text"]
