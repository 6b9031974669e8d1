"""Free text end to end: sections named, events and reports that open, works filtered."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import money_short
from bot.localapi import LocalBotAPI
from handlers.search import GREETING
from storage.budget import execution, latest_year
from storage.db import Database
from storage.models import Comuna, Event, Goal, Report, Work
from storage.text import fold
from tests.storage.search_phrasings import UNANSWERABLE

USER = 7301
NOT_FOUND = "No encontré información sobre"


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


def _buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in params["reply_markup"]["inline_keyboard"] for b in row]


def _data(params: dict[str, Any]) -> list[str]:
    return [b.get("callback_data", "") for b in _buttons(params)]


async def _ask(api: LocalBotAPI, user_id: int, text: str) -> dict[str, Any]:
    """Send `text` as a new person and return the parameters of the bot's reply."""
    api.user(user_id).send_text(text)
    [reply] = await api.wait_for("sendMessage", chat_id=user_id)
    return reply.params


async def _works(db: Database) -> list[tuple[Work, str]]:
    async with db.session() as s:
        comunas = {c.id: c.codigo for c in (await s.exec(select(Comuna))).all()}
        return [(w, comunas[w.comuna_id]) for w in (await s.exec(select(Work))).all()]


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("presupuesto", "presupuesto"),
        ("el presupuesto", "presupuesto"),
        ("metas", "metas"),
        ("metas del plan", "metas"),
        ("informes", "informes"),
        ("contratación", "contratacion"),
        ("obras", "obras"),
        ("agenda", "agenda"),
        ("eventos", "agenda"),
        ("encuestas", "encuestas"),
        ("preguntas", "preguntar"),
        ("alertas", "alertas"),
    ],
)
async def test_a_section_word_answers_with_the_sections_button(
    bot: CabildoApp, api: LocalBotAPI, text: str, area: str
) -> None:
    reply = await _ask(api, USER, text)
    assert not reply["text"].startswith(NOT_FOUND)
    assert reply["text"].startswith(f"Esto es lo que encontré sobre «{text}»")
    assert _data(reply) == [f"menu:{area}", "menu:inicio"]


@pytest.mark.parametrize(
    "text", ["presupuesto", "cuánto se ha ejecutado del presupuesto", "ejecución presupuestal",
             "cuanto se ha pagado"],
)
async def test_budget_questions_lead_to_the_totals_first(
    bot: CabildoApp, api: LocalBotAPI, db: Database, text: str
) -> None:
    async with db.session() as s:
        year = await latest_year(s)
        assert year is not None
        total, _ = await execution(s, vigencia=year)
    reply = await _ask(api, USER, text)
    body = reply["text"]
    assert f"💰 <b>Presupuesto {year}</b>: apropiación de {money_short(total.apropiacion)}" in body
    assert "Se ha comprometido el 78 % y pagado el 60,7 %." in body
    assert "Ejecutar 5 obras" not in body and "IMEBU" not in body
    assert _data(reply)[0] == "menu:presupuesto"
    api.user(USER).tap("menu:presupuesto")
    [screen] = await api.wait_for("editMessageText", chat_id=USER)
    assert screen.params["text"].startswith(f"💰 <b>Ejecución del presupuesto {year}</b>")


async def test_specific_items_come_first_and_the_section_after(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    reply = await _ask(api, USER, "cuanta plata a gastado hacienda")
    data = _data(reply)
    assert data[0].startswith("ppto:d:") and "Secretaría de Hacienda" in reply["text"]
    assert data[-2:] == ["menu:presupuesto", "menu:inicio"]
    reply = await _ask(api, USER + 1, "contratos abiertos")
    assert reply["text"].split("\n")[0] == "📑 <b>Procesos recibiendo ofertas: 5</b>"
    processes = [d for d in _data(reply) if d.startswith("contr:p:")]
    assert len(processes) == 5  # the five open ones
    assert _data(reply)[-2:] == ["menu:contratacion", "menu:inicio"]


async def test_an_event_in_an_answer_opens_its_card(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        event = (await s.exec(select(Event).where(Event.clave == "EV-001"))).one()
    reply = await _ask(api, USER, "cuando es la audiencia publica")
    assert f"ev:e:{event.id}" in _data(reply)
    api.user(USER).tap(f"ev:e:{event.id}")
    [card] = await api.wait_for("editMessageText", chat_id=USER)
    assert event.titulo in card.params["text"]


async def test_reports_are_found_and_open_their_link(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        reports = {r.titulo: r.enlace for r in (await s.exec(select(Report))).all()}
    reply = await _ask(api, USER, "informe de gestión")
    assert "<b>📄 Informes</b>\n• Informe anual de gestión 2025" in reply["text"]
    links = [b for b in _buttons(reply) if "url" in b]
    assert links[0] == {"text": "📄 Informe anual de gestión 2025",
                        "url": reports["Informe anual de gestión 2025"]}
    assert len(links) >= 3 and {b["url"] for b in links} <= set(reports.values())
    assert _data(reply)[-2:] == ["menu:informes", "menu:inicio"]


async def test_works_by_status_list_only_that_state_and_say_the_total(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    works = await _works(db)
    suspended = {w.codigo for w, _ in works if w.estado == "Suspendida"}
    reply = await _ask(api, USER, "obras suspendidas")
    assert "<b>🏗️ Obras suspendidas: 7</b>" in reply["text"]
    assert {d.split(":")[2] for d in _data(reply) if d.startswith("obra:w:")} == (
        suspended
    )
    assert "Se muestran" not in reply["text"]
    running = {w.codigo for w, _ in works if w.estado == "En ejecución"}
    reply = await _ask(api, USER + 1, "obras en ejecución")
    shown = {d.split(":")[2] for d in _data(reply) if d.startswith("obra:w:")}
    assert len(shown) == 8 and shown <= running
    assert f"<b>🏗️ Obras en ejecución: {len(running)}</b>" in reply["text"]
    assert f"Se muestran 8 de {len(running)}." in reply["text"]
    assert "menu:obras" in _data(reply)


async def test_works_by_status_and_comuna_offer_the_comunas_list(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    works = await _works(db)
    expected = {w.codigo for w, c in works if c == "1" and w.estado == "Terminada"}
    reply = await _ask(api, USER, "obras terminadas en la comuna 1")
    assert f"<b>🏗️ Obras terminadas en la comuna 1 · Norte: {len(expected)}</b>" in reply["text"]
    assert {d.split(":")[2] for d in _data(reply) if d.startswith("obra:w:")} == (
        expected
    )
    button = next(b for b in _buttons(reply) if b.get("callback_data") == "obra:c:1:0")
    assert button["text"] == "🏗️ Todas las obras de la comuna 1 · Norte"
    api.user(USER).tap("obra:c:1:0")
    [listing] = await api.wait_for("editMessageText", chat_id=USER)
    assert listing.params["text"].startswith("🏗️ <b>Obras en la comuna 1 · Norte</b>")
    centre = {w.codigo for w, c in works if c == "15"}
    reply = await _ask(api, USER + 1, "que obras hay cerca al centro")
    assert {d.split(":")[2] for d in _data(reply) if d.startswith("obra:w:")} == centre
    assert "obra:c:15:0" in _data(reply)
    reply = await _ask(api, USER + 2, "obras suspendidas en la comuna 2")
    assert "No hay obras suspendidas en la comuna 2 · Nororiental." in reply["text"]
    assert "obra:c:2:0" in _data(reply)


async def test_questions_the_data_cannot_answer_still_say_so(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    for number, text in enumerate(UNANSWERABLE):
        reply = await _ask(api, USER + number, text)
        expected = GREETING if text == "hola buenas tardes" else f"{NOT_FOUND} «{text}»"
        assert reply["text"].startswith(expected), text


def _folded_order(works: list[Work]) -> list[str]:
    return [w.codigo for w in sorted(works, key=lambda w: (fold(w.nombre), w.codigo))]


async def test_every_work_in_a_status_can_be_paged_from_the_answer(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    finished = [w for w, _ in await _works(db) if w.estado == "Terminada"]
    assert len(finished) == 19
    expected = _folded_order(finished)
    reply = await _ask(api, USER, "obras terminadas")
    assert "<b>🏗️ Obras terminadas: 19</b>" in reply["text"]
    assert "Se muestran 8 de 19." in reply["text"]
    assert [d.split(":")[2] for d in _data(reply) if d.startswith("obra:w:")] == (
        expected[:8]
    )
    button = next(b for b in _buttons(reply) if b["text"] == "📋 Ver las 19")
    assert button["callback_data"] == "obra:s:terminada::0"
    user = api.user(USER)
    user.tap("📋 Ver las 19")
    [page] = await api.wait_for("editMessageText", chat_id=USER)
    assert page.params["text"] == "🏗️ <b>Obras terminadas: 19</b>\nPágina 1 de 3"
    seen = [d.split(":")[2] for d in _data(page.params) if d.startswith("obra:w:")]
    assert "obra:s:terminada::1" in _data(page.params)
    user.tap("Siguiente ▶️")
    user.tap("Siguiente ▶️")  # a double tap: one page turn
    await api.wait_for("answerCallbackQuery", count=3)
    [_, second] = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert second.params["text"].endswith("Página 2 de 3")
    seen += [d.split(":")[2] for d in _data(second.params) if d.startswith("obra:w:")]
    user.tap("obra:s:terminada::2")
    [*_, last] = await api.wait_for("editMessageText", chat_id=USER, count=3)
    seen += [d.split(":")[2] for d in _data(last.params) if d.startswith("obra:w:")]
    assert seen == expected
    assert _data(last.params)[-3:] == ["obra:s:terminada::1", "obra:i", "menu:inicio"]
    user.tap(f"obra:w:{expected[-1]}:s:terminada::2")
    [*_, card] = await api.wait_for("editMessageText", chat_id=USER, count=4)
    assert "Estado: <b>Terminada</b>" in card.params["text"]
    # «⬅️» on the card goes back to the page it was opened from.
    assert ("⬅️ Obras terminadas", "obra:s:terminada::2") in [
        (b["text"], b.get("callback_data")) for b in _buttons(card.params)]
    user.tap("⬅️ Obras terminadas")
    [*_, again] = await api.wait_for("editMessageText", chat_id=USER, count=5)
    assert again.params["text"] == last.params["text"]
    # A list that fits in the answer offers no «Ver las».
    reply = await _ask(api, USER + 1, "obras suspendidas")
    assert not any(b["text"].startswith("📋 Ver las") for b in _buttons(reply))


async def test_works_in_a_status_and_a_comuna_list_both_and_lead_back_to_the_comuna(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    running = [w for w, c in await _works(db) if c == "4" and w.estado == "En ejecución"]
    user = api.user(USER)
    await _ask(api, USER, "obras en ejecucion")
    update = user.tap("📋 Ver las 27", enqueue=False)
    update["callback_query"]["data"] = "obra:s:en ejecucion:4:0"
    api.enqueue(update)
    [page] = await api.wait_for("editMessageText", chat_id=USER)
    assert page.params["text"] == (
        f"🏗️ <b>Obras en ejecución en la comuna 4 · Occidental: {len(running)}</b>\n"
        "Página 1 de 1"
    )
    assert [d for d in _data(page.params) if d.startswith("obra:w:")] == [
        f"obra:w:{c}:s:en ejecucion:4:0" for c in _folded_order(running)]
    assert _data(page.params)[-2:] == ["obra:c:4:0", "menu:inicio"]


@pytest.mark.parametrize("data", ["obra:s:terminada::7", "obra:s:terminada::-1",
                                  "obra:s:borrada::0", "obra:s:terminada:99:0",
                                  "obra:s:terminada::x", "obra:s:terminada:0"])
async def test_stale_or_forged_status_pages_change_nothing(
    bot: CabildoApp, api: LocalBotAPI, data: str
) -> None:
    await _ask(api, USER, "obras terminadas")
    update = api.user(USER).tap("📋 Ver las 19", enqueue=False)
    update["callback_query"]["data"] = data
    api.enqueue(update)
    [edit] = await api.wait_for("editMessageText", chat_id=USER)
    assert edit.params["text"] == "Esa opción ya no está disponible."
    assert _data(edit.params) == ["obra:i"]


async def test_a_sector_question_lists_that_programs_goals_and_not_its_offices_others(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        goals = (await s.exec(select(Goal))).all()
    health = [g for g in goals if g.programa == "Salud pública y bienestar"]
    trees = next(g for g in goals if g.codigo == "L2-P01-M01")
    assert len(health) == 4 and trees.responsable == "Secretaría de Salud y Ambiente"
    reply = await _ask(api, USER, "metas de salud")
    goal_buttons = [d.removeprefix("meta:g:") for d in _data(reply) if d.startswith("meta:g:")]
    assert set(goal_buttons[:4]) == {g.codigo for g in health}
    assert trees.codigo not in goal_buttons and escape(trees.meta) not in reply["text"]
    lines = reply["text"].split("\n")
    first = lines.index("<b>🎯 Metas del plan</b>") + 1
    # Each line is the goal and its progress: «• Vacunar … — 96,2 % (en curso)».
    assert {line.removeprefix("• ").split(" — ")[0] for line in lines[first : first + 4]} == {
        escape(g.meta) for g in health}
    assert _data(reply)[-2:] == ["menu:metas", "menu:inicio"]


async def test_works_narrowed_by_other_words_name_them_and_not_the_comunas_total(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    assert len([w for w, c in await _works(db) if c == "4"]) == 3
    reply = await _ask(api, USER, "obras de parques c4")
    assert "No hay obras sobre «parques» en la comuna 4 · Occidental." in reply["text"]
    assert "No hay obras en la comuna 4" not in reply["text"]
    assert "obra:c:4:0" in _data(reply)  # the comuna's 3 works are a tap away
    reply = await _ask(api, USER + 1, "obras en la comuna 4 barrio girardot")
    assert "<b>🏗️ Obras sobre «girardot» en la comuna 4 · Occidental: 1</b>" in reply["text"]
    reply = await _ask(api, USER + 2, "parques en la comuna 4")
    assert "No hay obras sobre «parques» en la comuna 4 · Occidental." in reply["text"]
    assert not [d for d in _data(reply) if d.startswith("obra:w:")]  # not comuna 3's parks
    reply = await _ask(api, USER + 3, "obras c4 <b>pavimentación</b>")
    assert "No hay obras sobre «pavimentación» en la comuna 4" in reply["text"]


async def test_works_of_several_comunas_are_listed_together(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    expected = {w.codigo for w, c in await _works(db) if c in ("4", "5")}
    reply = await _ask(api, USER, "obras en la comuna 4 y 5")
    assert "No hay" not in reply["text"]
    assert (f"<b>🏗️ Obras en la comuna 4 · Occidental y la comuna 5 · García Rovira: "
            f"{len(expected)}</b>") in reply["text"]
    assert {d.split(":")[2] for d in _data(reply) if d.startswith("obra:w:")} == (
        expected)
    assert _data(reply)[-4:] == ["obra:c:4:0", "obra:c:5:0", "menu:obras", "menu:inicio"]


async def test_c2_with_nothing_in_the_corregimiento_offers_comuna_2(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    in_2 = [w for w, c in await _works(db) if c == "2" and w.estado == "Terminada"]
    reply = await _ask(api, USER, "obras terminadas c2")
    assert ("No hay obras terminadas en el corregimiento C2 · Corregimiento 2.\n"
            f"¿Quiso decir la comuna 2 · Nororiental? Allí sí hay obras terminadas: {len(in_2)}."
            ) in reply["text"]
    button = next(b for b in _buttons(reply) if b["callback_data"] == "obra:s:terminada:2:0")
    assert button["text"] == "🏗️ Obras terminadas de la comuna 2 · Nororiental"
    api.user(USER).tap("obra:s:terminada:2:0")
    [page] = await api.wait_for("editMessageText", chat_id=USER)
    assert page.params["text"].startswith(
        f"🏗️ <b>Obras terminadas en la comuna 2 · Nororiental: {len(in_2)}</b>")
    assert [d for d in _data(page.params) if d.startswith("obra:w:")] == [
        f"obra:w:{w.codigo}:s:terminada:2:0" for w in in_2]
    # c2 where the corregimiento has works: those, with no question.
    reply = await _ask(api, USER + 1, "obras c2")
    assert "<b>🏗️ Obras en el corregimiento C2 · Corregimiento 2: 2</b>" in reply["text"]
    assert "Quiso decir" not in reply["text"]


async def test_everyday_status_words_for_works(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    works = await _works(db)
    running = sum(w.estado == "En ejecución" for w, _ in works)
    reply = await _ask(api, USER, "obras en proceso")
    assert f"<b>🏗️ Obras en ejecución: {running}</b>" in reply["text"]
    reply = await _ask(api, USER + 1, "obras atrasadas")
    today = datetime.now(settings.tz).date()
    late = [w for w, _ in works if w.fecha_fin_prevista is not None
            and w.fecha_fin_prevista < today and w.estado != "Terminada"]
    assert ("Atrasadas: las que no han terminado y cuya fecha de entrega prevista ya pasó."
            f"\n\n<b>🏗️ Obras atrasadas: {len(late)}</b>") in reply["text"]
    # With other words too: the late works that match them, and only late ones.
    reply = await _ask(api, USER + 4, "obras atrasadas de andenes")
    assert "<b>🏗️ Obras atrasadas sobre «andenes»: " in reply["text"]
    listed = [n for n in (w.nombre for w in late) if n in reply["text"]]
    assert listed and all("ndenes" in n for n in listed)
    assert not any(w.nombre in reply["text"] for w, _ in works if w not in late)
    assert "Informe" not in reply["text"]
    reply = await _ask(api, USER + 2, "obras com3")
    in_3 = sum(c == "3" for _, c in works)
    assert "<b>🏗️ Obras en la comuna 3 · " in reply["text"] and f": {in_3}</b>" in reply["text"]
    reply = await _ask(api, USER + 3, "obras c 4")
    assert "<b>🏗️ Obras en la comuna 4 · Occidental: 3</b>" in reply["text"]


async def test_a_status_with_words_that_match_other_works_says_there_are_none(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    works = await _works(db)
    lighting = [w for w, _ in works if "lumbrado" in w.nombre]
    assert lighting and not any(w.estado == "Suspendida" for w in lighting)
    reply = await _ask(api, USER, "obras suspendidas de alumbrado")
    assert "No hay obras suspendidas sobre «alumbrado»" in reply["text"]
    reply = await _ask(api, USER + 1, "obras suspendidas en marte")
    assert reply["text"].startswith("No encontré información")


async def test_html_typed_in_a_question_is_read_as_its_words(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    reply = await _ask(api, USER, "obras de <b>parques</b> c4")
    assert "«parques»" in reply["text"] and "«b" not in reply["text"]
