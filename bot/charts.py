"""Chart images (PNG) for the bot, rendered with matplotlib off the event loop.

Figures are built with matplotlib's object API, not pyplot: pyplot keeps global state that
is not safe across the worker threads charts are drawn in. matplotlib (~45 MB) is imported
on the first chart, not when the bot starts.

A figure holds tens of megabytes while it is drawn, and drawing is CPU-bound: charts are
drawn one at a time per process (`_DRAWING`), and the same chart asked again (the budget
chart is the same for everyone until the next import) comes from a small cache of PNGs.
"""

from __future__ import annotations

import asyncio
import functools
import io
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.formatting import clip

if TYPE_CHECKING:
    from matplotlib.figure import Figure


_DRAWING = threading.Lock()
CACHED_CHARTS = 16


def _figure(width: float, height: float, dpi: int) -> Figure:
    """Return a new figure (rendered by the Agg canvas: no display needed)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi)


def _bars(labels: Sequence[str], values: Sequence[float], title: str, unit: str) -> bytes:
    height = max(4.0, 0.45 * len(labels) + 1.5)
    fig = _figure(8, height, 110)
    try:
        ax = fig.add_subplot()
        positions = range(len(labels))[::-1]
        ax.barh(list(positions), list(values), color="#1f6f8b")
        ax.set_yticks(list(positions), [clip(label, 38) for label in labels], fontsize=9)
        ax.set_xlim(0, max(100.0, max(values, default=0) * 1.1))
        ax.set_title(title, fontsize=12, loc="left")
        ax.set_xlabel(unit)
        for y, value in zip(positions, values, strict=True):
            ax.text(value + 1, y, f"{value:.0f}".replace(".", ","), va="center", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        fig.clear()


@functools.lru_cache(maxsize=CACHED_CHARTS)
def _bars_png(labels: tuple[str, ...], values: tuple[float, ...], title: str, unit: str) -> bytes:
    with _DRAWING:
        return _bars(labels, values, title, unit)


async def horizontal_bars(
    labels: Sequence[str], values: Sequence[float], *, title: str, unit: str = "%"
) -> bytes:
    """Return a horizontal bar chart as PNG bytes, drawn in a worker thread."""
    return await asyncio.to_thread(
        _bars_png, tuple(labels), tuple(float(v) for v in values), title, unit
    )


Panel = tuple[str, Sequence[str], Sequence[float]]  # (question, option labels, percentages)


def _plain(text: str) -> str:
    """Keep people's text literal: a `$` would otherwise start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _panels(panels: Sequence[Panel], title: str) -> bytes:
    heights = [0.32 * len(labels) + 0.9 for _, labels, _ in panels]
    fig = _figure(8, max(3.0, sum(heights) + 0.8), 100)
    try:
        axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)
        for ax, (question, labels, values) in zip(axes[:, 0], panels, strict=True):
            positions = list(range(len(labels)))[::-1]
            ax.barh(positions, list(values), color="#1f6f8b")
            ax.set_yticks(positions, [_plain(clip(label, 34)) for label in labels], fontsize=8)
            ax.set_xlim(0, 110)
            ax.set_xticks([])
            ax.set_title(_plain(clip(question, 70)),
                         fontsize=9, loc="left")
            for y, value in zip(positions, values, strict=True):
                ax.text(value + 1, y, f"{value:.0f} %".replace(".", ","), va="center",
                        fontsize=8)
            ax.spines[["top", "right", "bottom"]].set_visible(False)
        top_inches = 0.5  # room for the title above the first panel
        fig.suptitle(_plain(title[:80]), fontsize=11, x=0.01, ha="left")
        fig.tight_layout(rect=(0, 0, 1, 1 - top_inches / fig.get_figheight()))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        fig.clear()


async def percent_panels(panels: Sequence[Panel], *, title: str) -> bytes:
    """Return one PNG with a percentage bar panel per question, drawn in a worker thread."""
    if not panels:
        raise ValueError("no panels to draw")
    frozen = tuple((q, tuple(labels), tuple(float(v) for v in values))
                   for q, labels, values in panels)
    return await asyncio.to_thread(_panels_png, frozen, title)


@functools.lru_cache(maxsize=CACHED_CHARTS)
def _panels_png(panels: tuple[Panel, ...], title: str) -> bytes:
    with _DRAWING:
        return _panels(panels, title)
