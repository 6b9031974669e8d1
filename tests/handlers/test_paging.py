"""Paging clamps to real pages and offers buttons only for pages that exist."""

from __future__ import annotations

from handlers.callbacks.reports import ReportsPage
from handlers.paging import page_row, paginate


def test_pages_are_clamped_and_labelled_for_people() -> None:
    items = list(range(20))
    last = paginate(items, 99, per_page=8)
    assert (list(last.items), last.label) == ([16, 17, 18, 19], "Página 3 de 3")
    assert paginate(items, -4, per_page=8).number == 0
    assert paginate([], 0).label == "Página 1 de 1"


def test_navigation_offers_only_pages_that_exist() -> None:
    items = list(range(20))
    assert [b.text for b in page_row(paginate(items, 0), ReportsPage)] == ["Siguiente ▶️"]
    middle = page_row(paginate(items, 1), ReportsPage)
    assert [b.callback_data for b in middle] == ["inf:0", "inf:2"]
    assert page_row(paginate(items[:3], 0), ReportsPage) == []
