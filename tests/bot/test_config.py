"""Settings: defaults that run, and one clear sentence for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings

TOKEN = "123456789:AAH-real-looking-token-abcdefghijklmnopq"


def test_defaults_run_the_local_chat_on_sqlite() -> None:
    settings = load_settings({}, env_file=None)
    assert not settings.has_token
    assert settings.database_url == "sqlite+aiosqlite:///cabildo.db"
    assert settings.timezone == "America/Bogota"
    assert settings.municipality_name == "Bucaramanga"
    assert settings.locale == "es_CO"
    assert settings.survey_min_responses == 5


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("MUNICIPALITY_NAME=Floridablanca\nADMIN_IDS=11, 22\nLOG_LEVEL=debug\n")
    settings = load_settings({"MUNICIPALITY_NAME": "Girón"}, env_file=env)
    assert settings.municipality_name == "Girón"
    assert settings.admin_ids == frozenset({11, 22})
    assert settings.log_level == "DEBUG"


async def test_sqlite_on_the_loop_thread_is_chosen_by_a_setting() -> None:
    from bot.app import build_application
    from storage.sqlite_inline import InlineDBAPI

    for env, inline in (({}, True), ({"SQLITE_ON_LOOP": "1"}, True),
                        ({"SQLITE_ON_LOOP": "0"}, False)):
        settings = load_settings(env, env_file=None)
        assert settings.sqlite_on_loop is inline
        app = build_application(settings)
        try:
            assert isinstance(app.bot_data.db.engine.dialect.dbapi, InlineDBAPI) is inline
        finally:
            await app.bot_data.db.dispose()
    with pytest.raises(SettingsError, match="SQLITE_ON_LOOP debe ser 1 o 0"):
        load_settings({"SQLITE_ON_LOOP": "off"}, env_file=None)


async def test_the_postgres_pool_is_sized_by_a_setting() -> None:
    from bot.app import build_application

    url = "postgresql://cabildo@localhost/cabildo"  # building the engine connects to nothing
    for env, size in (({}, 20), ({"DATABASE_POOL_SIZE": "32"}, 32)):
        app = build_application(load_settings({"DATABASE_URL": url, **env}, env_file=None))
        try:
            assert app.bot_data.db.engine.pool.size() == size
        finally:
            await app.bot_data.db.dispose()
    with pytest.raises(SettingsError, match="DATABASE_POOL_SIZE debe estar entre 1 y 500"):
        load_settings({"DATABASE_POOL_SIZE": "0"}, env_file=None)


def test_postgres_url_gets_the_async_driver() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://u:p@db:5432/cabildo"}, env_file=None)
    assert settings.database_url == "postgresql+asyncpg://u:p@db:5432/cabildo"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TELEGRAM_BOT_TOKEN": "pon_aqui_el_token_de_botfather"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "12345"}, "TELEGRAM_BOT_TOKEN"),
        ({"TIMEZONE": "America/Bucaramanga"}, "TIMEZONE"),
        ({"ADMIN_IDS": "12,ana"}, "ADMIN_IDS"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"LOCALE": "xx_YY_ZZ"}, "LOCALE"),
        ({"TELEGRAM_API_BASE_URL": "localhost:8081"}, "TELEGRAM_API_BASE_URL"),
        ({"WEBHOOK_PORT": "ocho"}, "WEBHOOK_PORT"),
        ({"OUTBOX_RATE_PER_SECOND": "0"}, "OUTBOX_RATE_PER_SECOND"),
        ({"PQRSD_URL": "pqrsd.alcaldia.gov.co"}, "PQRSD_URL"),
        ({"TRAMITES_URL": "ftp://tramites"}, "TRAMITES_URL"),
        ({"EMERGENCY_LINE": "llame al 123"}, "EMERGENCY_LINE"),
        ({"SURVEY_MIN_RESPONSES": "0"}, "SURVEY_MIN_RESPONSES"),
        ({"SURVEY_MIN_RESPONSES": "cinco"}, "SURVEY_MIN_RESPONSES"),
        ({"DATOS_GOV_URL": "www.datos.gov.co"}, "DATOS_GOV_URL"),
        ({"DATOS_GOV_APP_TOKEN": "pon_aqui_el_token"}, "DATOS_GOV_APP_TOKEN"),
        ({"DATOS_GOV_TIMEOUT": "0"}, "DATOS_GOV_TIMEOUT"),
        ({"SECOP_NIT": "Alcaldía de Bucaramanga"}, "SECOP_NIT"),
        ({"SECOP_NIT": "890201222' OR 1=1"}, "SECOP_NIT"),
        ({"SECOP_SYNC_TIME": "5am"}, "SECOP_SYNC_TIME"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.org",
             "WEBHOOK_SECRET": "cambia_este_secreto"},
            "WEBHOOK_SECRET",
        ),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "http://bot.example.org",
          "WEBHOOK_SECRET": "s" * 32}, "WEBHOOK_URL"),
    ],
)
def test_bad_value_names_the_setting_in_one_sentence(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings(environ, env_file=None)
    message = str(excinfo.value)
    assert message.startswith(named)
    assert "\n" not in message


def test_the_sync_settings_default_to_datos_gov_co_and_no_daily_run() -> None:
    settings = load_settings({}, env_file=None)
    assert (settings.datos_gov_url, settings.datos_gov_app_token, settings.secop_nit) == (
        "https://www.datos.gov.co", "", "")
    settings = load_settings({"DATOS_GOV_URL": "http://127.0.0.1:8099/",
                              "DATOS_GOV_APP_TOKEN": "aBcD1234eFgH5678",
                              "SECOP_NIT": "890.201.222-1", "SECOP_SYNC_TIME": "06:30"},
                             env_file=None)
    assert (settings.datos_gov_url, settings.secop_nit, settings.secop_sync_time) == (
        "http://127.0.0.1:8099", "890201222", "06:30")
    assert "aBcD1234eFgH5678" not in repr(settings)


def test_the_example_file_is_refused_as_is() -> None:
    example = Path(__file__).parents[2] / ".env.example"
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        load_settings({}, env_file=example)


def test_token_never_appears_in_repr_or_errors() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert settings.has_token
    assert TOKEN not in repr(settings)
    with pytest.raises(SettingsError) as excinfo:
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN + "!"}, env_file=None)
    assert TOKEN not in str(excinfo.value)


def test_an_unsupported_database_is_named_by_its_scheme_never_its_password() -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings({"DATABASE_URL": "mysql://ana:secreta@db/cabildo"}, env_file=None)
    assert str(excinfo.value) == (
        "DATABASE_URL debe empezar por sqlite:/// o postgresql:// (se leyó «mysql://…»)."
    )


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({"WEB_PORT": "ochenta"},
         "WEB_PORT debe ser un número entre 0 y 65535 (se leyó «ochenta»)."),
        ({"WEB_INIT_DATA_MAX_AGE": "10"},
         "WEB_INIT_DATA_MAX_AGE debe ser un número entre 60 y 86400 (se leyó «10»)."),
        ({"WEB_PUBLIC_URL": "obras.gov.co/"},
         "WEB_PUBLIC_URL debe ser una dirección http(s) (se leyó «obras.gov.co»)."),
        ({"MAP_TILE_URL": "https://tiles.example/{z}.png"},
         "MAP_TILE_URL debe ser una dirección http(s) con {z}, {x} y {y} "
         "(se leyó «https://tiles.example/{z}.png»)."),
    ],
)
def test_a_bad_web_setting_is_said_in_one_sentence(environ: dict[str, str], said: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings(environ, env_file=None)
    assert str(excinfo.value) == said


def test_the_web_section_is_read_from_the_env_file_with_the_rest(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("WEB_PUBLIC_URL=https://obras.example.gov.co/\nWEB_PORT=9000\n"
                   "TELEGRAM_BOT_USERNAME=@CabildoBot\nMUNICIPALITY_NAME=Girón\n")
    settings = load_settings({"WEB_PORT": "9100"}, env_file=env)
    assert settings.municipality_name == "Girón"
    assert settings.web.map_url == "https://obras.example.gov.co/mapa"
    assert (settings.web.port, settings.web.bot_username) == (9100, "CabildoBot")
    assert (settings.web.host, settings.web.init_data_max_age) == ("127.0.0.1", 3600)
