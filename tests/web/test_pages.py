"""The web site over HTTP: the map and its data, the home page, settings, errors, escaping."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.config import Settings, SettingsError, WebSettings, load_settings
from storage.db import Database
from storage.models import Work
from tests.web.pages_support import _survey_with_answers, cells, parse
from tests.web.pages_support import client as client  # a fixture: pytest looks for it here
from web.site import SERVER_ERROR, build_site

pytestmark = pytest.mark.usefixtures("demo_data")


async def test_map_page_lists_every_work_and_serves_leaflet_locally(
    client: httpx.AsyncClient, db: Database
) -> None:
    async with db.session() as session:
        works = (await session.exec(select(Work))).all()
    located = [w for w in works if w.latitud is not None]
    assert len(works) == 66 and len(located) == 61

    response = await client.get("/mapa")

    assert response.status_code == 200
    html = response.text
    assert '<html lang="es-CO">' in html
    page = parse(html)
    assert sorted(page.shown_rows) == sorted(w.codigo for w in works)
    data = re.search(r'<script type="application/json" id="datos-obras">(.*?)</script>', html, re.S)
    assert data is not None
    embedded = json.loads(data.group(1))["obras"]
    assert len([o for o in embedded if o["latitud"] is not None]) == 61
    assert "61</span> obras en\nel mapa" in html
    # Leaflet comes from this server, never from a CDN.
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/leaflet/leaflet.js" in sources
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
                 "/static/mapa.js", "/static/site.css"):
        assert (await client.get(path)).status_code == 200, path
    assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_map_filter_works_without_javascript(client: httpx.AsyncClient) -> None:
    response = await client.get("/mapa", params={"comuna": "4", "estado": ""})

    page = parse(response.text)
    embedded = re.search(r'id="datos-obras">(.*?)</script>', response.text, re.S)
    assert embedded is not None
    in_4 = [o["codigo"] for o in json.loads(embedded.group(1))["obras"] if o["comuna"] == "4"]
    assert sorted(page.shown_rows) == sorted(in_4) and len(in_4) >= 1
    assert len(page.hidden_rows) == 66 - len(in_4)
    assert '<option value="4" selected>' in response.text


async def test_popup_data_has_the_figures_of_the_work(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/obras")

    work = next(o for o in response.json()["obras"] if o["codigo"] == "OB-2026-001")
    assert work["nombre"] == "Pavimentación de la Calle 7N en el barrio Kennedy"
    assert work["valor_texto"] == "$ 4.850 millones"  # amounts in sentences: money_short
    assert work["avance_fisico_texto"] == "62 %"
    assert work["contratista"] == "Consorcio Vías del Norte 2026"
    assert work["fecha_inicio_texto"] == "16 de marzo de 2026"
    assert work["comuna_nombre"] == "Comuna 1 · Norte"
    assert work["enlace_telegram"] == "https://t.me/CabildoPruebaBot?start=obra_OB-2026-001"


async def test_a_work_without_reported_progress_shows_no_bar_and_no_zero(
    client: httpx.AsyncClient, db: Database
) -> None:
    async with db.session() as s:
        work = (await s.exec(select(Work).where(Work.codigo == "OB-2026-001"))).one()
        work.avance_fisico = None  # as SECOP leaves it until its execution plans say
        s.add(work)
        await s.commit()

    popup = next(o for o in (await client.get("/api/obras")).json()["obras"]
                 if o["codigo"] == "OB-2026-001")
    page = (await client.get("/mapa")).text

    assert (popup["avance_fisico"], popup["avance_fisico_texto"]) == (None, "no reportado")
    row = re.search(r'<tr data-codigo="OB-2026-001".*?</tr>', page, re.S)
    assert row is not None and '<td class="num">no reportado</td>' in row.group(0)


async def test_the_map_marks_works_past_their_planned_end(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    today = datetime.now(settings.tz).date()
    async with db.session() as s:
        works = {w.codigo: w for w in (await s.exec(select(Work))).all()}
    late = {code for code, w in works.items() if w.fecha_fin_prevista is not None
            and w.fecha_fin_prevista < today and w.estado != "Terminada"}
    assert late

    response = await client.get("/api/obras")

    marked = {o["codigo"] for o in response.json()["obras"] if o["atrasada"]}
    assert marked == late


async def test_pages_answer_in_spanish_and_unknown_addresses_get_404(
    client: httpx.AsyncClient,
) -> None:
    home = await client.get("/")
    assert "Rendición de cuentas de Bucaramanga" in home.text
    missing = await client.get("/no-existe")
    assert missing.status_code == 404 and "Página no encontrada" in missing.text
    assert (await client.get("/datos/usuarios.csv")).status_code == 404
    assert (await client.get("/datos/obras.xml")).status_code == 404


def test_web_settings_read_and_checked() -> None:
    web = load_settings({"WEB_PUBLIC_URL": "https://obras.example.gov.co/", "WEB_PORT": "9000",
                         "TELEGRAM_BOT_USERNAME": "@CabildoBot"}, env_file=None).web
    assert web.mini_app_url == "https://obras.example.gov.co/mapa"
    assert (web.port, web.bot_username) == (9000, "CabildoBot")
    assert load_settings({"WEB_PUBLIC_URL": "http://10.0.0.5:8080"},
                         env_file=None).web.mini_app_url is None
    assert load_settings({}, env_file=None).web.tile_url == (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    )
    for bad in ({"WEB_PORT": "ochenta"}, {"WEB_PUBLIC_URL": "obras.gov.co"},
                {"MAP_TILE_URL": "https://tiles.example/{z}.png"}):
        with pytest.raises(SettingsError):
            load_settings(bad, env_file=None)


async def test_content_security_policy_allows_only_the_configured_tile_server(
    db: Database, settings: Settings
) -> None:
    web = WebSettings(tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    transport = httpx.ASGITransport(app=build_site(db, settings, web))
    async with httpx.AsyncClient(transport=transport, base_url="http://sitio") as http:
        response = await http.get("/mapa")
    policy = response.headers["content-security-policy"]
    assert "img-src 'self' data: https://*.tile.example.org;" in policy
    assert "script-src 'self';" in policy
    assert 'data-tiles="https://{s}.tile.example.org/{z}/{x}/{y}.png"' in response.text


async def test_an_unexpected_error_gets_a_spanish_page(
    site_settings: Settings, web_settings: WebSettings, tmp_path: Path,
) -> None:
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'sin-tablas.db'}")  # never migrated
    app = build_site(empty, site_settings, web_settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sitio") as http:
            for path in ("/", "/mapa", "/transparencia", "/datos", "/datos/obras.csv"):
                response = await http.get(path)
                assert response.status_code == 500, path
                assert "Algo salió mal" in response.text, path
                assert "Intente de nuevo más tarde" in response.text
                assert "Internal Server Error" not in response.text
                assert response.headers["content-type"].startswith("text/html")
            api = await http.get("/api/obras")
            assert api.status_code == 500
            assert api.json() == {"ok": False, "mensaje": SERVER_ERROR}
    finally:
        await empty.dispose()


async def test_markup_in_the_data_is_shown_as_text_never_run(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    name = 'Parque <script>alert("x")</script> «La Joya» & O\'Neil'
    async with db.session() as session:
        work = (await session.exec(select(Work).where(Work.codigo == "OB-2026-001"))).one()
        work.nombre = name
        session.add(work)
        await session.commit()
    await _survey_with_answers(db, settings, "marcas", "Encuesta <b>sin</b> marcas", [])

    page = (await client.get("/mapa")).text
    transparency = (await client.get("/transparencia")).text

    assert "<script>alert" not in page and "<b>sin</b>" not in transparency
    assert name in cells(parse(page), "tabla-obras")
    embedded = re.search(r'id="datos-obras">(.*?)</script>', page, re.S)
    assert embedded is not None and "</script>" not in embedded.group(1)
    assert {o["nombre"] for o in json.loads(embedded.group(1))["obras"]} >= {name}
    assert "Encuesta &lt;b&gt;sin&lt;/b&gt; marcas" in transparency  # an open survey's name
