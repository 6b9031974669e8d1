"""The web site over HTTP: pages, open data, the CSV round trip and the follow endpoint."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.config import Settings, SettingsError, WebSettings, load_settings
from storage.alerts import subscriptions_of
from storage.budget import execution, latest_year
from storage.db import Database
from storage.goals import lines
from storage.importers import import_bytes
from storage.models import Survey, Work
from storage.opendata import DATASETS
from storage.privacy import give_consent
from storage.surveys import position, record_answer, start_response, survey_by_slug
from storage.types import utcnow
from tests.web.conftest import TOKEN
from web.initdata import ExpiredInitData, ForgedInitData, sign_init_data, verify_init_data
from web.site import SERVER_ERROR, build_site

pytestmark = pytest.mark.usefixtures("demo_data")


@pytest.fixture
async def client(
    db: Database, site_settings: Settings, web_settings: WebSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """Return an HTTP client talking to the site in-process."""
    app = build_site(db, site_settings, web_settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sitio") as http:
        yield http


@dataclass
class Table:
    """One table of a page: its id, caption and cell texts (headers and data, in order)."""

    id: str | None
    caption: str = ""
    cells: list[str] = field(default_factory=list)


class Tables(HTMLParser):
    """Collect a page's tables, the scope of every `th`, and the works' rows shown/hidden."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self._in: str | None = None
        self.scopes: list[str | None] = []
        self.hidden_rows: list[str] = []
        self.shown_rows: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.tables.append(Table(found.get("id")))
        elif tag in ("caption", "td", "th"):
            self._in = tag
            if tag == "th":
                self.scopes.append(found.get("scope"))
            if tag != "caption":
                self.tables[-1].cells.append("")
        elif tag == "tr" and "data-codigo" in found:
            rows = self.hidden_rows if "hidden" in found else self.shown_rows
            rows.append(found["data-codigo"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("caption", "td", "th"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "caption":
            self.tables[-1].caption += data
        elif self._in in ("td", "th"):
            self.tables[-1].cells[-1] += data


def parse(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def cells(page: Tables, table_id: str) -> list[str]:
    table = next(t for t in page.tables if t.id == table_id)
    return [" ".join(c.split()) for c in table.cells]


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


async def test_transparency_page_has_accessible_tables_with_the_stored_figures(
    client: httpx.AsyncClient, db: Database
) -> None:
    async with db.session() as session:
        branches = await lines(session)
        year = await latest_year(session)
        assert year is not None
        total, offices = await execution(session, vigencia=year)

    response = await client.get("/transparencia")

    assert response.status_code == 200
    page = parse(response.text)
    ids = {t.id for t in page.tables}
    assert {"tabla-metas", "tabla-presupuesto"} <= ids
    assert all(t.caption for t in page.tables)
    assert None not in page.scopes
    goal_cells = cells(page, "tabla-metas")
    assert goal_cells[6] == f"1. {branches[0].name}"
    assert goal_cells[7] == str(len(branches[0].goals))
    assert goal_cells[8] == str(branches[0].count("cumplida"))
    assert len(goal_cells) == 6 * (len(branches) + 1)
    budget_cells = cells(page, "tabla-presupuesto")
    expected_total = "$ " + f"{round(total.apropiacion):,}".replace(",", ".")
    assert budget_cells[-7:][:2] == ["Total", expected_total]
    assert budget_cells[7] == offices[0].name
    assert "Todavía no hay encuestas cerradas con resultados." in response.text


async def test_pages_answer_in_spanish_and_unknown_addresses_get_404(
    client: httpx.AsyncClient,
) -> None:
    home = await client.get("/")
    assert "Rendición de cuentas de Bucaramanga" in home.text
    missing = await client.get("/no-existe")
    assert missing.status_code == 404 and "Página no encontrada" in missing.text
    assert (await client.get("/datos/usuarios.csv")).status_code == 404
    assert (await client.get("/datos/obras.xml")).status_code == 404


@pytest.mark.parametrize("dataset", DATASETS)
async def test_csv_download_reimports_unchanged(
    client: httpx.AsyncClient, db: Database, settings: Settings, dataset: str
) -> None:
    response = await client.get(f"/datos/{dataset}.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{dataset}.csv"' in response.headers["content-disposition"]
    async with db.session() as session:
        result = await import_bytes(session, dataset, response.content, f"{dataset}.csv",
                                    tz=settings.tz)
    assert (result.created, result.updated, result.warnings) == (0, 0, [])
    assert result.unchanged > 0


async def test_json_download_has_the_csv_columns_and_rows(client: httpx.AsyncClient) -> None:
    csv_text = (await client.get("/datos/obras.csv")).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text)))

    payload = (await client.get("/datos/obras.json")).json()

    assert payload["conjunto"] == "obras"
    assert payload["columnas"] == rows[0]
    assert rows[0][:5] == ["codigo", "nombre", "comuna", "estado", "avance_fisico"]
    assert len(payload["datos"]) == len(rows) - 1 == 66
    first = payload["datos"][0]
    assert first["codigo"] == "OB-2026-001" and first["valor_contrato"] == 4850000000.0
    assert first["comuna"] == "1" and first["fecha_inicio"] == "2026-03-16"


async def test_open_data_page_documents_every_column(client: httpx.AsyncClient) -> None:
    response = await client.get("/datos")

    page = parse(response.text)
    dictionary = cells(page, "tabla-datos")
    assert "Obras públicas" in dictionary
    assert "obras.csv" in response.text and "obras.json" in response.text
    assert "<code>valor_contrato</code>" in response.text
    assert "pesos (2 decimales)" in response.text


# --- initData and the follow endpoint ----------------------------------------------


def signed(user_id: int = 4242, *, token: str = TOKEN, age: int = 10) -> str:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Ana"}, separators=(",", ":")),
        "auth_date": str(int(time.time()) - age),
    }
    return sign_init_data(fields, token)


def test_verify_init_data_accepts_a_published_example() -> None:
    # The example of the init-data-python package's documentation (a real Telegram signature).
    raw = (
        "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A"
        "%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22"
        "%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D&auth_date=1662771648"
        "&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2"
    )
    token = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"

    user = verify_init_data(raw, token, now=1662771648 + 60)

    assert (user.id, user.first_name) == (279058397, "Vladislav")
    with pytest.raises(ExpiredInitData):
        verify_init_data(raw, token, now=1662771648 + 7200)
    with pytest.raises(ForgedInitData):
        verify_init_data(raw.replace("Vladislav", "Vladimir"), token, now=1662771648 + 60)
    with pytest.raises(ForgedInitData):
        verify_init_data(raw + "&hash=00", token, now=1662771648 + 60)


async def follow(client: httpx.AsyncClient, init_data: str, codigo: str = "OB-2026-001",
                 **extra: object) -> httpx.Response:
    return await client.post("/api/seguir",
                             json={"init_data": init_data, "codigo": codigo, **extra})


async def test_forged_or_expired_init_data_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    async with db.session() as session:
        await give_consent(session, telegram_id=4242, chat_id=4242)
    good = signed()
    tampered = good.replace("Ana", "Eva")
    other_bot = signed(token="999:another-bot")

    for raw in (tampered, other_bot, "", "user=%7B%22id%22%3A4242%7D&auth_date=1",
                good.replace("hash=", "hash=0")):
        response = await follow(client, raw)
        assert response.status_code == 401, raw
        assert "No pudimos comprobar" in response.json()["mensaje"]
    expired = await follow(client, signed(age=2 * 3600))
    assert expired.status_code == 403
    assert "se venció" in expired.json()["mensaje"]
    future = await follow(client, signed(age=-3600))
    assert future.status_code == 403
    bad = await client.post("/api/seguir", content=b"{no es json")
    assert bad.status_code == 400
    async with db.session() as session:
        assert await subscriptions_of(session, chat_id=4242) == set()


async def test_follow_needs_consent_then_subscribes_once(
    client: httpx.AsyncClient, db: Database
) -> None:
    without = await follow(client, signed())
    assert without.status_code == 200
    assert without.json() == {
        "ok": False, "consentimiento": False,
        "mensaje": "Para seguir obras, primero acepte el aviso de datos personales en el "
                   "bot: escriba /privacidad en el chat.",
    }
    async with db.session() as session:
        assert await subscriptions_of(session, chat_id=4242) == set()
        await give_consent(session, telegram_id=4242, chat_id=4242)

    first = await follow(client, signed())
    again = await follow(client, signed())

    assert first.json() == {"ok": True, "siguiendo": True,
                            "mensaje": "Listo: le avisaré por Telegram de los cambios de "
                                       "esta obra."}
    assert again.json()["siguiendo"] is True and "Ya sigue" in again.json()["mensaje"]
    async with db.session() as session:
        assert await subscriptions_of(session, chat_id=4242) == {("obra", "OB-2026-001")}
    stop = await follow(client, signed(), seguir=False)
    assert stop.json()["siguiendo"] is False
    unknown = await follow(client, signed(), codigo="OB-NO-EXISTE")
    assert unknown.status_code == 404
    async with db.session() as session:
        assert await subscriptions_of(session, chat_id=4242) == set()


async def test_no_token_means_every_init_data_is_refused(
    db: Database, settings: Settings, web_settings: WebSettings
) -> None:
    app = build_site(db, settings, web_settings)  # local chat: no bot token
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sitio") as http:
        response = await follow(http, signed())
    assert response.status_code == 401


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


SURVEY = """
slug: {slug}
titulo: {title}
anonima: true
preguntas:
  - tipo: unica
    texto: ¿Asistió a la audiencia?
    opciones: [Sí, No]
  - tipo: texto
    texto: Comentarios
"""


async def _survey_with_answers(db: Database, settings: Settings, slug: str, title: str,
                               answers: list[list[object]]) -> Survey:
    async with db.session() as session:
        await import_bytes(session, "encuesta", SURVEY.format(slug=slug, title=title).encode(),
                           f"{slug}.yaml", tz=settings.tz)
        survey = await survey_by_slug(session, slug)
        assert survey is not None
        for chat, raws in enumerate(answers, start=500):
            await start_response(session, survey=survey, telegram_id=chat, chat_id=chat)
            for raw in raws:
                where = await position(session, survey=survey, chat_id=chat)
                assert where.question is not None
                recorded = await record_answer(session, survey=survey, chat_id=chat,
                                               position_number=where.question.position,
                                               raw=raw)
                assert recorded.status == "ok"
    return survey


async def test_transparency_publishes_results_of_closed_surveys_only(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    closed = await _survey_with_answers(
        db, settings, "cerrada", "Evaluación de la audiencia",
        [[0, "muy bien"], [0, "bien"], [1, "mal"], [0, "regular"], [1, "x"], [0]],
    )
    few = await _survey_with_answers(db, settings, "pocas", "Consulta con pocas respuestas",
                                     [[0, "sí"], [1, "no"]])
    await _survey_with_answers(db, settings, "abierta", "Percepción en curso", [[1, "x"]])
    async with db.session() as session:
        for survey in (closed, few):
            stored = await session.get(Survey, survey.id)
            assert stored is not None
            stored.cierra = utcnow() - timedelta(days=1)
            session.add(stored)
        await session.commit()

    response = await client.get("/transparencia")

    page = parse(response.text)
    [table] = [t for t in page.tables if "¿Asistió a la audiencia?" in t.caption]
    assert " ".join(table.caption.split()) == "1. ¿Asistió a la audiencia? (5 respuestas)"
    assert [" ".join(c.split()) for c in table.cells] == [
        "Respuesta", "Personas", "Porcentaje", "Sí", "3", "60 %", "No", "2", "40 %",
    ]
    assert "5 respuestas escritas (no se publican)" in response.text
    assert "muy bien" not in response.text
    assert "Evaluación de la audiencia" in response.text
    # Two responses could single a person out: the survey is named, its figures are not.
    text = " ".join(response.text.split())
    assert ("Consulta con pocas respuestas</h3><p>2 respuestas completas.</p>"
            "<p>Los resultados se mostrarán cuando haya al menos 5 respuestas.</p>") in text
    # The open survey is named, but its results wait until it closes.
    assert "Percepción en curso" in response.text
    assert len([t for t in page.tables if "¿Asistió" in t.caption]) == 1


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


async def test_comunas_open_data_lists_comunas_in_their_natural_order(
    client: httpx.AsyncClient,
) -> None:
    expected = [str(n) for n in range(1, 18)] + ["C1", "C2", "C3"]
    csv_text = (await client.get("/datos/comunas.csv")).content.decode("utf-8-sig")
    assert [row[0] for row in csv.reader(io.StringIO(csv_text))][1:] == expected
    payload = (await client.get("/datos/comunas.json")).json()
    assert [row["codigo"] for row in payload["datos"]] == expected
    page = (await client.get("/mapa")).text
    options = re.findall(r'<option value="([^"]*)"', page)
    assert [o for o in options if o in expected] == expected


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


async def test_open_data_with_secop_works_reimports_unchanged(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    # SECOP works arrive «sin ubicar» and, but for the ones with execution plans, with no
    # physical progress reported: the download writes both cells empty.
    secop = Path(__file__).parent.parent / "storage" / "fixtures"
    async with db.session() as session:
        for kind, name in (("secop_contratos", "secop_contratos_api.csv"),
                           ("secop_ejecucion", "secop_ejecucion_api.csv")):
            await import_bytes(session, kind, (secop / name).read_bytes(), name,
                               tz=settings.tz, skip_bad_rows=True)
    async with db.session() as s:
        before = {w.codigo: w.model_dump() for w in (await s.exec(select(Work))).all()}
    unplaced = [w for w in before.values() if w["comuna_id"] is None]
    unreported = [w for w in before.values() if w["avance_fisico"] is None]
    assert unplaced and unreported

    for dataset in DATASETS:
        download = (await client.get(f"/datos/{dataset}.csv")).content
        async with db.session() as session:
            result = await import_bytes(session, dataset, download, f"{dataset}.csv",
                                        tz=settings.tz)
        assert (result.created, result.updated, result.warnings) == (0, 0, []), dataset

    async with db.session() as s:
        after = {w.codigo: w.model_dump() for w in (await s.exec(select(Work))).all()}
    assert after == before


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
