"""Folding text: what a person types and what the data says compare alike."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from unidecode import unidecode

from storage.text import fold, fold_words, holds, singulars, to_ascii, without_tags


def test_fold_ignores_case_accents_and_spacing() -> None:
    assert fold("  En  EJECUCIÓN \n") == "en ejecucion"
    assert fold("Participación ciudadana") == fold("participacion CIUDADANA")
    assert fold("") == ""


def test_fold_words_turns_punctuation_into_single_spaces() -> None:
    assert fold_words("Comuna 4 - Occidental") == "comuna 4 occidental"
    assert fold_words("¡Sí.!") == "si"
    assert fold_words("...") == ""


def test_plural_words_find_their_singular() -> None:
    assert singulars("talleres") == ["talleres", "taller", "tallere"]
    assert singulars("parques") == ["parques", "parqu", "parque"]
    assert holds("taller de cocreacion", "talleres")
    assert holds("construccion del parque la joya", "parques")
    assert not holds("construccion del parque la joya", "colegios")
    assert singulars("mes") == ["mes"]  # too short to guess a plural


def test_tags_typed_in_a_message_are_dropped_but_comparisons_kept() -> None:
    assert without_tags("metas de <b>salud</b>") == "metas de  salud "
    assert without_tags("<i>avance</i> < 50 %", "") == "avance < 50 %"


@settings(max_examples=500)
@given(st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x24F),  # Latin letters, mostly
    st.characters(min_codepoint=0x2000, max_codepoint=0x2070),  # dashes, quotes
    st.characters(codec="utf-8"),  # anything else
), max_size=40))
def test_the_fast_transliteration_is_unidecodes_own(text: str) -> None:
    assert to_ascii(text) == unidecode(text)


def test_spanish_text_transliterates_as_people_type_it() -> None:
    assert to_ascii("Ñandú – «Ejecución» 1º") == 'Nandu - <<Ejecucion>> 1o'
    assert fold("  CONSTRUCCIÓN   del  Polideportivo ") == "construccion del polideportivo"
