"""Figures look the way a Colombian reader expects."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.formatting import local_date, local_datetime, money, percent, plural, progress_bar


def test_money_uses_dots_for_thousands_and_no_cents() -> None:
    assert money(Decimal("1234567.89")) == "$ 1.234.568"
    assert money(598_400_000_000) == "$ 598.400.000.000"


def test_percent_uses_a_decimal_comma() -> None:
    assert percent(45.3) == "45,3 %"
    assert percent(100) == "100 %"


def test_progress_bar_is_ten_cells_and_clamped() -> None:
    assert progress_bar(42) == "▓▓▓▓░░░░░░"
    assert progress_bar(130) == "▓" * 10
    assert progress_bar(-5) == "░" * 10
    assert progress_bar(96) == "▓" * 9 + "░"  # not done: never a full bar
    assert progress_bar(100) == "▓" * 10
    assert progress_bar(2) == "▓" + "░" * 9  # started: never an empty bar


def test_dates_are_spanish_and_local() -> None:
    assert local_date(date(2026, 11, 24)) == "24 de noviembre de 2026"
    shown = local_datetime(datetime(2026, 11, 24, 20, 30, tzinfo=UTC), ZoneInfo("America/Bogota"))
    assert shown.startswith("martes, 24 de noviembre de 2026, 3:30")


def test_counts_name_their_noun_and_group_thousands() -> None:
    assert plural(1, "respuesta", "respuestas") == "1 respuesta"
    assert plural(0, "respuesta", "respuestas") == "0 respuestas"
    assert plural(12345, "persona", "personas") == "12.345 personas"
