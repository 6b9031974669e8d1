"""The site's routes: pages, open data (CSV/JSON), the map's API and the follow endpoint."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.config import Settings, WebSettings
from storage.alerts import subscriptions_of, toggle
from storage.budget import execution, latest_year
from storage.db import Database
from storage.exports import to_csv
from storage.opendata import (
    DATASETS,
    all_comunas,
    columns,
    dataset_rows,
    goals_by_line,
    published_survey_results,
    works_for_map,
)
from storage.privacy import has_consent
from storage.stats import data_counts
from storage.works import work_by_code
from web import pages
from web.bodies import BadLength, BodyTooLarge, read_capped
from web.initdata import InitDataError, verify_init_data

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY = 8192  # /api/seguir: initData and a code are well under 4 KB
NEEDS_CONSENT = (
    "Para seguir obras, primero acepte el aviso de datos personales en el bot: "
    "escriba /privacidad en el chat."
)
FOLLOWING = "Listo: le avisaré por Telegram de los cambios de esta obra."
ALREADY = "Ya sigue esta obra; le avisaré de sus cambios."
STOPPED = "Ya no le avisaré de esta obra."
NOT_FOLLOWING = "No seguía esta obra."
FORGED = "No pudimos comprobar que la solicitud viene de Telegram. Abra el mapa desde el bot."
EXPIRED = "La sesión se venció. Cierre el mapa y ábralo de nuevo desde el bot."
UNKNOWN_WORK = "Esa obra no existe."
BAD_REQUEST = "Solicitud no válida."
TOO_LARGE = "La solicitud es demasiado grande."
SERVER_ERROR = (
    "El sitio tuvo un problema y no pudo mostrar esta página. Intente de nuevo más tarde."
)

Endpoint = Callable[[Request], Awaitable[Response]]


def _csp(tile_url: str) -> str:
    parts = urlsplit(tile_url.replace("{s}.", "a."))
    origin = f"{parts.scheme}://{parts.netloc}"
    if "{s}." in tile_url:
        origin = f"{parts.scheme}://*.{parts.netloc.split('.', 1)[1]}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: {origin}; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class Site:
    """The site's request handlers, bound to one database and its settings."""

    def __init__(self, db: Database, settings: Settings, web: WebSettings) -> None:
        self.db = db
        self.settings = settings
        self.web = web
        self.headers = {
            "Content-Security-Policy": _csp(web.tile_url),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }

    def _page(self, template: str, title: str, current: str, *, scripts: tuple[str, ...] = (),
              styles: tuple[str, ...] = (), status: int = 200, **shown: Any) -> HTMLResponse:
        html = pages.render(template, title=title, current=current,
                            municipality=self.settings.municipality_name,
                            locale=self.settings.locale, scripts=scripts, styles=styles, **shown)
        return HTMLResponse(html, status_code=status, headers=self.headers)

    async def home(self, request: Request) -> Response:
        """Show what the site holds."""
        async with self.db.session() as session:
            counts = await data_counts(session)
        return self._page("home.html", "Inicio", "/", works=counts.obras, goals=counts.metas)

    async def map_page(self, request: Request) -> Response:
        """Show the map of works with its filters and the works' table."""
        chosen = pages.MapFilter(request.query_params.get("comuna", "")[:8],
                                 request.query_params.get("estado", "")[:60])
        async with self.db.session() as session:
            works = await works_for_map(session)
            comunas = await all_comunas(session)
        shown = pages.map_page(
            works, comunas, chosen, locale=self.settings.locale, tile_url=self.web.tile_url,
            attribution=self.web.tile_attribution, bot_username=self.web.bot_username,
            today=self.settings.today(),
        )
        return self._page("map.html", "Mapa de obras", "/mapa",
                          scripts=("/static/vendor/leaflet/leaflet.js", "/static/mapa.js"),
                          styles=("/static/vendor/leaflet/leaflet.css",), **shown)

    async def transparency(self, request: Request) -> Response:
        """Show goals by line, budget execution by office and survey results."""
        async with self.db.session() as session:
            goal_lines = await goals_by_line(session)
            year = await latest_year(session)
            total, offices = (await execution(session, vigencia=year)) if year else (None, [])
            closed, running = await published_survey_results(session)
        shown = pages.transparency_page(goal_lines, total, offices, closed, running,
                                        minimum=self.settings.survey_min_responses)
        return self._page("transparency.html", "Transparencia", "/transparencia", **shown)

    async def data_page(self, request: Request) -> Response:
        """Show the open-data downloads and the data dictionary."""
        async with self.db.session() as session:
            found = await data_counts(session)
        counts = {"obras": found.obras, "metas": found.metas, "presupuesto": found.presupuesto,
                  "comunas": found.comunas}
        return self._page("open_data.html", "Datos abiertos", "/datos",
                          **pages.data_page(counts))

    async def dataset(self, request: Request) -> Response:
        """Send one open-data set as CSV or JSON."""
        name, fmt = request.path_params["name"], request.path_params["fmt"]
        if name not in DATASETS or fmt not in ("csv", "json"):
            return await self.not_found(request, HTTPException(404))
        async with self.db.session() as session:
            rows = await dataset_rows(session, name)
        header = columns(name)
        filename = f"{name}.{fmt}"
        disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if fmt == "csv":
            return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8",
                            headers={**self.headers, **disposition})
        payload = {
            "conjunto": name,
            "titulo": pages.DATASET_TITLES[name],
            "generado": datetime.now(UTC).isoformat(timespec="seconds"),
            "columnas": header,
            "datos": [{c: _plain(v) for c, v in zip(header, row, strict=True)} for row in rows],
        }
        return JSONResponse(payload, headers=self.headers)

    async def works_api(self, request: Request) -> Response:
        """Return every work as the map shows it (figures already formatted)."""
        async with self.db.session() as session:
            works = await works_for_map(session)
        today = self.settings.today()
        items = [pages.work_json(w, self.settings.locale, self.web.bot_username, today)
                 for w in works]
        return JSONResponse({"obras": items}, headers=self.headers)

    async def follow(self, request: Request) -> Response:
        """Follow (or stop following) a work for the Telegram user named by signed initData."""
        try:
            body = await read_capped(request, MAX_BODY)
        except BodyTooLarge:
            return self._json({"ok": False, "mensaje": TOO_LARGE}, 413)
        except BadLength:
            return self._json({"ok": False, "mensaje": BAD_REQUEST}, 400)
        try:
            data = json.loads(body)
            raw, codigo = data["init_data"], data["codigo"]
            wanted = bool(data.get("seguir", True))
            if not isinstance(raw, str) or not isinstance(codigo, str) or len(codigo) > 32:
                raise ValueError("bad types")
        except (ValueError, KeyError, TypeError):
            return self._json({"ok": False, "mensaje": BAD_REQUEST}, 400)
        try:
            user = verify_init_data(raw, self.settings.token,
                                    max_age=self.web.init_data_max_age)
        except InitDataError as exc:
            message = FORGED if exc.status == 401 else EXPIRED
            log.info("web follow refused: %s", exc)
            return self._json({"ok": False, "mensaje": message}, exc.status)
        async with self.db.session() as session:
            work = await work_by_code(session, codigo)
            if work is None:
                return self._json({"ok": False, "mensaje": UNKNOWN_WORK}, 404)
            if not await has_consent(session, telegram_id=user.id):
                return self._json({"ok": False, "consentimiento": False,
                                   "mensaje": NEEDS_CONSENT}, 200)
            # In the private chat with the bot, the chat id is the user's id.
            following = ("obra", codigo) in await subscriptions_of(session, chat_id=user.id)
            if following != wanted:
                following = await toggle(session, chat_id=user.id, kind="obra", value=codigo)
                message = FOLLOWING if following else STOPPED
            else:
                message = ALREADY if following else NOT_FOLLOWING
        return self._json({"ok": True, "siguiendo": following, "mensaje": message}, 200)

    def _json(self, payload: dict[str, Any], status: int) -> JSONResponse:
        return JSONResponse(payload, status_code=status, headers=self.headers)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """Answer unknown addresses with a Spanish page."""
        return self._page("not_found.html", "Página no encontrada", "", status=404)

    def guarded(self, endpoint: Endpoint, *, api: bool = False) -> Endpoint:
        """Wrap `endpoint` so an unexpected error is logged and answered in Spanish (500)."""

        async def guarded_endpoint(request: Request) -> Response:
            try:
                return await endpoint(request)
            except HTTPException:
                raise
            except Exception:
                log.exception("web: %s %s failed", request.method, request.url.path)
                if api:
                    return self._json({"ok": False, "mensaje": SERVER_ERROR}, 500)
                return self._page("error.html", "Error del sitio", "", status=500,
                                  message=SERVER_ERROR)

        guarded_endpoint.__doc__ = endpoint.__doc__
        return guarded_endpoint

    async def server_error(self, request: Request, exc: Exception) -> Response:
        """Answer an error outside the routes (a last resort) with the Spanish error page."""
        return self._page("error.html", "Error del sitio", "", status=500,
                          message=SERVER_ERROR)


def web_routes(db: Database, settings: Settings, web: WebSettings | None = None) -> list[BaseRoute]:
    """Return the site's routes (pages, open data, map API, follow endpoint, static files)."""
    site = Site(db, settings, web or settings.web)
    return [
        Route("/", site.guarded(site.home), methods=["GET"]),
        Route("/mapa", site.guarded(site.map_page), methods=["GET"]),
        Route("/transparencia", site.guarded(site.transparency), methods=["GET"]),
        Route("/datos", site.guarded(site.data_page), methods=["GET"]),
        Route("/datos/{name}.{fmt}", site.guarded(site.dataset), methods=["GET"]),
        Route("/api/obras", site.guarded(site.works_api, api=True), methods=["GET"]),
        Route("/api/seguir", site.guarded(site.follow, api=True), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def build_site(db: Database, settings: Settings, web: WebSettings | None = None) -> Starlette:
    """Return the site alone as an ASGI app (for `cabildo web`, `python -m web` and tests)."""
    web = web or settings.web
    site = Site(db, settings, web)
    return Starlette(routes=web_routes(db, settings, web),
                     exception_handlers={404: site.not_found, 500: site.server_error})
