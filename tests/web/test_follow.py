"""initData and the follow endpoint: Telegram's signature checked, consent, subscribing."""

from __future__ import annotations

import httpx
import pytest

from bot.config import Settings, WebSettings
from storage.alerts import subscriptions_of
from storage.db import Database
from storage.privacy import give_consent
from tests.web.pages_support import client as client  # a fixture: pytest looks for it here
from tests.web.pages_support import signed
from web.initdata import ExpiredInitData, ForgedInitData, verify_init_data
from web.site import build_site

pytestmark = pytest.mark.usefixtures("demo_data")


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
