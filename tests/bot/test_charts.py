"""Charts: PNGs drawn off the event loop, one at a time, the same chart drawn once."""

from __future__ import annotations

import asyncio

import pytest

from bot import charts


@pytest.mark.slow
async def test_the_same_chart_is_drawn_once_and_a_changed_one_again() -> None:
    charts._bars_png.cache_clear()
    labels, values = ["Salud", "Educación", "Movilidad"], [92.0, 71.5, 35.0]
    first, second, *others = await asyncio.gather(*(
        charts.horizontal_bars(labels, values, title="Ejecución 2026") for _ in range(6)
    ))
    assert first.startswith(b"\x89PNG") and all(png == first for png in (second, *others))
    assert charts._bars_png.cache_info().currsize == 1
    changed = await charts.horizontal_bars(labels, [92.0, 72.0, 35.0], title="Ejecución 2026")
    assert changed.startswith(b"\x89PNG") and changed != first
    assert charts._bars_png.cache_info().currsize == 2


async def test_survey_panels_are_drawn_and_cached_by_content() -> None:
    charts._panels_png.cache_clear()
    panels = [("¿Conoce la rendición de cuentas?", ["Sí", "No"], [91.0, 9.0])]
    png = await charts.percent_panels(panels, title="Diagnóstico")
    again = await charts.percent_panels([(q, list(opts), list(v)) for q, opts, v in panels],
                                        title="Diagnóstico")
    assert png.startswith(b"\x89PNG") and again == png
    assert charts._panels_png.cache_info().hits == 1
