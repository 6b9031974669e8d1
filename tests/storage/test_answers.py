"""Reading questions: what is asked and about what, however it is spelt."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.formatting import money_short
from storage.answers.ask import parse
from storage.answers.lexicon import load, sound
from storage.search import spellings


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("ke", "que"), ("kien", "quien"), ("avanse", "avance"), ("ba", "va"), ("an", "han"),
     ("asta", "hasta"), ("ora", "hora"), ("notificasiones", "notificaciones"),
     ("yamar", "llamar"), ("parrque", "parque")],
)
def test_cue_words_match_however_they_are_spelt(typed: str, meant: str) -> None:
    assert sound(typed) == sound(meant)


def test_spelling_as_it_sounds_is_tried_one_slip_at_a_time() -> None:
    assert "educacion" in spellings("educasion")
    assert "vivienda" in spellings("bivienda")
    assert "hospital" in spellings("ospital")
    assert "hacienda" in spellings("asienda")  # the silent h and a c/s slip together


@pytest.mark.parametrize(
    ("question", "intent", "detail"),
    [
        ("cuanto avance tiene el puente peatonal", "atributo", "avance"),
        ("ke tanto an avansado con el muro", "atributo", "avance"),
        ("quien es el contratista del colegio", "atributo", "contratista"),
        ("cuanto le han pagado al contratista del colegio", "atributo", "avance_financiero"),
        ("cuanta plata a gastado infraestructura", "atributo", "compromisos"),
        ("cuando es la audiencia", "atributo", "fecha"),
        ("donde es la feria", "atributo", "sitio"),
        ("cuantos arboles han sembrado", "atributo", "avance"),
        ("cual es la obra mas cara", "comparar", "mas_valor"),
        ("que secretaria ha ejecutado menos", "comparar", "menos_ejecucion"),
        ("cuantas obras hay en la comuna 4", "contar", ""),
        ("que significa apropiacion", "definir", ""),
        ("como me inscribo a la audiencia", "como", "inscribirse"),
        ("me robaron el celular", "fuera", "emergencias"),
        ("obras en ejecucion en la comuna 15", "", ""),  # a status, not the budget's
    ],
)
def test_a_question_is_read_for_what_it_asks(question: str, intent: str, detail: str) -> None:
    ask = parse(question)
    assert ask.intent == intent
    assert detail in (ask.attribute, ask.measure, ask.action, ask.pointer)


def test_what_is_left_for_the_search_reads_as_the_data_does() -> None:
    ask = parse("cuantos arboles an sembrado")  # «an» is «han»: a word that says nothing
    assert ask.content == ("arboles",)
    assert parse("y quien es el contratista").follow
    assert parse("y la de la comuna 5?").frame_only


def test_a_trámite_is_pointed_to_even_when_a_cue_is_there() -> None:
    assert parse("donde saco el pasaporte").pointer == "tramites"
    assert parse("quiero poner una queja").pointer == "pqrsd"


def test_every_glossary_entry_can_be_asked_for() -> None:
    for entry in load().glossary:
        ask = parse(f"que significa {entry.term}")
        assert ask.intent == "definir" and entry in ask.terms, entry.term


@pytest.mark.parametrize(
    ("value", "shown"),
    [(412_300_000_000, "$ 412.300 millones"), (1_270_000_000_000, "$ 1,27 billones"),
     (10**12, "$ 1 billón"), (6_920_000_000, "$ 6.920 millones"), (1_500_000, "$ 1,5 millones"),
     (1_000_000, "$ 1 millón"), (450_000, "$ 450.000"), (12_345_678, "$ 12,3 millones"),
     (320_446_200_000, "$ 320.446 millones"), (Decimal("999999.6"), "$ 1 millón")],
)
def test_large_sums_read_as_colombians_say_them(value: int | Decimal, shown: str) -> None:
    assert money_short(value) == shown
