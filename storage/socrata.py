"""Read a dataset of datos.gov.co (a Socrata portal) through its API, whole or not at all.

`GET <base>/resource/<dataset>.json` with SoQL: `$select` for only the fields used,
`$where` to filter, a stable `$order` so pages neither skip nor repeat rows,
`$limit`/`$offset` to page. An app token, when given,
goes in `X-App-Token` (it raises the rate limits). A 429 or 5xx answer, a timeout or a
dropped connection is retried with back-off, honouring `Retry-After`; anything else — a
refused query, a page that is not a JSON list of rows — stops the read with one Spanish
sentence (`FetchFailed`), so the caller imports nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from storage.importers import ImportFailed
from storage.types import utcnow

log = logging.getLogger(__name__)
RETRIED = (429, 500, 502, 503, 504)
MAX_ROWS = 100_000  # as many as one imported file may hold


class FetchFailed(ImportFailed):
    """The source could not be read whole; the message says why, in Spanish."""


@dataclass(frozen=True)
class Query:
    """One SoQL read of one dataset: its filter, its order and the page size."""

    dataset: str  # «jbjy-vk9h»
    where: str
    order: str
    select: tuple[str, ...] = ()  # the fields wanted; empty: all of them
    page_size: int = 1000


@dataclass(frozen=True)
class Fetched:
    """The rows a query returned, in order, and how many pages it took."""

    rows: list[dict[str, Any]]
    pages: int


@dataclass
class SocrataClient:
    """Pages through a Socrata resource with retries; reads all of it or raises."""

    base_url: str
    app_token: str = field(default="", repr=False)
    timeout: float = 30.0
    attempts: int = 5  # tries of one page before giving up
    backoff: float = 2.0  # seconds before the 2nd try, doubled after each
    max_wait: float = 120.0  # the longest wait, whatever Retry-After says
    page_size: int | None = None  # rows a page, instead of the query's
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    transport: httpx.AsyncBaseTransport | None = None

    async def fetch(self, query: Query) -> Fetched:
        """Return every row of `query`, page by page; raise `FetchFailed` if any page fails."""
        headers = {"Accept": "application/json", "User-Agent": "Cabildo"}
        if self.app_token:
            headers["X-App-Token"] = self.app_token
        size = self.page_size or query.page_size
        rows: list[dict[str, Any]] = []
        pages = 0
        async with httpx.AsyncClient(
            base_url=self.base_url.rstrip("/"), headers=headers, timeout=self.timeout,
            transport=self.transport,
        ) as client:
            while True:
                pages += 1
                page = await self._page(client, query, size, offset=len(rows), number=pages)
                rows.extend(page)
                if len(page) < size:
                    return Fetched(rows, pages)
                if len(rows) >= MAX_ROWS:
                    limit = f"{MAX_ROWS:,}".replace(",", ".")
                    raise FetchFailed(
                        f"El conjunto {query.dataset} devuelve más de {limit} filas con ese "
                        "filtro; Cabildo importa hasta esa cantidad de una vez: filtre más."
                    )

    async def _page(
        self, client: httpx.AsyncClient, query: Query, size: int, *, offset: int, number: int
    ) -> list[dict[str, Any]]:
        params = {"$where": query.where, "$order": query.order,
                  "$limit": str(size), "$offset": str(offset)}
        if query.select:
            params["$select"] = ",".join(query.select)
        where = f"la página {number} del conjunto {query.dataset} en {self.base_url}"
        problem = ""
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                response = await client.get(f"/resource/{query.dataset}.json", params=params)
            except httpx.TimeoutException:
                problem = f"no respondió en {self.timeout:g} segundos"
            except httpx.TransportError as exc:
                problem = f"no se pudo conectar ({type(exc).__name__})"
            else:
                if response.status_code == 200:
                    return _rows(response, where)
                if response.status_code not in RETRIED:
                    raise FetchFailed(_refused(response, where))
                problem = (
                    "respondió 429 (demasiadas consultas)" if response.status_code == 429
                    else f"respondió {response.status_code} (falla del servidor)"
                )
                wait = _retry_after(response, wait)
            if attempt == self.attempts:
                break
            wait = min(wait, self.max_wait)
            log.warning("datos.gov.co: %s %s; retry %d in %.1f s", where, problem, attempt, wait)
            await self.sleep(wait)
        hint = (" Configure DATOS_GOV_APP_TOKEN para tener un límite más alto."
                if "429" in problem and not self.app_token else "")
        raise FetchFailed(
            f"datos.gov.co no entregó {where} tras {self.attempts} intentos; el último "
            f"{problem}. Intente más tarde.{hint}"
        )


def _rows(response: httpx.Response, where: str) -> list[dict[str, Any]]:
    """Read a page: a JSON list of objects, or say what it is instead."""
    try:
        data = json.loads(response.content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise FetchFailed(
            f"{_cap(where)} llegó dañada: no es JSON (¿una página de error o una respuesta "
            "cortada?); intente más tarde."
        ) from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise FetchFailed(
            f"{_cap(where)} llegó dañada: se esperaba una lista de filas ([{{…}}, {{…}}]). "
            "Intente más tarde."
        )
    return data


def _refused(response: httpx.Response, where: str) -> str:
    """Say why the portal refused a request (a bad query, a bad token, an unknown dataset)."""
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = str(body.get("message") or body.get("error") or "")[:300]
    except ValueError:
        pass
    status = response.status_code
    said = f"{status}: «{detail}»" if detail else str(status)
    if status in (401, 403):
        return (f"datos.gov.co rechazó el token de aplicación al pedir {where} ({said}). "
                "Revise DATOS_GOV_APP_TOKEN.")
    if status == 404:
        return (f"datos.gov.co no encontró el conjunto al pedir {where} ({said}). "
                "Revise DATOS_GOV_URL.")
    return f"datos.gov.co rechazó la consulta al pedir {where} ({said})."


def _retry_after(response: httpx.Response, default: float) -> float:
    """Return the wait `Retry-After` asks for (seconds or an HTTP date), else `default`."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return default


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
