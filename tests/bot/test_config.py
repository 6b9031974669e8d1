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
