"""Helpers of the web site's tests: an HTTP client, its pages' tables, signed initData, surveys."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx
import pytest

from bot.config import Settings, WebSettings
from storage.db import Database
from storage.importers import import_bytes
from storage.models import Survey
from storage.survey_answers import position, record_answer, start_response
from storage.surveys import survey_by_slug
from tests.web.conftest import TOKEN
from web.initdata import sign_init_data
from web.site import build_site


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


def signed(user_id: int = 4242, *, token: str = TOKEN, age: int = 10) -> str:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Ana"}, separators=(",", ":")),
        "auth_date": str(int(time.time()) - age),
    }
    return sign_init_data(fields, token)


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
