"""Take the README's screenshots with headless Chromium over the example data.

    .venv/bin/python -m tests.web.screenshots [OUTPUT_DIR]   # default: docs/img

Uses a throwaway SQLite database and an unreachable tile server, like the browser tests.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.config import Settings, WebSettings
from storage.db import Database
from storage.demo import load_demo
from storage.migrate import upgrade
from tests.web.conftest import unused_port
from tests.web.live import serving


async def _load(url: str, settings: Settings) -> None:
    db = Database(url)
    try:
        async with db.session() as session:
            await load_demo(session, tz=settings.tz)
    finally:
        await db.dispose()


def main(argv: list[str]) -> int:
    """Serve the example data, open the map and the transparency page, save PNGs."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out = Path(argv[0] if argv else "docs/img")
    out.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1200,1000", "--lang=es-CO", "--hide-scrollbars"):
        options.add_argument(argument)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/cabildo.db"
        upgrade(url)
        settings = Settings(database_url=url)
        web = WebSettings(tile_url=f"http://127.0.0.1:{unused_port()}/{{z}}/{{x}}/{{y}}.png",
                          bot_username="CabildoBot")
        asyncio.run(_load(url, settings))
        driver = webdriver.Chrome(options=options,
                                  service=Service(shutil.which("chromedriver") or "chromedriver"))
        wait: Any = WebDriverWait(driver, 15)
        try:
            with serving(url, settings, web) as site:
                driver.get(site + "/mapa")
                wait.until(lambda d: d.find_element(By.ID, "mapa").get_attribute("data-listo"))
                driver.find_element(By.CSS_SELECTOR, 'path[data-codigo="OB-2026-001"]').click()
                wait.until(lambda d: d.execute_script(
                    "var p = document.querySelector('.leaflet-popup');"
                    "return p !== null && getComputedStyle(p).opacity === '1';"))
                driver.save_screenshot(str(out / "mapa.png"))
                driver.get(site + "/transparencia")
                driver.save_screenshot(str(out / "transparencia.png"))
        finally:
            driver.quit()
    print(f"screenshots in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
