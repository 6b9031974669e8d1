"""How a comuna is named inside a sentence («en la comuna 4 · Occidental»)."""

from __future__ import annotations

from storage.models import Comuna


def comuna_place(comuna: Comuna | None, code: str) -> tuple[str, str]:
    """Return a comuna after «en» and after «de»: «en la comuna 1 · Norte», «de la …»."""
    name = f"{comuna.tipo} {comuna.codigo} · {comuna.nombre}" if comuna else f"comuna {code}"
    if name.startswith("corregimiento"):
        return f"en el {name}", f"del {name}"
    return f"en la {name}", f"de la {name}"
