"""Settings: read once from the environment and `.env`, validated, passed down.

`load_settings` is the one place that reads them; the web site's part is a section of its
own (`Settings.web`, a `WebSettings`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from dotenv import dotenv_values

from storage.db import POOL_SIZE, normalize_database_url
from storage.text import fold

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///cabildo.db"
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = "© colaboradores de OpenStreetMap"

_TOKEN_RE = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
# Values copied from .env.example that must never reach production.
_PLACEHOLDERS = ("cambia", "change", "pon_aqui", "pon-aqui", "xxxx", "<", "tu_token", "your")


WEEKDAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it in one sentence."""


@dataclass(frozen=True)
class WebSettings:
    """Where the site listens, where it is published, and how the map gets its tiles.

    Read from `WEB_PUBLIC_URL`, `WEB_HOST`, `WEB_PORT`, `MAP_TILE_URL`,
    `MAP_TILE_ATTRIBUTION`, `TELEGRAM_BOT_USERNAME` and `WEB_INIT_DATA_MAX_AGE` (README,
    "Configuration").
    """

    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    tile_url: str = DEFAULT_TILE_URL
    tile_attribution: str = DEFAULT_ATTRIBUTION
    bot_username: str | None = None
    init_data_max_age: int = 3600  # seconds a Mini App's signed `initData` stays valid

    @property
    def mini_app_url(self) -> str | None:
        """Return the map's address for a Telegram Mini App button (https only), or None."""
        if self.public_url and self.public_url.startswith("https://"):
            return self.public_url + "/mapa"
        return None

    @property
    def map_url(self) -> str | None:
        """Return the map's public address (http or https), or None when not published."""
        return self.public_url + "/mapa" if self.public_url else None


@dataclass(frozen=True)
class Settings:
    """Typed, validated configuration of one Cabildo installation."""

    token: str = field(default="", repr=False)
    api_base_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    database_pool_size: int = POOL_SIZE  # PostgreSQL connections kept open (storage.db)
    admin_ids: frozenset[int] = frozenset()
    timezone: str = "America/Bogota"
    municipality_name: str = "Bucaramanga"
    locale: str = "es_CO"
    webhook_url: str | None = None
    webhook_secret: str = field(default="", repr=False)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    privacy_policy_url: str | None = None
    # Where to send what is not accountability: complaints, procedures, emergencies.
    pqrsd_url: str | None = None
    procedures_url: str = "https://www.gov.co"
    emergency_line: str = "123"
    outbox_rate_per_second: float = 25.0
    # SQLite on the event loop's thread (storage.sqlite_inline): 1.5-2 times the updates a
    # second under load; bulk statements still go to a worker thread. 0: aiosqlite's threads.
    sqlite_on_loop: bool = True
    messages_per_minute: int = 20
    weekly_summary_day: int = 0  # Monday, as datetime.weekday() counts
    weekly_summary_time: str = "08:00"
    weekly_summary_mode: str = "aprobacion"  # aprobacion | auto
    schedule_grace_hours: int = 6
    max_upload_mb: int = 10
    # Citizens see a survey's results (and each question's) only from this many responses.
    survey_min_responses: int = 5
    chat_files_dir: str = "chat-files"
    log_level: str = "INFO"
    log_format: str = "text"  # text | json
    web: WebSettings = field(default_factory=WebSettings)  # the map and transparency site
    # datos.gov.co (Socrata) for `cabildo sincronizar`: its root, an optional app token
    # (higher rate limits), and how long one request may take.
    datos_gov_url: str = "https://www.datos.gov.co"
    datos_gov_app_token: str = field(default="", repr=False)
    datos_gov_timeout: float = 30.0
    # The entity whose SECOP II data is synced every day at `secop_sync_time` (local);
    # empty: no daily sync.
    secop_nit: str = ""
    secop_sync_time: str = "05:00"

    @property
    def tz(self) -> ZoneInfo:
        """Return the configured time zone."""
        return ZoneInfo(self.timezone)

    def today(self) -> date:
        """Return today's date in the municipality's time zone."""
        return datetime.now(self.tz).date()

    @property
    def has_token(self) -> bool:
        """Tell whether a real Telegram token is configured."""
        return bool(self.token)


def _looks_like_placeholder(value: str) -> bool:
    low = value.lower()
    return any(p in low for p in _PLACEHOLDERS)


def _url(name: str, value: str, *, https_only: bool = False) -> str:
    parts = urlsplit(value)
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes or not parts.netloc:
        need = "https://" if https_only else "http:// o https://"
        raise SettingsError(
            f"{name} debe ser una dirección que empiece por {need} (se leyó «{value}»)."
        )
    return value.rstrip("/")


def _int(name: str, value: str, *, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} debe ser un número entero (se leyó «{value}»).") from None
    if not low <= number <= high:
        raise SettingsError(f"{name} debe estar entre {low} y {high} (se leyó {number}).")
    return number


def _float(name: str, value: str, *, low: float, high: float) -> float:
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        raise SettingsError(f"{name} debe ser un número (se leyó «{value}»).") from None
    if not low <= number <= high:
        raise SettingsError(f"{name} debe estar entre {low:g} y {high:g} (se leyó {number:g}).")
    return number


def _yes_no(name: str, value: str, *, default: bool) -> bool:
    """Return a 1/0 setting (also sí/no, true/false); `default` when it is empty."""
    word = value.strip().lower()
    if not word:
        return default
    if word in ("1", "si", "sí", "true"):
        return True
    if word in ("0", "no", "false"):
        return False
    raise SettingsError(f"{name} debe ser 1 o 0 (se leyó «{value}»).")


def _int_or(name: str, value: str, default: int, *, low: int, high: int) -> int:
    """Return `value` as a whole number in [low, high], or `default` when it is empty."""
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise SettingsError(
            f"{name} debe ser un número entre {low} y {high} (se leyó «{value}»)."
        )
    return number


def _public_url(value: str) -> str | None:
    value = value.rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"WEB_PUBLIC_URL debe ser una dirección http(s) (se leyó «{value}»)."
        )
    return value


def _tile_url(value: str) -> str:
    value = value or DEFAULT_TILE_URL
    parts = urlsplit(value)
    if (parts.scheme not in ("http", "https") or not parts.netloc
            or not all(p in value for p in ("{z}", "{x}", "{y}"))):
        raise SettingsError(
            "MAP_TILE_URL debe ser una dirección http(s) con {z}, {x} y {y} "
            f"(se leyó «{value}»)."
        )
    return value


def _web_settings(get: Callable[[str], str]) -> WebSettings:
    """Return the web site's section of the settings, each value checked."""
    username = get("TELEGRAM_BOT_USERNAME").lstrip("@")
    return WebSettings(
        public_url=_public_url(get("WEB_PUBLIC_URL")),
        host=get("WEB_HOST") or "127.0.0.1",
        port=_int_or("WEB_PORT", get("WEB_PORT"), 8080, low=0, high=65535),
        tile_url=_tile_url(get("MAP_TILE_URL")),
        tile_attribution=get("MAP_TILE_ATTRIBUTION") or DEFAULT_ATTRIBUTION,
        bot_username=username or None,
        init_data_max_age=_int_or("WEB_INIT_DATA_MAX_AGE", get("WEB_INIT_DATA_MAX_AGE"), 3600,
                                  low=60, high=86_400),
    )


def normalize_nit(text: str) -> str:
    """Return a NIT as datos.gov.co writes it: digits only, without dots or check digit.

    `890.201.222-1` and `890201222` both give `890201222`; anything else raises ValueError
    with the end of a Spanish sentence (it goes into SoQL, so nothing else may pass).
    """
    value = text.strip().replace(".", "").replace(" ", "")
    value = re.sub(r"-\d$", "", value)
    if not re.fullmatch(r"\d{6,12}", value):
        raise ValueError(
            f"debe ser el NIT de la entidad, solo números y sin dígito de verificación, "
            f"como 890201222 (se leyó «{text.strip()}»)."
        )
    return value


def _database_url(value: str) -> str:
    url = normalize_database_url(value)
    if not (url.startswith("sqlite+aiosqlite:") or url.startswith("postgresql+asyncpg://")):
        # Name what was given by its scheme: the rest may hold a user and password.
        shown = f"{value.split('://', 1)[0]}://…" if "://" in value else value.split("@")[-1]
        raise SettingsError(
            f"DATABASE_URL debe empezar por sqlite:/// o postgresql:// (se leyó «{shown}»)."
        )
    return url


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Read settings from `env_file` overridden by `environ` and validate every value."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str:
        return values.get(name, "").strip()

    token = get("TELEGRAM_BOT_TOKEN")
    if token and (_looks_like_placeholder(token) or not _TOKEN_RE.match(token)):
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN no parece un token de BotFather (forma 123456:ABC…); "
            "déjelo vacío para usar el chat local."
        )

    api_base_url = get("TELEGRAM_API_BASE_URL") or None
    if api_base_url:
        api_base_url = _url("TELEGRAM_API_BASE_URL", api_base_url)

    admin_ids: set[int] = set()
    for part in filter(None, (p.strip() for p in get("ADMIN_IDS").split(","))):
        if not part.lstrip("-").isdigit():
            raise SettingsError(
                "ADMIN_IDS debe ser una lista de ids numéricos separados por comas "
                f"(se leyó «{part}»)."
            )
        admin_ids.add(int(part))

    timezone = get("TIMEZONE") or "America/Bogota"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"TIMEZONE no es una zona horaria conocida (se leyó «{timezone}»; "
            "ejemplo: America/Bogota)."
        ) from None

    locale = get("LOCALE") or "es_CO"
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise SettingsError(
            f"LOCALE no es un idioma conocido (se leyó «{locale}»; ejemplo: es_CO)."
        ) from None

    webhook_url = get("WEBHOOK_URL") or None
    webhook_secret = get("WEBHOOK_SECRET")
    if webhook_url:
        webhook_url = _url("WEBHOOK_URL", webhook_url, https_only=True)
        if not token:
            raise SettingsError("WEBHOOK_URL necesita también TELEGRAM_BOT_TOKEN.")
        if not _SECRET_RE.match(webhook_secret) or _looks_like_placeholder(webhook_secret):
            raise SettingsError(
                "WEBHOOK_SECRET debe tener de 16 a 256 letras, números, _ o - "
                "y no ser el del ejemplo."
            )

    privacy = get("PRIVACY_POLICY_URL") or None
    if privacy:
        privacy = _url("PRIVACY_POLICY_URL", privacy)

    pqrsd = get("PQRSD_URL") or None
    if pqrsd:
        pqrsd = _url("PQRSD_URL", pqrsd)
    procedures = _url("TRAMITES_URL", get("TRAMITES_URL") or "https://www.gov.co")
    emergency_line = get("EMERGENCY_LINE") or "123"
    if not re.fullmatch(r"[0-9 +#-]{2,20}", emergency_line):
        raise SettingsError(
            f"EMERGENCY_LINE debe ser un número de teléfono, como 123 (se leyó «{emergency_line}»)."
        )

    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(
            f"LOG_LEVEL debe ser DEBUG, INFO, WARNING o ERROR (se leyó «{log_level}»)."
        )

    log_format = (get("LOG_FORMAT") or "text").lower()
    if log_format not in ("text", "json"):
        raise SettingsError(f"LOG_FORMAT debe ser text o json (se leyó «{log_format}»).")

    web = _web_settings(get)

    day_name = fold(get("WEEKLY_SUMMARY_DAY") or "lunes")
    if day_name not in WEEKDAYS:
        raise SettingsError(
            f"WEEKLY_SUMMARY_DAY debe ser un día de la semana, como lunes (se leyó «{day_name}»)."
        )
    summary_time = get("WEEKLY_SUMMARY_TIME") or "08:00"
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", summary_time):
        raise SettingsError(
            f"WEEKLY_SUMMARY_TIME debe ser una hora HH:MM, como 08:00 (se leyó «{summary_time}»)."
        )
    mode = fold(get("WEEKLY_SUMMARY_MODE") or "aprobacion")
    if mode not in ("aprobacion", "auto"):
        raise SettingsError(
            f"WEEKLY_SUMMARY_MODE debe ser aprobacion o auto (se leyó «{mode}»)."
        )

    datos_gov_url = _url("DATOS_GOV_URL", get("DATOS_GOV_URL") or "https://www.datos.gov.co")
    app_token = get("DATOS_GOV_APP_TOKEN")
    if app_token and (_looks_like_placeholder(app_token)
                      or not re.fullmatch(r"[A-Za-z0-9_-]{8,100}", app_token)):
        raise SettingsError(
            "DATOS_GOV_APP_TOKEN debe ser el token de aplicación que da datos.gov.co "
            "(letras y números), o quedar vacío."
        )
    secop_nit = get("SECOP_NIT")
    if secop_nit:
        try:
            secop_nit = normalize_nit(secop_nit)
        except ValueError as exc:
            raise SettingsError(f"SECOP_NIT {exc}") from None
    sync_time = get("SECOP_SYNC_TIME") or "05:00"
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", sync_time):
        raise SettingsError(
            f"SECOP_SYNC_TIME debe ser una hora HH:MM, como 05:00 (se leyó «{sync_time}»)."
        )

    return Settings(
        token=token,
        api_base_url=api_base_url,
        database_url=_database_url(get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        database_pool_size=_int("DATABASE_POOL_SIZE", get("DATABASE_POOL_SIZE") or str(POOL_SIZE),
                                low=1, high=500),
        admin_ids=frozenset(admin_ids),
        timezone=timezone,
        municipality_name=get("MUNICIPALITY_NAME") or "Bucaramanga",
        locale=locale,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_listen=get("WEBHOOK_LISTEN") or "0.0.0.0",
        webhook_port=_int("WEBHOOK_PORT", get("WEBHOOK_PORT") or "8443", low=1, high=65535),
        privacy_policy_url=privacy,
        pqrsd_url=pqrsd,
        procedures_url=procedures,
        emergency_line=emergency_line,
        outbox_rate_per_second=_float(
            "OUTBOX_RATE_PER_SECOND", get("OUTBOX_RATE_PER_SECOND") or "25", low=0.1, high=1000
        ),
        sqlite_on_loop=_yes_no("SQLITE_ON_LOOP", get("SQLITE_ON_LOOP") or "", default=True),
        messages_per_minute=_int(
            "MESSAGES_PER_MINUTE", get("MESSAGES_PER_MINUTE") or "20", low=1, high=1000
        ),
        weekly_summary_day=WEEKDAYS.index(day_name),
        weekly_summary_time=summary_time,
        weekly_summary_mode=mode,
        schedule_grace_hours=_int(
            "SCHEDULE_GRACE_HOURS", get("SCHEDULE_GRACE_HOURS") or "6", low=0, high=168
        ),
        max_upload_mb=_int("MAX_UPLOAD_MB", get("MAX_UPLOAD_MB") or "10", low=1, high=20),
        survey_min_responses=_int(
            "SURVEY_MIN_RESPONSES", get("SURVEY_MIN_RESPONSES") or "5", low=1, high=1000
        ),
        chat_files_dir=get("CHAT_FILES_DIR") or "chat-files",
        log_level=log_level,
        log_format=log_format,
        web=web,
        datos_gov_url=datos_gov_url,
        datos_gov_app_token=app_token,
        datos_gov_timeout=_float(
            "DATOS_GOV_TIMEOUT", get("DATOS_GOV_TIMEOUT") or "30", low=1, high=600
        ),
        secop_nit=secop_nit,
        secop_sync_time=sync_time,
    )
