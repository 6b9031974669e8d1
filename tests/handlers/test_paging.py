"""Paging clamps to real pages and keeps callback data inside Telegram's limit."""

from __future__ import annotations

import pytest

from handlers.paging import callback, nav_row, paginate


def test_pages_are_clamped_and_labelled_for_people() -> None:
    items = list(range(20))
    last = paginate(items, 99, per_page=8)
    assert (list(last.items), last.label) == ([16, 17, 18, 19], "Página 3 de 3")
    assert paginate(items, -4, per_page=8).number == 0
    assert paginate([], 0).label == "Página 1 de 1"


def test_navigation_offers_only_pages_that_exist() -> None:
    items = list(range(20))
    assert [b.text for b in nav_row(paginate(items, 0), "obra", "p")] == ["Siguiente ▶️"]
    middle = nav_row(paginate(items, 1), "obra", "p")
    assert [b.callback_data for b in middle] == ["obra:p:0", "obra:p:2"]
    assert nav_row(paginate(items[:3], 0), "obra", "p") == []


def test_callback_data_over_64_bytes_is_refused() -> None:
    assert callback("meta", "L1-P01-M01") == "meta:L1-P01-M01"
    with pytest.raises(ValueError, match="64 bytes"):
        callback("obra", "ñ" * 40)
