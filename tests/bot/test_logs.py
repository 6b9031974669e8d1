"""The token and webhook secret never reach a log line, not even inside a traceback."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging

TOKEN = "123456789:AAH-real-looking-token-abcdefghijklmnopq"


def test_secrets_are_masked_in_messages_and_tracebacks(capfd: pytest.CaptureFixture[str]) -> None:
    setup_logging(Settings(token=TOKEN, webhook_secret="very-secret-webhook-value"))
    log = logging.getLogger("cabildo.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"boom at /bot{TOKEN}/sendMessage very-secret-webhook-value")
    except RuntimeError:
        log.exception("request failed")
    err = capfd.readouterr().err
    assert "getMe" in err and "request failed" in err and "RuntimeError" in err
    assert TOKEN not in err
    assert "very-secret-webhook-value" not in err
    assert "[oculto]" in err


def test_json_lines_carry_fields_and_mask_secrets(capfd: pytest.CaptureFixture[str]) -> None:
    setup_logging(Settings(token=TOKEN, webhook_secret="very-secret-webhook-value",
                           log_format="json"))
    log = logging.getLogger("cabildo.web")
    log.info("update %s handled", 42, extra={"update_id": 42, "chat_id": -100123})
    log.warning("token in a field", extra={"url": f"https://api.telegram.org/bot{TOKEN}/x"})
    try:
        raise RuntimeError(f"boom at /bot{TOKEN}/sendMessage")
    except RuntimeError:
        log.exception("request failed")
    lines = capfd.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "cabildo.web"
    assert first["message"] == "update 42 handled"
    assert (first["update_id"], first["chat_id"]) == (42, -100123)
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert second["url"] == "https://api.telegram.org/bot[oculto]/x"
    assert third["level"] == "ERROR" and "RuntimeError" in third["exception"]
    assert TOKEN not in "".join(lines) and "[oculto]" in third["exception"]


def test_text_is_the_default_and_a_bad_format_is_named() -> None:
    assert load_settings({}, env_file=None).log_format == "text"
    assert load_settings({"LOG_FORMAT": "JSON"}, env_file=None).log_format == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT debe ser text o json"):
        load_settings({"LOG_FORMAT": "xml"}, env_file=None)
