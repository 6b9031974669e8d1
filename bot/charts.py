"""Chart images (PNG) for the bot, rendered with matplotlib's Agg backend off the event loop."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
from matplotlib import pyplot as plt
from matplotlib.figure import Figure


def _bars(labels: Sequence[str], values: Sequence[float], title: str, unit: str) -> bytes:
    height = max(4.0, 0.45 * len(labels) + 1.5)
    fig: Figure = plt.figure(figsize=(8, height), dpi=110)
    try:
        ax = fig.add_subplot()
        positions = range(len(labels))[::-1]
        ax.barh(list(positions), list(values), color="#1f6f8b")
        ax.set_yticks(list(positions), [label[:38] for label in labels], fontsize=9)
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
        plt.close(fig)


async def horizontal_bars(
    labels: Sequence[str], values: Sequence[float], *, title: str, unit: str = "%"
) -> bytes:
    """Return a horizontal bar chart as PNG bytes, drawn in a worker thread."""
    return await asyncio.to_thread(_bars, list(labels), list(values), title, unit)
