"""The site in a real browser: headless Chromium (Debian's) driven by Selenium.

The site is served by uvicorn on 127.0.0.1 (a free port, in a thread with its own event
loop) over the example data. The tile server is a local port where nothing listens, so
the map must work without tiles; nothing reaches the internet. Screenshots go to
`test-artifacts/` (override with CABILDO_TEST_ARTIFACTS).

Without `chromium` and `chromedriver` these tests are skipped, except under CI=true where
that is a failure (`python3 dev.py test` installs them with apt-get when run as root).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, WebSettings
from storage.alerts import subscriptions_of
from storage.db import Database
from storage.privacy import give_consent
from tests.web.live import serving
from tests.web.pages_support import signed

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CABILDO_TEST_ARTIFACTS", ROOT / "test-artifacts"))
WAIT_S = 15


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver))
               if path is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        reason = ("browser tests need " + ", ".join(missing)
                  + " (apt-get install chromium chromium-driver; pip install selenium)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert chromium is not None and driver is not None
    return chromium, driver


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Start one headless Chromium for the module."""
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1000", "--lang=es-CO",
                     "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def live_site(
    demo_data: None, database_url: str, site_settings: Settings, web_settings: WebSettings
) -> Iterator[str]:
    """Serve the site over the example data in a background thread; yield its address."""
    with serving(database_url, site_settings, web_settings) as url:
        yield url


def _wait(driver: Any, condition: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition)


def _markers(driver: Any) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, "#mapa path.obra-marker"))


def _open_map(driver: Any, url: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(driver, lambda d: d.find_element(By.ID, "mapa").get_attribute("data-listo") == "1")


def _save(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def live_site_tiles(driver: Any) -> str:
    """Return the tile server's host:port the map was told to use."""
    from selenium.webdriver.common.by import By

    template = driver.find_element(By.ID, "mapa").get_attribute("data-tiles")
    return str(urllib.parse.urlsplit(template).netloc)


def _works_by_comuna(driver: Any, comuna: str) -> list[str]:
    from selenium.webdriver.common.by import By

    data = json.loads(driver.find_element(By.ID, "datos-obras").get_attribute("textContent"))
    return [o["codigo"] for o in data["obras"]
            if o["comuna"] == comuna and o["latitud"] is not None]


def test_map_shows_a_marker_per_located_work_and_the_comuna_filter_changes_the_count(
    browser: Any, live_site: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open_map(browser, live_site + "/mapa")

    assert len(_markers(browser)) == 61
    assert browser.find_element(By.ID, "conteo-mapa").text == "61"
    screenshot = _save(browser, "mapa.png")
    assert screenshot.stat().st_size > 10_000
    in_4 = _works_by_comuna(browser, "4")
    assert 0 < len(in_4) < 61

    Select(browser.find_element(By.ID, "f-comuna")).select_by_value("4")

    _wait(browser, lambda d: len(_markers(d)) == len(in_4))
    assert browser.find_element(By.ID, "conteo-mapa").text == str(len(in_4))
    shown = {m.get_attribute("data-codigo") for m in _markers(browser)}
    assert shown == set(in_4)
    visible_rows = browser.find_elements(By.CSS_SELECTOR, "#tabla-obras tbody tr:not([hidden])")
    assert {r.get_attribute("data-comuna") for r in visible_rows} == {"4"}
    assert "comuna=4" in browser.current_url

    Select(browser.find_element(By.ID, "f-comuna")).select_by_value("")
    _wait(browser, lambda d: len(_markers(d)) == 61)
    # No script errors or blocked resources; only the (unreachable) tiles failed.
    tiles = live_site_tiles(browser)
    problems = [e["message"] for e in browser.get_log("browser")
                if e["level"] == "SEVERE" and tiles not in e["message"]]
    assert problems == []


def test_marker_popup_shows_the_figures_of_the_work(browser: Any, live_site: str) -> None:
    from selenium.webdriver.common.by import By

    _open_map(browser, live_site + "/mapa?comuna=1")
    marker = next(m for m in _markers(browser) if m.get_attribute("data-codigo") == "OB-2026-001")

    marker.click()

    popup = _wait(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, '.leaflet-popup .popup-obra[data-codigo="OB-2026-001"]'))
    _wait(browser, lambda d: d.execute_script(
        "return getComputedStyle(document.querySelector('.leaflet-popup')).opacity") == "1")
    text = popup.text
    assert "Pavimentación de la Calle 7N en el barrio Kennedy" in text
    assert "Avance físico: 62 %" in text
    assert "Valor del contrato: $ 4.850 millones" in text
    assert "Contratista: Consorcio Vías del Norte 2026" in text
    assert "Inicio: 16 de marzo de 2026" in text
    assert "Fin previsto: 15 de diciembre de 2026" in text
    link = popup.find_element(By.LINK_TEXT, "Seguir en Telegram")
    assert link.get_attribute("href") == "https://t.me/CabildoPruebaBot?start=obra_OB-2026-001"
    _save(browser, "mapa-popup.png")


@pytest.fixture
async def unreported(demo_data: None, db: Database) -> str:
    """Leave one located work without a reported physical progress, as SECOP leaves it."""
    from sqlmodel import select

    from storage.models import Work

    async with db.session() as s:
        work = (await s.exec(select(Work).where(Work.codigo == "OB-2026-001"))).one()
        work.avance_fisico = None
        s.add(work)
        await s.commit()
    return "OB-2026-001"


def test_a_popup_without_reported_progress_says_so_without_a_bar(
    browser: Any, unreported: str, live_site: str
) -> None:
    from selenium.webdriver.common.by import By

    _open_map(browser, live_site + "/mapa?comuna=1")
    marker = next(m for m in _markers(browser) if m.get_attribute("data-codigo") == unreported)

    marker.click()

    popup = _wait(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, f'.leaflet-popup .popup-obra[data-codigo="{unreported}"]'))
    text = popup.get_attribute("textContent")  # the popup may still be fading in
    assert "Avance físico: no reportado" in text
    assert "0 %" not in text
    assert popup.find_elements(By.CSS_SELECTOR, ".avance .barra") == []


def test_a_late_works_popup_says_so(browser: Any, live_site: str) -> None:
    from selenium.webdriver.common.by import By

    _open_map(browser, live_site + "/mapa")
    works = browser.execute_async_script(
        "var done = arguments[0];"
        "fetch('/api/obras').then(r => r.json()).then(d => done(d.obras));")
    late = next(w for w in works if w["atrasada"])
    browser.execute_script(
        "document.querySelector('#tabla-obras tr[data-codigo=\"' + arguments[0] + '\"] "
        "button.ver-en-mapa').click();", late["codigo"])
    popup = _wait(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, f'.leaflet-popup .popup-obra[data-codigo="{late["codigo"]}"]'))
    assert (f"Fin previsto: {late['fecha_fin_texto']} — ⚠️ atrasada: ya pasó y no ha terminado"
            in popup.get_attribute("textContent"))


def test_table_button_opens_the_popup_from_the_keyboard(browser: Any, live_site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _open_map(browser, live_site + "/mapa")
    button = browser.find_element(
        By.CSS_SELECTOR, '#tabla-obras tr[data-codigo="OB-2026-004"] button.ver-en-mapa')

    button.send_keys(Keys.ENTER)

    popup = _wait(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, '.leaflet-popup .popup-obra[data-codigo="OB-2026-004"]'))
    assert "Estado: Suspendida" in popup.get_attribute("textContent")
    focused = browser.switch_to.active_element
    assert focused.tag_name == "h3" and "Colorados" in focused.get_attribute("textContent")


def test_mini_app_follows_a_work_with_signed_init_data(
    browser: Any, live_site: str, db: Database
) -> None:
    from selenium.webdriver.common.by import By

    asyncio.run(_consent(db.url))
    launch = urllib.parse.urlencode({"tgWebAppData": signed(4242), "tgWebAppVersion": "8.0"})
    _open_map(browser, f"{live_site}/mapa?comuna=1#{launch}")
    marker = next(m for m in _markers(browser) if m.get_attribute("data-codigo") == "OB-2026-001")
    marker.click()
    popup = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-popup .popup-obra"))

    popup.find_element(By.TAG_NAME, "button").click()

    _wait(browser, lambda d: "Listo" in d.find_element(
        By.CSS_SELECTOR, ".popup-obra .respuesta").text)
    assert asyncio.run(_followed(db.url)) == {("obra", "OB-2026-001")}


async def _consent(url: str) -> None:
    """Record person 4242's consent (a separate engine: this runs in its own event loop)."""
    fresh = Database(url)
    try:
        async with fresh.session() as session:
            await give_consent(session, telegram_id=4242, chat_id=4242)
    finally:
        await fresh.dispose()


async def _followed(url: str) -> set[tuple[str, str]]:
    """Return what person 4242 follows."""
    fresh = Database(url)
    try:
        async with fresh.session() as session:
            return await subscriptions_of(session, chat_id=4242)
    finally:
        await fresh.dispose()


def test_transparency_page_renders_its_tables(browser: Any, live_site: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(live_site + "/transparencia")

    for table_id in ("tabla-metas", "tabla-presupuesto"):
        table = browser.find_element(By.ID, table_id)
        assert table.find_element(By.TAG_NAME, "caption").is_displayed()
        assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) > 3
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es-CO"
    assert browser.find_element(By.CSS_SELECTOR, "#tabla-presupuesto tfoot th").text == "Total"
    _save(browser, "transparencia.png")


def test_transparency_tables_fit_a_phone_and_name_each_figure(
    browser: Any, live_site: str
) -> None:
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    try:
        browser.get(live_site + "/transparencia")
        width = browser.execute_script("return window.innerWidth")
        assert width <= 400
        for table_id in ("tabla-metas", "tabla-presupuesto"):
            table = browser.find_element(By.ID, table_id)
            wrapper = table.find_element(By.XPATH, "..")
            # Nothing hides to the right: the rows stack instead of scrolling sideways.
            assert browser.execute_script(
                "return arguments[0].scrollWidth <= arguments[0].clientWidth", wrapper)
            assert table.find_element(By.TAG_NAME, "caption").is_displayed()
        # A row is a block: its figures one under the other, each after its column's name.
        cells = browser.find_elements(By.CSS_SELECTOR, "#tabla-presupuesto tbody tr:first-child td")
        names = [browser.execute_script(
            "return getComputedStyle(arguments[0], '::before').content", cell) for cell in cells]
        assert names == ['"Apropiación definitiva"', '"Compromisos"', '"% comprometido"',
                         '"Obligaciones"', '"Pagos"', '"% pagado"']
        tops = [cell.rect["y"] for cell in cells]
        assert tops == sorted(tops) and len(set(tops)) == len(tops)
        assert cells[0].text.startswith("$ ")
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        _save(browser, "transparencia-telefono.png")
    finally:
        browser.set_window_size(1280, 1000)
