"""Import errors: one per bad cell or row, and the exception that carries them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# How many errors an `ImportFailed` keeps, and how many its text lists.
KEPT_ERRORS = 1000
LISTED_ERRORS = 20
_SHOWN_CHARS = 40


@dataclass(frozen=True)
class RowError:
    """A problem in one spreadsheet row (header is row 1), optionally in one column."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.column:
            return f"Fila {self.row}, columna «{self.column}»: {self.message}"
        return f"Fila {self.row}: {self.message}"


class CellError(ValueError):
    """Raised by a cell parser; the message is Spanish and shown to the operator."""


class ImportFailed(Exception):
    """Nothing was imported; `str()` tells the operator why in plain Spanish."""

    def __init__(
        self,
        message: str | None = None,
        errors: Sequence[RowError] = (),
        *,
        total_errors: int | None = None,
    ) -> None:
        self.message = message
        self.lead: str | None = None  # said first: which of several imports failed
        self.errors: list[RowError] = list(errors[:KEPT_ERRORS])
        self.total_errors = total_errors if total_errors is not None else len(errors)
        # Every data row with an error (the header, row 1, is the file's own problem).
        self.bad_rows: list[int] = sorted({e.row for e in errors if e.row > 1})
        # Whether importing only the good rows is possible: every error is in a data row.
        self.rows_only = bool(errors) and all(e.row > 1 for e in errors)
        super().__init__(self._text())

    def led_by(self, line: str) -> ImportFailed:
        """Put `line` before what `str()` says (which of several imports failed); return self."""
        self.lead = line
        self.args = (self._text(),)
        return self

    def _text(self) -> str:
        lines = [self.lead] if self.lead else []
        if self.message:
            lines.append(self.message)
        if self.total_errors:
            if not self.message:
                noun = "error" if self.total_errors == 1 else "errores"
                lines.append(
                    f"El archivo tiene {self.total_errors} {noun}. Corríjalo y vuelva a enviarlo:"
                )
            lines.extend(str(error) for error in self.errors[:LISTED_ERRORS])
            rest = self.total_errors - min(len(self.errors), LISTED_ERRORS)
            if rest > 0:
                lines.append(f"… y {rest} {'error' if rest == 1 else 'errores'} más.")
                if self.bad_rows:
                    count = len(self.bad_rows)
                    lines.append(f"Filas con errores ({count}): {row_ranges(self.bad_rows)}.")
        return "\n".join(lines) or "No se pudo importar el archivo."

    def __str__(self) -> str:
        return self._text()


def row_ranges(rows: Sequence[int]) -> str:
    """Write sorted row numbers compactly: `[2, 3, 4, 7]` → `2–4, 7`."""
    parts: list[str] = []
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        parts.append(str(rows[i]) if i == j else f"{rows[i]}–{rows[j]}")
        i = j + 1
    return ", ".join(parts)


def shown(value: Any) -> str:
    """Quote a cell value for a message, shortened when long."""
    text = str(value).strip().replace("\n", " ")
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 1] + "…"
    return f"«{text}»"
