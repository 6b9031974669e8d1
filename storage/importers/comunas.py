"""Find the comuna or corregimiento a person meant: `4`, `Occidental`, `Comuna 4 - Occidental`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from storage.importers.errors import CellError, shown
from storage.text import fold_words

_NUMBERED = re.compile(
    r"(?:(?P<prefix>comuna|com|corregimiento|correg|corr|c)\s*)?(?P<number>\d+)"
    r"(?:\s+(?P<name>.+))?"
)
_CORREGIMIENTO_PREFIXES = frozenset({"corregimiento", "correg", "corr", "c"})


def comuna_code(text: str) -> str:
    """Normalize a comuna code: `04` → `4`, `c1` → `C1`."""
    code = text.strip().upper()
    return str(int(code)) if code.isdigit() else code


def names_a_number(written: str) -> bool:
    """Tell whether the text is only a comuna's number (`99`, `comuna 99`, `c2`)."""
    match = _NUMBERED.fullmatch(fold_words(written))
    return match is not None and match["name"] is None


@dataclass(frozen=True)
class ComunaRef:
    """A comuna known to the database."""

    id: int
    codigo: str
    nombre: str


class ComunaIndex:
    """Resolve written comunas against the ones in the database."""

    def __init__(self, comunas: Iterable[ComunaRef]) -> None:
        self._by_code: dict[str, ComunaRef] = {}
        self._by_name: dict[str, ComunaRef] = {}
        for comuna in comunas:
            self._by_code.setdefault(fold_words(comuna.codigo), comuna)
            self._by_name.setdefault(fold_words(comuna.nombre), comuna)

    def __bool__(self) -> bool:
        return bool(self._by_code)

    def resolve(self, written: str) -> ComunaRef:
        """Return the comuna a person meant, or raise `CellError` saying why not."""
        text = fold_words(written)
        found = self._by_code.get(text) or self._by_name.get(text)
        if found:
            return found
        match = _NUMBERED.fullmatch(text)
        if match:
            return self._numbered(written, match)
        for prefix in ("comuna ", "corregimiento "):
            if text.startswith(prefix) and text[len(prefix) :] in self._by_name:
                return self._by_name[text[len(prefix) :]]
        raise CellError(f"no se encontró la comuna {shown(written)}.")

    def _numbered(self, written: str, match: re.Match[str]) -> ComunaRef:
        number = str(int(match["number"]))
        code = f"c{number}" if match["prefix"] in _CORREGIMIENTO_PREFIXES else number
        found = self._by_code.get(code)
        if found is None:
            raise CellError(f"no se encontró la comuna {shown(written)}.")
        name = match["name"]
        if name and fold_words(found.nombre) not in (name, f"comuna {name}"):
            raise CellError(
                f"en {shown(written)} el número y el nombre no coinciden "
                f"({found.codigo} es {found.nombre})."
            )
        return found
