"""How the bot compares what people type with what the data says: one way to fold text.

Citizens write without accents, in capitals, with extra spaces or a final period; the data
has «Ejecución», «Comuna 4 - Occidental». Every comparison goes through these functions so
that «ejecucion», «EJECUCIÓN» and «  ejecución » all mean the same thing everywhere.
"""

from __future__ import annotations

import re

from unidecode import unidecode

_NOT_WORD = re.compile(r"[^a-z0-9]+")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
# unidecode's own answers for the Latin letters and the punctuation Spanish text is made of,
# applied in one C-level pass; only a text with other characters goes through unidecode,
# which maps character by character in Python (most of the search index's build time).
_LATIN = {cp: unidecode(chr(cp)) for cp in (*range(0x80, 0x250), *range(0x2000, 0x2070))}


def to_ascii(text: str) -> str:
    """Transliterate to ASCII exactly as unidecode does: `Ñandú – 1º` → `Nandu - 1o`."""
    if text.isascii():
        return text
    latin = text.translate(_LATIN)
    return latin if latin.isascii() else unidecode(latin)


def fold(text: str) -> str:
    """Lower-case, strip accents, collapse spaces: `  En  Ejecución ` → `en ejecucion`."""
    return " ".join(to_ascii(text).lower().split())


def without_tags(text: str, between: str = " ") -> str:
    """Drop HTML tags a person typed (or the bot wrote): `<b>salud</b>` → ` salud `."""
    return _TAG.sub(between, text)


def fold_words(text: str) -> str:
    """Fold, and turn punctuation into spaces: `Comuna 4 - Occidental` → `comuna 4 occidental`."""
    return " ".join(_NOT_WORD.split(to_ascii(text).lower())).strip()


def singulars(word: str) -> list[str]:
    """Return a folded word and its likely Spanish singulars: `talleres` → taller, tallere."""
    found = [word]
    if len(word) > 4 and word.endswith("es"):
        found.append(word[:-2])
    if len(word) > 3 and word.endswith("s"):
        found.append(word[:-1])
    return found


def holds(folded_text: str, word: str) -> bool:
    """Tell whether a folded text contains a folded word or one of its singulars."""
    return any(w in folded_text for w in singulars(word))
