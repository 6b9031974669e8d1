"""Rounds that require a verified phone number: one ballot per number, the sender's own only."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import ImportFailed, import_bytes, import_file
from storage.models import PBPhone, PBRound, PBVote
from storage.participation import save_ballot
from storage.privacy import give_consent
from storage.types import utcnow
from tests.storage.helpers import csv_bytes

ANA, BETO = 7801, 7802  # two Telegram accounts
PHONE = "+57 300 123 4567"
HEADER = ["ronda", "comuna", "presupuesto_comuna", "codigo", "proyecto", "costo", "abre",
          "cierra", "requiere_verificacion"]


def _rows(verified: str = "sí") -> list[list[str]]:
    return [
        ["2027", "4", "1.000.000", "P4-1", "Parque La Joya", "600.000", "", "", verified],
        ["2027", "4", "1.000.000", "P4-2", "Huertas", "200.000", "", "", verified],
    ]


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        await import_bytes(s, "presupuesto_participativo", csv_bytes([HEADER, *_rows()]),
                           "pp.csv", tz=settings.tz)
        for chat in (ANA, BETO):
            await give_consent(s, telegram_id=chat, chat_id=chat)


def _labels(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [b["text"] for row in rows for b in row]


async def _ballots(db: Database) -> list[PBVote]:
    async with db.session() as s:
        return list((await s.exec(select(PBVote))).all())


async def _choose_and_vote(api: LocalBotAPI, chat: int) -> Any:
    """Open comuna 4, pick the park and tap «Votar»; return the number request."""
    person = api.user(chat)
    person.send_text("/presupuestos")
    await api.wait_for("sendMessage", chat_id=chat)
    person.tap("🟢 4 · Occidental")
    [basket] = await api.wait_for("editMessageText", chat_id=chat)
    assert "📱 Al votar le pediré verificar su número de teléfono" in basket.params["text"]
    person.tap("⬜ Parque La Joya · $ 600.000")
    await api.wait_for("editMessageText", chat_id=chat, count=2)
    person.tap("✅ Votar")
    [_, ask] = await api.wait_for("sendMessage", chat_id=chat, count=2)
    return person, ask


async def test_only_the_senders_own_number_verifies_and_casts_the_vote(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    ana, ask = await _choose_and_vote(api, ANA)
    assert ask.params["text"].startswith("📱 <b>Esta votación pide verificar su número")
    [button] = ask.params["reply_markup"]["keyboard"][0]
    assert button == {"text": "📱 Compartir mi número", "request_contact": True}
    assert await _ballots(db) == []

    ana.send_contact("+57 310 999 8888", user_id=BETO, first_name="Beto")  # someone else's
    ana.send_contact("+57 311 000 0000", user_id=None, first_name="Tía")  # no Telegram
    texts = [c.params["text"] for c in await api.wait_for("sendMessage", chat_id=ANA, count=4)]
    assert texts[2:] == [texts[2]] * 2 and texts[2].startswith("❌ Ese contacto no es el suyo.")
    assert await _ballots(db) == []

    ana.send_contact(PHONE)
    verified, saved = (await api.wait_for("sendMessage", chat_id=ANA, count=6))[-2:]
    assert verified.params["text"] == "✅ Número verificado. Guardo su voto…"
    assert verified.params["reply_markup"] == {"remove_keyboard": True}
    assert "Su voto quedó guardado" in saved.params["text"]
    assert "Parque La Joya" in saved.params["text"]
    [ballot] = await _ballots(db)
    assert ballot.chat_id == ANA
    async with db.session() as s:
        [phone] = (await s.exec(select(PBPhone))).all()
    # Only keyed hashes are kept: neither the number nor the chat id.
    stored = f"{phone.phone_key} {phone.voter_key}"
    assert "3001234567" not in stored
    # Keyed hashes through and through (a 4-digit chat id turns up by chance in 64 random hex
    # digits once in a few hundred runs, so the check is on the form, not on a substring).
    assert all(re.fullmatch(r"h:[0-9a-f]{64}", key) for key in (phone.phone_key, phone.voter_key))
    assert phone.voter_key == ballot.voter_key


async def test_a_second_account_with_the_same_number_cannot_vote_again(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    ana, _ = await _choose_and_vote(api, ANA)
    ana.send_contact(PHONE)
    await api.wait_for("sendMessage", chat_id=ANA, count=4)
    beto, _ = await _choose_and_vote(api, BETO)
    beto.send_contact("573001234567")  # the same number, written as Telegram sends it
    [*_, refused] = await api.wait_for("sendMessage", chat_id=BETO, count=3)
    assert refused.params["text"].startswith(
        "❌ Ese número de teléfono ya se usó para votar en esta ronda desde otra cuenta")
    assert [b.chat_id for b in await _ballots(db)] == [ANA]
    # Tapping «Votar» again asks for the number again; nothing is saved without it.
    beto.tap("✅ Votar")
    await api.wait_for("sendMessage", chat_id=BETO, count=4)
    assert [b.chat_id for b in await _ballots(db)] == [ANA]


async def test_my_data_says_the_verified_number_is_kept_only_as_a_keyed_mark(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    mark = ("🔐 Su número de teléfono, verificado para votar en 1 ronda de presupuesto "
            "participativo, no lo guardo: queda sin el número ni su id de Telegram, solo con "
            "una marca cifrada para que no se use dos veces en la misma ronda.")
    ana, _ = await _choose_and_vote(api, ANA)
    ana.send_contact(PHONE)
    await api.wait_for("sendMessage", chat_id=ANA, count=4)

    ana.send_text("/mis_datos")
    mine = (await api.wait_for("sendMessage", chat_id=ANA, count=5))[-1].params["text"]
    assert "Votos en presupuestos participativos: 1" in mine
    assert mark in mine and "3001234567" not in mine
    api.user(BETO).send_text("/mis_datos")  # another account's number is not theirs
    [other] = await api.wait_for("sendMessage", chat_id=BETO)
    assert "teléfono" not in other.params["text"]

    ana.send_text("/borrar_datos")
    await api.wait_for("sendMessage", chat_id=ANA, count=6)
    ana.tap("🗑️ Sí, borrar")
    await api.wait_for("editMessageText", chat_id=ANA, count=3)
    ana.send_text("/mis_datos")
    after = (await api.wait_for("sendMessage", chat_id=ANA, count=7))[-1].params["text"]
    assert after == (
        "No tengo ningún dato suyo guardado, aparte de esta conversación.\n\n"
        "🔐 1 voto en presupuesto participativo queda sin su id de Telegram, solo con una "
        f"marca cifrada para que no se cuenten dos veces.\n{mark}")


async def test_a_ballot_without_verification_is_refused_by_storage(
    db: Database, settings: Settings, seed: None
) -> None:
    async with db.session() as s:
        [pb_round] = (await s.exec(select(PBRound))).all()
        assert pb_round.requiere_verificacion is True
        outcome = await save_ballot(s, round_id=pb_round.id or 0, chat_id=ANA,
                                    project_ids=[1], now=utcnow())
    assert outcome.status == "sin_verificar"
    assert await _ballots(db) == []


async def test_the_import_reads_si_no_and_refuses_what_it_cannot_read(
    db: Database, settings: Settings, seed: None
) -> None:
    bad = _rows()
    bad[1][-1] = "quizás"
    with pytest.raises(ImportFailed) as refused:
        async with db.session() as s:
            await import_bytes(s, "presupuesto_participativo", csv_bytes([HEADER, *bad]),
                               "pp.csv", tz=settings.tz)
    assert "requiere_verificacion" in str(refused.value)
    assert "«sí» o «no»" in str(refused.value)
    mixed = _rows()
    mixed[1][-1] = "no"
    with pytest.raises(ImportFailed) as disagree:
        async with db.session() as s:
            await import_bytes(s, "presupuesto_participativo", csv_bytes([HEADER, *mixed]),
                               "pp.csv", tz=settings.tz)
    assert "no coincide con la fila 2" in str(disagree.value)
    # Once the round has a ballot, whether it requires verification cannot change.
    async with db.session() as s:
        [pb_round] = (await s.exec(select(PBRound))).all()
        pb_round.requiere_verificacion = False
        s.add(pb_round)
        await s.commit()
        outcome = await save_ballot(s, round_id=pb_round.id or 0, chat_id=ANA,
                                    project_ids=[1], now=utcnow() + timedelta(seconds=1))
        assert outcome.saved
    with pytest.raises(ImportFailed) as locked:
        async with db.session() as s:
            await import_bytes(s, "presupuesto_participativo", csv_bytes([HEADER, *_rows()]),
                               "pp.csv", tz=settings.tz)
    assert "ya no puede cambiar si pide verificar el número" in str(locked.value)


async def test_a_contact_with_no_vote_waiting_keeps_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.user(ANA).send_contact(PHONE)
    [reply] = await api.wait_for("sendMessage", chat_id=ANA)
    assert reply.params["text"].startswith("Gracias. No tengo un voto pendiente de verificar")
    assert reply.params["reply_markup"] == {"remove_keyboard": True}
    async with db.session() as s:
        assert (await s.exec(select(PBPhone))).all() == []
