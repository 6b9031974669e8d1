"""What the participatory-budget screens share: the flow's name, limits and names."""

from __future__ import annotations

from html import escape

from storage.participation import RoundCard

FLOW = "pp"
PER_PAGE = 6
NAME_CHARS = 150
DESCRIPTION_CHARS = 160
CLOSED = "La votación de esta comuna ya cerró; no se guardó su voto. Estos son los resultados."
NOT_OPEN = "La votación de esta comuna todavía no abre."
GONE = "Esa opción ya no está disponible."
PRIVATE_ONLY = (
    "Los presupuestos participativos se votan en privado: escríbame y envíe /presupuestos."
)
STATE_ICON = {"abierto": "🟢", "cerrado": "📊", "proximo": "⏳"}


def short(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, with «…» when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def comuna_name(card: RoundCard) -> str:
    """Name a round's comuna for HTML: `4 · Occidental`."""
    return f"{escape(card.comuna.codigo)} · {escape(card.comuna.nombre)}"
