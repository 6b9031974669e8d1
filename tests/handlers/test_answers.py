"""Answers end to end: the fact first, follow-ups kept for a while, never a dead end.

The labelled questions (`tests/answers/`) measure how often the fact is there; these tests
hold the behaviour around it: how long a follow-up is understood, what ends it, that a
question the data cannot answer can be sent to the Alcaldía with one tap, and where the bot
points for what is not accountability.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select, update

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import money_short
from bot.localapi import LocalBotAPI
from handlers import answers, flows
from storage.answers.facts import days_late
from storage.conversations import FlowState, prune_states, set_state
from storage.db import Database
from storage.models import (
    CitizenQuestion,
    Comuna,
    ConversationState,
    Event,
    Subscription,
    Work,
)
from storage.types import utcnow
from tests.utils.harness import polling_bot


class Chat:
    """Sends text as one person and returns each new reply of the bot."""

    def __init__(self, api: LocalBotAPI, user_id: int) -> None:
        self.api, self.user_id = api, user_id
        self.seen: dict[str, int] = {}

    async def ask(self, text: str) -> dict[str, Any]:
        self.api.user(self.user_id).send_text(text)
        return await self.next()

    async def next(self, method: str = "sendMessage") -> dict[str, Any]:
        self.seen[method] = count = self.seen.get(method, 0) + 1
        calls = await self.api.wait_for(method, chat_id=self.user_id, count=count)
        return calls[count - 1].params


def _labels(params: dict[str, Any]) -> list[str]:
    return [b["text"] for row in params["reply_markup"]["inline_keyboard"] for b in row]


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def _work(db: Database, codigo: str) -> Work:
    async with db.session() as s:
        return (await s.exec(select(Work).where(Work.codigo == codigo))).one()


async def test_a_follow_up_is_about_the_item_just_answered(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    bridge = await _work(db, "OB-2026-029")
    chat = Chat(api, 6101)
    first = await chat.ask("cuanto avance tiene el puente peatonal de la pedregosa")
    assert first["text"].startswith(f"<b>{bridge.nombre}</b> lleva <b>44 %</b> de avance físico")
    assert "🏗️ Ver la ficha de la obra" in _labels(first)
    then = await chat.ask("y quien es el contratista?")
    assert f"<b>{bridge.contratista}</b>" in then["text"]


async def test_a_follow_up_is_forgotten_after_fifteen_minutes(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat = Chat(api, 6102)
    await chat.ask("como va el cdi cafe madrid")
    async with db.session() as s:
        await s.exec(update(ConversationState).values(  # type: ignore[call-overload]
            updated_at=utcnow() - answers.TOPIC_TTL - timedelta(seconds=1)))
        await s.commit()
    later = await chat.ask("y quien es el contratista")
    assert "Unión Temporal CDI Norte" not in later["text"]


async def test_a_menu_tap_or_a_command_ends_the_follow_up(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat = Chat(api, 6103)
    await chat.ask("como va el cdi cafe madrid")
    cancelled = await chat.ask("/cancelar")
    assert cancelled["text"] == "No hay nada en curso para cancelar."  # no flow of theirs
    after = await chat.ask("y quien es el contratista")
    assert "Unión Temporal CDI Norte" not in after["text"]
    await chat.ask("como va el cdi cafe madrid")
    api.user(6103).tap("menu:inicio")
    await chat.next()
    async with db.session() as s:
        assert (await s.exec(select(ConversationState))).all() == []


async def test_the_subject_never_replaces_a_flow_in_progress(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    basket = FlowState("pp", "cesta", {"proyectos": ["PP27-01-01"]})
    async with db.session() as s:
        await set_state(s, chat_id=6104, user_id=6104, state=basket)
    chat = Chat(api, 6104)
    await chat.ask("como va el cdi cafe madrid")
    async with db.session() as s:
        [row] = (await s.exec(select(ConversationState))).all()
    assert (row.flow, row.data) == ("pp", {"proyectos": ["PP27-01-01"]})


async def test_a_free_text_question_reads_the_person_state_once(
    bot: CabildoApp, api: LocalBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = 0
    real = flows.get_state

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(flows, "get_state", counting)
    monkeypatch.setattr(answers, "get_state", counting)
    chat = Chat(api, 6105)
    await chat.ask("cual es la obra mas cara")
    await chat.ask("y cuando la terminan?")
    assert reads == 2  # one per update: the follow-up costs no extra round trip


async def test_what_the_data_cannot_answer_can_be_sent_as_a_question(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat = Chat(api, 6106)
    reply = await chat.ask("cuando arreglan el semaforo de mi cuadra que lleva meses dañado")
    assert reply["text"].startswith("No encontré información sobre")
    assert _labels(reply)[0] == "❓ Enviarla como pregunta a la Alcaldía"
    api.user(6106).tap("preg:e")
    notice = await chat.next()  # the question is linked to the chat: the data notice first
    assert "Ley 1581 de 2012" in notice["text"]
    api.user(6106).tap("✅ Acepto")
    await chat.next("editMessageText")
    topics = await chat.next("editMessageText")
    assert "semaforo de mi cuadra" in topics["text"]
    api.user(6106).tap("preg:tt:obras")
    received = await chat.next("editMessageText")
    assert received["text"].startswith("✅ Recibimos su pregunta <b>#1</b>")
    async with db.session() as s:
        [question] = (await s.exec(select(CitizenQuestion))).all()
    assert question.text.startswith("cuando arreglan el semaforo")


async def test_an_emergency_gets_the_emergency_line_first(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    reply = await Chat(api, 6107).ask("me acaban de robar el celular en la 36")
    assert "🚨 Si es una emergencia, llame ya a la <b>línea 123</b>." in reply["text"]


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ("donde saco el pasaporte", "📋 Trámites, impuestos y certificados: "
                                    '<a href="https://tramites.example.gov.co">'),
        ("quiero poner una queja", "✉️ Peticiones, quejas, reclamos y denuncias (PQRSD): "
                                   '<a href="https://pqrsd.example.gov.co">'),
    ],
)
async def test_what_is_not_accountability_points_where_the_city_says(
    settings: Settings, api: LocalBotAPI, seed: None, text: str, pointer: str
) -> None:
    ours = dataclasses.replace(settings, pqrsd_url="https://pqrsd.example.gov.co",
                               procedures_url="https://tramites.example.gov.co")
    async with polling_bot(ours, api):
        reply = await Chat(api, 6108).ask(text)
    assert pointer in reply["text"]


async def test_a_long_rambling_question_still_gets_the_fact(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    cdi = await _work(db, "OB-2026-002")
    text = ("buenas tardes señores de la alcaldia, yo vivo por alla cerca y quisiera saber por "
            "favor quien es el contratista del cdi de cafe madrid, es que nadie nos dice nada y "
            "los niños siguen esperando, mil gracias y que Dios les pague " * 2)
    reply = await Chat(api, 6109).ask(text)
    assert f"<b>{cdi.contratista}</b>" in reply["text"]


async def test_obras_and_metas_with_text_find_what_free_text_finds(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat = Chat(api, 6110)
    works = await chat.ask("/obras pavimentasion kennedy")  # one index, one folding, typos too
    assert _labels(works)[0].endswith("Pavimentación de la Calle 7N en el barrio Kennedy")
    free = await chat.ask("pavimentasion kennedy")
    assert "Pavimentación de la Calle 7N en el barrio Kennedy" in free["text"]
    goals = await chat.ask("/metas arboles")
    assert any("Sembrar 30.000 árboles" in label for label in _labels(goals))


async def test_picking_one_of_several_answers_the_question_about_it(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    bridge = await _work(db, "OB-2026-029")
    chat = Chat(api, 6111)
    which = await chat.ask("cuanto avance tiene el puente peatonal")
    assert which["text"].startswith("¿Se refiere a…?")
    assert f"• {bridge.nombre} — en ejecución · 44 %" in which["text"]
    api.user(6111).tap(bridge.nombre)
    answer = await chat.next("editMessageText")
    assert answer["text"].startswith(f"<b>{bridge.nombre}</b> lleva <b>44 %</b> de avance")
    then = await chat.ask("y quien la construye?")  # the one picked is now the subject
    assert f"<b>{bridge.contratista}</b>" in then["text"]
    forged = api.user(6111).tap("🏠 Menú", enqueue=False)  # a stale choice
    forged["callback_query"]["data"] = "resp:o:avance:NO-EXISTE"
    forged["update_id"] = api.new_update_id()
    api.enqueue(dict(forged))
    gone = await chat.next("editMessageText")
    assert gone["text"] == "Esa opción ya no está disponible."


async def test_several_candidates_are_told_apart_by_what_was_asked(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    """«¿Quién es el contratista…?» about several works: each line already carries its
    contractor (or says there is none), so the first reply answers without a tap."""
    chat = Chat(api, 6113)
    async with db.session() as s:
        bridges = (await s.exec(select(Work).where(
            Work.nombre.ilike("%puente peatonal%")))).all()  # type: ignore[attr-defined]
    assert len(bridges) >= 2
    which = await chat.ask("quién es el contratista del puente peatonal")
    assert which["text"].startswith("¿Se refiere a…?")
    for bridge in bridges:
        told = (f"contratista: {bridge.contratista}" if bridge.contratista
                else "sin contratista registrado")
        assert f"• {bridge.nombre} — {told}" in which["text"]
    when = await chat.ask("cuándo entregan el puente peatonal")
    assert when["text"].startswith("¿Se refiere a…?")
    today = settings.today()
    flagged = 0
    for bridge in bridges:  # neither is finished: each says when it is due, and if it is late
        assert f"• {bridge.nombre} — entrega prevista: " in when["text"]
        line = next(x for x in when["text"].splitlines() if bridge.nombre in x)
        assert line.endswith("⚠️ atrasada") == (days_late(bridge, today) > 0)
        flagged += line.endswith("⚠️ atrasada")
    assert flagged >= 1  # the example data has one past its date


async def test_help_says_one_can_just_write_and_where_to_go_for_the_rest(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    help_text = (await Chat(api, 6112).ask("/ayuda"))["text"]
    assert "Escriba su pregunta como se la haría a una persona" in help_text
    assert "✉️ Peticiones, quejas, reclamos y denuncias (PQRSD)" in help_text
    assert "📋 Trámites, impuestos y certificados" in help_text
    assert "<b>línea 123</b>" in help_text


@pytest.mark.parametrize("text", ["eventos de esta semana", "que hay el proximo mes",
                                  "actividades de la proxima semana"])
async def test_the_agenda_of_a_period_lists_its_events_or_the_next_one(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings, text: str
) -> None:
    ask = answers.parse(text)
    first, last = answers.period_days(ask.period, settings.today())
    async with db.session() as s:
        events = sorted((await s.exec(select(Event))).all(), key=lambda e: e.inicio)
    inside = [e for e in events if first <= e.inicio.astimezone(settings.tz).date() <= last]
    reply = await Chat(api, 6113).ask(text)
    if inside:
        assert reply["text"].startswith(f"📅 <b>Eventos {answers.PERIOD_NAMES[ask.period]}: "
                                        f"{len(inside)}</b>")
        assert inside[0].titulo in reply["text"]
    else:
        assert reply["text"].startswith(f"📅 No hay eventos {answers.PERIOD_NAMES[ask.period]}.")
        upcoming = [e for e in events if e.inicio > utcnow()]
        assert upcoming[0].titulo in reply["text"]  # and the next one, so it is no dead end


def test_a_period_is_read_in_local_days() -> None:
    wednesday = date(2026, 12, 2)
    assert answers.period_days("semana", wednesday) == (wednesday, date(2026, 12, 6))
    assert answers.period_days("fin_de_semana", wednesday) == (date(2026, 12, 5),
                                                               date(2026, 12, 6))
    assert answers.period_days("proxima_semana", wednesday) == (date(2026, 12, 7),
                                                                date(2026, 12, 13))
    assert answers.period_days("proximo_mes", wednesday) == (date(2027, 1, 1), date(2027, 1, 31))
    assert answers.period_days("mes", date(2026, 12, 31)) == (date(2026, 12, 31),
                                                             date(2026, 12, 31))


async def test_a_kept_subject_is_deleted_once_its_time_is_over(db: Database) -> None:
    old, fresh = (FlowState("tema", "", {"unanswered": "texto de alguien"}),
                  FlowState("tema", "", {"key": "OB-1"}))
    async with db.session() as s:
        await set_state(s, chat_id=1, user_id=1, state=old)
        await set_state(s, chat_id=2, user_id=2, state=fresh)
        await set_state(s, chat_id=3, user_id=3, state=FlowState("pp", "cesta", {}))
        await s.exec(update(ConversationState).where(  # type: ignore[call-overload]
            ConversationState.chat_id != 2).values(
            updated_at=utcnow() - answers.TOPIC_TTL - timedelta(minutes=1)))
        await s.commit()
        gone = await prune_states(s, flow="tema", before=utcnow() - answers.TOPIC_TTL)
        left = sorted((r.chat_id, r.flow) for r in (await s.exec(select(ConversationState))))
    assert gone == 1 and left == [(2, "tema"), (3, "pp")]  # other flows are theirs to keep


async def test_a_comparison_after_a_list_compares_within_that_list(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        comuna = (await s.exec(select(Comuna).where(Comuna.codigo == "4"))).one()
        works = (await s.exec(select(Work).where(Work.comuna_id == comuna.id))).all()
    dearest = max((w for w in works if w.valor_contrato is not None),
                  key=lambda w: w.valor_contrato or 0)
    chat = Chat(api, 6114)
    await chat.ask("obras en la comuna 4")
    reply = await chat.ask("y cual es la mas cara?")
    assert reply["text"].startswith(f"La obra de mayor valor es <b>{dearest.nombre}</b>")


async def test_asked_when_an_event_ends_the_first_reply_says_it_or_that_none_is_published(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat = Chat(api, 6120)
    first = await chat.ask("cuando es la audiencia publica")
    assert "Audiencia pública" in first["text"]
    ends = await chat.ask("y cuando termina?")
    # the example hearing runs 8:00 to 12:00 (its date moves with today's)
    assert "termina el <b>" in ends["text"] and "12:00" in ends["text"]
    async with db.session() as s:
        event = (await s.exec(select(Event).where(Event.titulo.startswith("Audiencia")))).one()
        event.fin = None
        s.add(event)
    again = await chat.ask("y cuando termina?")
    assert "no tiene hora de cierre publicada. Empieza el <b>" in again["text"]
    assert "8:00" in again["text"]


async def test_what_a_comuna_has_invested_is_its_works_contracts_summed(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        four, fourteen = [(await s.exec(select(Comuna).where(Comuna.codigo == code))).one()
                          for code in ("4", "14")]
        works = list((await s.exec(select(Work).where(Work.comuna_id == four.id))).all())
        unvalued = min(works, key=lambda w: w.valor_contrato or 0)  # its value not published
        await s.exec(update(Work).where(  # type: ignore[call-overload]
            Work.id == unvalued.id).values(valor_contrato=None))
        await s.exec(update(Work).where(  # type: ignore[call-overload]
            Work.comuna_id == fourteen.id).values(comuna_id=None))  # none placed in the 14
        await s.commit()
    valued = sorted((w for w in works if w.id != unvalued.id),
                    key=lambda w: w.valor_contrato or 0, reverse=True)
    total = money_short(sum(w.valor_contrato or 0 for w in valued), "es_CO")
    reply = await Chat(api, 6121).ask("cuanto se ha invertido en la comuna 4 y en la 14")
    first, second = reply["text"].split("\n\n")
    assert first.startswith(
        f"🏗️ En la comuna 4 · {four.nombre} hay <b>{len(works)} obras</b> con contratos por "
        f"<b>{total}</b> en total (1 sin valor registrado).")
    assert f"• {valued[0].nombre} — {money_short(valued[0].valor_contrato or 0, 'es_CO')}" in first
    assert second == f"🏗️ En la comuna 14 · {fourteen.nombre} no hay obras registradas."
    labels = _labels(reply)
    assert labels[0] == valued[0].nombre
    assert f"🏗️ Todas las obras de la comuna 4 · {four.nombre}" in labels


async def test_asked_about_one_comuna_it_never_answers_with_an_item_of_another(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    # The only matches of «parque» for a value: works elsewhere, and a process whose title
    # places it in the comuna 1. Asked about the comuna 4 (which has no park), the first
    # reply must not state that process's value as if it were the answer.
    chat = Chat(api, 6122)
    reply = await chat.ask("cuanto vale el parque de la comuna 4")
    assert reply["text"].startswith("Esto es lo que encontré")
    assert "No hay obras sobre «parque» en la comuna 4" in reply["text"]
    same = await chat.ask("cuanto vale el mantenimiento de juegos infantiles de la comuna 1")
    assert same["text"].startswith("El proceso ")  # named where it is, it is the answer


async def test_asked_when_registration_opens_it_gives_the_event_to_register_for(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        hearing = (await s.exec(select(Event).where(Event.tipo == "audiencia pública"))).first()
    assert hearing is not None
    reply = await Chat(api, 6123).ask("cuando abren las inscripciones para la audiencia")
    assert reply["text"].startswith("Para inscribirse toque «✅ Asistiré» en la ficha")
    assert hearing.titulo in reply["text"]
    assert "✅ Asistiré" in _labels(reply)


async def test_my_comuna_is_the_one_the_person_follows_and_a_follow_up_moves_it(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    stranger = await Chat(api, 6124).ask("cuanto se invierte en mi comuna")
    assert stranger["text"].startswith("🏗️ ¿En qué comuna? Aún no sé cuál es la suya")
    async with db.session() as s:
        s.add(Subscription(chat_id=6125, kind="comuna", value="14"))
        await s.commit()
        fourteen, five = [(await s.exec(select(Comuna).where(Comuna.codigo == code))).one()
                          for code in ("14", "5")]
    chat = Chat(api, 6125)
    mine = await chat.ask("cuanto se invierte en mi comuna")
    assert mine["text"].startswith(f"🏗️ En la comuna 14 · {fourteen.nombre} hay <b>")
    other = await chat.ask("y en la 5?")
    assert other["text"].startswith(f"🏗️ En la comuna 5 · {five.nombre} hay <b>")


async def test_asked_for_works_near_a_place_it_does_not_know_it_offers_the_persons_location(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat = Chat(api, 6126)
    reply = await chat.ask("que obras hay cerca al estadio")
    assert reply["text"].startswith("No encontré información sobre")
    offer = await chat.next()
    assert offer["text"] == "📍 Para ver las obras cercanas, toque «📍 Enviar mi ubicación» abajo."
    [[button]] = offer["reply_markup"]["keyboard"]
    assert button["request_location"] is True
    plain = await chat.ask("cuando arreglan el semaforo de mi cuadra")  # nothing near asked
    assert plain["text"].startswith("No encontré información sobre")
    after = await chat.ask("hola")  # one chat's updates run in turn: the last one is done
    texts = [m.get("text", "") for m in api.messages(6126)]
    assert texts.count(offer["text"]) == 1 and texts[-2:] == [plain["text"], after["text"]]
