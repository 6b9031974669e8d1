"""Verify the `initData` a Telegram Mini App sends on the person's behalf.

Telegram's documented algorithm (core.telegram.org/bots/webapps, "Validating data received
via the Mini App"): every field but `hash`, as `key=value` sorted by key and joined with
"\\n", signed with HMAC-SHA256 under the key HMAC-SHA256("WebAppData", bot token). The
signature is compared in constant time, and `auth_date` must be recent.

It is a few lines of standard library, so no extra dependency is taken for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

MAX_LENGTH = 4096
FUTURE_SKEW_S = 60


class InitDataError(Exception):
    """`initData` that cannot be trusted; `status` is the HTTP status to answer with."""

    status = 401


class ForgedInitData(InitDataError):
    """Missing, malformed or wrongly signed `initData` (401)."""

    status = 401


class ExpiredInitData(InitDataError):
    """Correctly signed but stale (or future-dated) `initData` (403)."""

    status = 403


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user who opened the Mini App, as `initData` names them."""

    id: int
    first_name: str | None
    auth_date: int


def _secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(fields: Mapping[str, str]) -> bytes:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash").encode()


def sign_init_data(fields: Mapping[str, str], token: str) -> str:
    """Return `fields` as a signed `initData` query string (what Telegram sends; for tests)."""
    digest = hmac.new(_secret(token), _check_string(fields), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def verify_init_data(
    raw: str, token: str, *, max_age: int = 3600, now: float | None = None
) -> WebAppUser:
    """Return the user `raw` speaks for, or raise `ForgedInitData` / `ExpiredInitData`."""
    if not token or not raw or len(raw) > MAX_LENGTH:
        raise ForgedInitData("missing initData or bot token")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise ForgedInitData("malformed initData") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise ForgedInitData("repeated field")
    given = fields.get("hash", "")
    expected = hmac.new(_secret(token), _check_string(fields), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise ForgedInitData("bad signature")
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ForgedInitData("no user or auth_date") from exc
    current = time.time() if now is None else now
    if auth_date > current + FUTURE_SKEW_S or current - auth_date > max_age:
        raise ExpiredInitData("stale initData")
    name = user.get("first_name") if isinstance(user, dict) else None
    return WebAppUser(user_id, name if isinstance(name, str) else None, auth_date)
