"""The installed version of Cabildo, for `/estado`, `cabildo estado` and `/healthz`."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    """Return the installed version of Cabildo."""
    try:
        return metadata.version("cabildo")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "desconocida"
