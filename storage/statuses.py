"""The statuses an item can have, per kind, read from `storage/data/estados.yaml`.

One vocabulary for everything: the importers accept a status only if it is there (and
store its canonical name), and the free-text search reads its words from it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from storage.text import fold_words

VOCABULARY_FILE = Path(__file__).parent / "data" / "estados.yaml"


@dataclass(frozen=True)
class Status:
    """One status: its key (as the search names it), its shown name and its spellings."""

    key: str
    name: str
    said: tuple[str, ...]  # how people say it, in questions and files
    in_files: tuple[str, ...]  # other spellings accepted only in files


@dataclass(frozen=True)
class Vocabulary:
    """The statuses of one kind, in the order the file lists them."""

    kind: str
    statuses: tuple[Status, ...]

    def names(self) -> list[str]:
        """Return the canonical names, as stored and shown («En ejecución»)."""
        return [status.name for status in self.statuses]

    @cached_property
    def spellings(self) -> dict[str, Status]:
        """Return every accepted spelling, folded, → its status."""
        found: dict[str, Status] = {}
        for status in self.statuses:
            for spelling in (status.key, status.name, *status.said, *status.in_files):
                found.setdefault(fold_words(spelling), status)
        return found

    def find(self, written: str) -> Status | None:
        """Return the status a written value names (any case, accents or punctuation)."""
        return self.spellings.get(fold_words(written))

    def nearest(self, written: str) -> Status | None:
        """Return the status whose spelling is closest to an unknown value, if any is close."""
        spellings = self.spellings
        near = difflib.get_close_matches(fold_words(written), list(spellings), n=1, cutoff=0.6)
        return spellings[near[0]] if near else None


def _load(path: Path) -> dict[str, Vocabulary]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    vocabularies: dict[str, Vocabulary] = {}
    for kind, entries in data.items():
        statuses = tuple(
            Status(
                key=str(key),
                name=str(entry["nombre"]),
                said=tuple(str(w) for w in entry.get("se_dice") or ()),
                in_files=tuple(str(w) for w in entry.get("en_archivos") or ()),
            )
            for key, entry in entries.items()
        )
        vocabularies[kind] = Vocabulary(kind, statuses)
    return vocabularies


VOCABULARIES = _load(VOCABULARY_FILE)
WORK_STATUSES = VOCABULARIES["obras"]
CONTRACTING_STATUSES = VOCABULARIES["contratacion"]
