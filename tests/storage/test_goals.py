"""How people ask for goals in a status, read from their words."""

from __future__ import annotations

import pytest

from storage.goals import status_asked


@pytest.mark.parametrize(("text", "expected"), [
    ("metas cumplidas", ("cumplida", "")),
    ("¿Qué metas del plan van retrasadas?", ("rezagada", "")),
    ("metas de salud atrasadas", ("rezagada", "salud")),
    ("metas de <b>salud</b> atrasadas", ("rezagada", "salud")),
    ("METAS EN CURSO", ("en curso", "")),
    ("metas incumplidas", ("rezagada", "")),
    ("obras terminadas", None),  # works, not goals
    ("metas de salud", None),  # no status: a sector search
])
def test_a_goal_status_is_read_from_the_question(
    text: str, expected: tuple[str, str] | None
) -> None:
    assert status_asked(text) == expected


def test_after_metas_the_goal_word_is_implied() -> None:
    assert status_asked("atrasadas", about_goals=True) == ("rezagada", "")
    assert status_asked("atrasadas") is None
