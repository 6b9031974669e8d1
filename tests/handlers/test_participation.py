"""`/presupuestos` end to end: choose a comuna, fill the basket within budget, vote, results."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers import participation, start
from handlers.participation import PRIVATE_ONLY, announce_rounds
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_bytes, import_file
from storage.models import Citizen, OutboxMessage, PBProject, PBRound, PBVote, Subscription
from storage.participation import save_ballot
from storage.privacy import give_consent
from storage.types import utcnow
from tests.storage.helpers import TZ, csv_bytes

USER = 7301
GROUP = -1007301
HEADER = ["ronda", "comuna", "presupuesto_comuna", "codigo", "proyecto", "costo", "abre",
          "cierra"]
ROWS = [
    ["2027", "4", "1.000.000", "P4-1", "Parque La Joya", "600.000"],
    ["2027", "4", "1.000.000", "P4-2", "Cámaras <seguridad>", "300.000"],
    ["2027", "4", "1.000.000", "P4-3", "Huertas", "200.000"],
    ["2027", "12", "500.000", "P12-1", "Ciclorruta", "400.000"],
]


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    now = utcnow().astimezone(settings.tz)
    opens = (now - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    closes = (now + timedelta(days=20)).strftime("%Y-%m-%d %H:%M")
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        await import_bytes(s, "presupuesto_participativo",
                           csv_bytes([HEADER, *[[*r, opens, closes] for r in ROWS]]), "pp.csv",
                           tz=settings.tz)


async def _projects(db: Database) -> dict[str, PBProject]:
    async with db.session() as s:
        return {p.codigo: p for p in (await s.exec(select(PBProject))).all()}


async def _ballots(db: Database) -> list[PBVote]:
    async with db.session() as s:
        return list((await s.exec(select(PBVote))).all())


async def _close(db: Database, round_id: int) -> None:
    async with db.session() as s:
        pb_round = await s.get(PBRound, round_id)
        assert pb_round is not None
        pb_round.cierra = utcnow() - timedelta(minutes=1)
        s.add(pb_round)
        await s.commit()


def _labels(params: dict[str, Any]) -> list[str]:
    return [b["text"] for row in params["reply_markup"]["inline_keyboard"] for b in row]


async def _open_comuna_4(api: LocalBotAPI) -> Any:
    user = api.user(USER)
    user.send_text("/presupuestos")
    [index] = await api.wait_for("sendMessage", chat_id=USER)
    assert "Presupuestos participativos" in index.params["text"]
    assert "🟢 4 · Occidental" in _labels(index.params)
    user.tap("🟢 4 · Occidental")
    [basket] = await api.wait_for("editMessageText", chat_id=USER)
    assert "Lleva $ 0 de $ 1.000.000" in basket.params["text"]
    assert "Cámaras &lt;seguridad&gt;" in basket.params["text"]
    return user


async def test_over_budget_is_refused_and_a_ballot_within_budget_is_stored(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = await _open_comuna_4(api)
    user.tap("⬜ Parque La Joya · $ 600.000")
    await api.wait_for("editMessageText", chat_id=USER, count=2)
    user.tap("⬜ Cámaras <seguridad> · $ 300.000")
    [*_, basket] = await api.wait_for("editMessageText", chat_id=USER, count=3)
    assert "Lleva $ 900.000 de $ 1.000.000" in basket.params["text"]

    user.tap("⬜ Huertas · $ 200.000")
    answers = await api.wait_for("answerCallbackQuery", count=4)
    assert answers[-1].params["text"] == (
        "Ese proyecto no cabe: cuesta $ 200.000 y le quedan $ 100.000 de $ 1.000.000. "
        "Quite otro proyecto para hacerle espacio."
    )
    assert answers[-1].params["show_alert"] is True
    assert len(api.calls_to(USER, ["editMessageText"])) == 3  # nothing changed on screen
    assert "⬜ Huertas · $ 200.000" in _labels(api.messages(USER)[-1])

    user.tap("✅ Votar")  # no consent yet: the notice, and the basket is kept
    [*_, notice] = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert "Sus datos personales" in notice.params["text"]
    assert await _ballots(db) == []
    user.tap("✅ Acepto")
    await api.wait_for("answerCallbackQuery", count=6)
    basket_id = api.messages(USER)[0]["message_id"]
    user.tap("✅ Votar", message_id=basket_id)
    [*_, saved] = await api.wait_for("editMessageText", chat_id=USER, count=5)
    assert "Su voto quedó guardado" in saved.params["text"]
    assert "Total: $ 900.000 de $ 1.000.000" in saved.params["text"]

    projects = await _projects(db)
    [ballot] = await _ballots(db)
    assert ballot.chat_id == USER and ballot.ronda == "2027"
    assert ballot.project_ids == sorted([projects["P4-1"].id, projects["P4-2"].id])
    async with db.session() as s:
        citizen = (await s.exec(select(Citizen).where(Citizen.telegram_id == USER))).one()
    assert citizen.comuna_id == 4


async def test_a_vote_can_be_changed_until_the_close(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await give_consent(s, telegram_id=USER, chat_id=USER)
    user = await _open_comuna_4(api)
    user.tap("⬜ Parque La Joya · $ 600.000")
    await api.wait_for("editMessageText", chat_id=USER, count=2)
    user.tap("✅ Votar")
    await api.wait_for("editMessageText", chat_id=USER, count=3)
    user.tap("✏️ Cambiar mi voto")
    [*_, basket] = await api.wait_for("editMessageText", chat_id=USER, count=4)
    assert "Lleva $ 600.000 de $ 1.000.000" in basket.params["text"]
    assert "Su voto guardado tiene 1 proyecto." in basket.params["text"]
    user.tap("☑️ Parque La Joya · $ 600.000")
    await api.wait_for("editMessageText", chat_id=USER, count=5)
    user.tap("⬜ Huertas · $ 200.000")
    await api.wait_for("editMessageText", chat_id=USER, count=6)
    user.tap("✅ Votar")
    [*_, saved] = await api.wait_for("editMessageText", chat_id=USER, count=7)
    assert "Huertas" in saved.params["text"] and "Parque La Joya" not in saved.params["text"]
    projects = await _projects(db)
    [ballot] = await _ballots(db)
    assert ballot.project_ids == [projects["P4-3"].id]


async def test_voting_after_the_close_is_refused_politely(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await give_consent(s, telegram_id=USER, chat_id=USER)
    user = await _open_comuna_4(api)
    user.tap("⬜ Huertas · $ 200.000")
    await api.wait_for("editMessageText", chat_id=USER, count=2)
    await _close(db, (await _projects(db))["P4-3"].round_id)
    user.tap("✅ Votar")
    answers = await api.wait_for("answerCallbackQuery", count=3)
    assert answers[-1].params["text"].startswith("La votación de esta comuna ya cerró")
    [*_, results] = await api.wait_for("editMessageText", chat_id=USER, count=3)
    assert results.params["text"].startswith("📊 <b>Resultados · Comuna 4 · Occidental</b>")
    assert await _ballots(db) == []


async def test_after_the_close_everyone_sees_votes_and_winners(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    projects = await _projects(db)
    round_id = projects["P4-1"].round_id
    async with db.session() as s:
        for chat, codes in [(1, ["P4-1"]), (2, ["P4-1", "P4-3"]), (3, ["P4-2", "P4-3"])]:
            outcome = await save_ballot(s, round_id=round_id, chat_id=chat, now=utcnow(),
                                        project_ids=[projects[c].id or 0 for c in codes])
            assert outcome.saved
    await _close(db, round_id)
    await _close(db, projects["P12-1"].round_id)
    user = api.user(USER)
    user.send_text("/presupuestos")
    [index] = await api.wait_for("sendMessage", chat_id=USER)
    assert "Elija una comuna para ver sus resultados" in index.params["text"]
    user.tap("📊 4 · Occidental")
    [results] = await api.wait_for("editMessageText", chat_id=USER)
    text = results.params["text"]
    assert "Votaron 3 personas" in text
    lines = [line for line in text.splitlines() if line.startswith(("✅", "❌"))]
    assert lines == [
        "✅ <b>Huertas</b> — 2 votos · $ 200.000",
        "✅ <b>Parque La Joya</b> — 2 votos · $ 600.000",
        "❌ <b>Cámaras &lt;seguridad&gt;</b> — 1 voto · $ 300.000",
    ]
    assert "Los ganadores suman $ 800.000" in text


async def test_double_taps_and_forged_buttons_change_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = await _open_comuna_4(api)
    basket_id = api.messages(USER)[0]["message_id"]
    first = user.tap("⬜ Huertas · $ 200.000", enqueue=False)
    api.enqueue(first)
    api.enqueue({**first, "update_id": first["update_id"] + 1})
    await api.wait_for("answerCallbackQuery", count=3)
    assert "Lleva $ 200.000 de $ 1.000.000" in api.messages(USER)[0]["text"]
    projects = await _projects(db)
    round_id = projects["P4-1"].round_id
    for data in [f"pp:s:{round_id}:{projects['P12-1'].id}:1:0", f"pp:s:{round_id}:99999:1:0",
                 f"pp:s:{round_id}:{projects['P4-1'].id}:7:0", "pp:v:abc", "pp:v:99999",
                 "pp:v:99999999999999999999", "pp:zz"]:
        forged = user.tap("✅ Votar", message_id=basket_id, enqueue=False)
        forged["callback_query"]["data"] = data
        api.enqueue(forged)
    answers = await api.wait_for("answerCallbackQuery", count=10)
    assert [a.params.get("text") for a in answers[-7:]] == ["Esa opción ya no está disponible."] * 7
    assert "Lleva $ 200.000 de $ 1.000.000" in api.messages(USER)[0]["text"]
    assert await _ballots(db) == []


async def test_the_menu_button_opens_it_and_no_rounds_is_said_plainly(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        for model in (PBProject, PBRound):
            for row in (await s.exec(select(model))).all():
                await s.delete(row)
            await s.commit()
    user = api.user(USER)
    user.send_text("/menu")
    await api.wait_for("sendMessage", chat_id=USER)
    update = user.tap("menu:metas", enqueue=False)
    update["callback_query"]["data"] = "menu:presupuestos"
    api.enqueue(update)
    [reply] = await api.wait_for("editMessageText", chat_id=USER)
    assert "Todavía no hay votaciones de presupuestos participativos" in reply.params["text"]


async def test_staff_import_the_file_from_telegram_all_or_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(1000)
    caption = "/importar presupuesto_participativo"
    over = csv_bytes([HEADER[:6], ["2028", "Norte", "100.000", "N-1", "Coliseo", "150.000"],
                      ["2028", "Norte", "100.000", "N-2", "Parque", "50.000"]])
    admin.send_document("pp.csv", over, caption=caption)
    [failed] = await api.wait_for("sendMessage", chat_id=1000)
    assert failed.params["text"].startswith("❌ No se importó nada.")
    assert "Fila 2, columna «costo»: el proyecto cuesta $ 150.000" in failed.params["text"]
    assert "N-2" not in await _projects(db)
    good = csv_bytes([HEADER[:6], ["2028", "Norte", "100.000", "N-1", "Coliseo", "60.000"],
                      ["2028", "Norte", "100.000", "N-2", "Parque", "50.000"]])
    admin.send_document("pp.csv", good, caption=caption)
    _, done = await api.wait_for("sendMessage", chat_id=1000, count=2)
    assert done.params["text"] == (
        "✅ Importación completa: presupuesto_participativo: 2 filas nuevas, 0 actualizadas, "
        "0 sin cambios."
    )
    assert {"N-1", "N-2"} <= set(await _projects(db))


async def test_a_long_list_pages_and_a_toggle_keeps_its_page(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    rows = [["2027", "13", "1.000.000", f"P13-{n}", f"Proyecto {n}", "100.000"]
            for n in range(1, 10)]
    async with db.session() as s:
        await import_bytes(s, "presupuesto_participativo", csv_bytes([HEADER[:6], *rows]),
                           "pp.csv", tz=TZ)
    user = api.user(USER)
    user.send_text("/presupuestos")
    await api.wait_for("sendMessage", chat_id=USER)
    user.tap("🟢 13 · Oriental")
    [first] = await api.wait_for("editMessageText", chat_id=USER)
    assert "Página 1 de 2" in first.params["text"]
    assert "Proyecto 7" not in first.params["text"]
    user.tap("Siguiente ▶️")
    [*_, second] = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert "Página 2 de 2" in second.params["text"] and "Proyecto 7" in second.params["text"]
    user.tap("⬜ Proyecto 7 · $ 100.000")
    [*_, toggled] = await api.wait_for("editMessageText", chat_id=USER, count=3)
    assert "Página 2 de 2" in toggled.params["text"]
    assert "☑️ Proyecto 7 · $ 100.000" in _labels(toggled.params)


async def test_in_a_group_it_asks_to_vote_in_private(bot: CabildoApp, api: LocalBotAPI) -> None:
    api.group(GROUP, "JAC Barrio La Joya")
    api.user(USER).send_text("/presupuestos", chat_id=GROUP)
    [reply] = await api.wait_for("sendMessage", chat_id=GROUP)
    assert reply.params["text"] == PRIVATE_ONLY
    assert reply.params.get("reply_markup") is None


async def test_staff_read_partial_results_and_a_csv_but_citizens_cannot(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    projects = await _projects(db)
    round_id = projects["P4-1"].round_id
    async with db.session() as s:
        await save_ballot(s, round_id=round_id, chat_id=1, now=utcnow(),
                          project_ids=[projects["P4-2"].id or 0])
    admin = api.user(1000)
    admin.send_text("/presupuestos")
    await api.wait_for("sendMessage", chat_id=1000)

    def press(user_id: int, data: str) -> None:
        [*_, last] = api.messages(user_id)
        label = last["reply_markup"]["inline_keyboard"][0][0]["text"]
        update = api.user(user_id).tap(label, enqueue=False)
        update["callback_query"]["data"] = data
        api.enqueue(update)

    press(1000, "staff:pp:i")
    [index] = await api.wait_for("editMessageText", chat_id=1000)
    assert "🟢 4 · Occidental (2027)" in _labels(index.params)
    press(1000, f"staff:pp:r:{round_id}:0")
    [_, partial] = await api.wait_for("editMessageText", chat_id=1000, count=2)
    assert partial.params["text"].startswith("⏳ <b>Resultados parciales</b>")
    assert "✅ <b>Cámaras &lt;seguridad&gt;</b> — 1 voto" in partial.params["text"]
    assert "❌ <b>Parque La Joya</b> — 0 votos" in partial.params["text"]
    press(1000, f"staff:pp:csv:{round_id}")
    await api.wait_for("sendDocument", chat_id=1000)
    sent = api.messages(1000)[-1]["document"]
    assert sent["file_name"] == "presupuesto-participativo-2027-comuna-4.csv"
    content = api.file_bytes(sent["file_id"]).decode("utf-8-sig").splitlines()
    assert content[0] == "ronda,comuna,codigo,proyecto,costo,votos,gana"
    assert content[1] == "2027,4,P4-2,Cámaras <seguridad>,300000.00,1,sí"

    api.user(USER).send_text("/presupuestos")
    await api.wait_for("sendMessage", chat_id=USER)
    press(USER, f"staff:pp:r:{round_id}:0")
    answers = await api.wait_for("answerCallbackQuery", count=4)
    assert answers[-1].params["text"] == "Ese botón ya no está disponible."
    assert api.calls_to(USER, ["editMessageText"]) == []


@pytest.mark.http  # written around the pace of HTTP round trips
async def test_a_deep_link_opens_a_comunas_basket(
    bot: CabildoApp, api: LocalBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(start.DEEP_LINKS, "pp", participation.open_comuna_link)
    user = api.user(USER)
    user.send_text("/start pp_12")
    [basket] = await api.wait_for("sendMessage", chat_id=USER)
    assert "Comuna 12 · Cabecera del Llano" in basket.params["text"]
    assert "Lleva $ 0 de $ 500.000" in basket.params["text"]
    user.send_text("/start pp_99")
    _, welcome = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert "Lleva" not in welcome.params["text"]


async def test_openings_and_closings_are_announced_once_to_the_comuna(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    projects = await _projects(db)
    round_id = projects["P4-1"].round_id
    async with db.session() as s:
        s.add_all([Subscription(chat_id=4001, kind="comuna", value="4"),
                   Subscription(chat_id=1201, kind="comuna", value="12")])
        await s.commit()
        await save_ballot(s, round_id=round_id, chat_id=4002, now=utcnow(),
                          project_ids=[projects["P4-3"].id or 0])
    assert await announce_rounds(db, settings, utcnow()) == 2
    assert await announce_rounds(db, settings, utcnow()) == 0
    await _close(db, round_id)
    assert await announce_rounds(db, settings, utcnow()) == 2
    assert await announce_rounds(db, settings, utcnow() + timedelta(days=2)) == 0
    async with db.session() as s:
        rows = (await s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    told = [(r.chat_id, r.payload["text"].splitlines()[1][:28]) for r in rows]
    assert sorted(told) == [
        (1201, "Ya puede votar por los proye"), (4001, "Cerró la votación de la comu"),
        (4001, "Ya puede votar por los proye"), (4002, "Cerró la votación de la comu"),
    ]
    closing = next(r for r in rows if r.chat_id == 4002)
    button = closing.payload["reply_markup"]["inline_keyboard"][0][0]
    assert (button["text"], button["callback_data"]) == ("📊 Ver resultados", f"pp:c:{round_id}")
