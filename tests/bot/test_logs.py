"""The token and webhook secret never reach a log line, not even inside a traceback."""

from __future__ import annotations

import logging

import pytest

from bot.config import Settings
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
