"""Numbers, money, percentages, dates and progress bars shown the Colombian way (Babel)."""

from __future__ import annotations

import textwrap
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache, lru_cache
from html import escape
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, parse_pattern

Number = int | float | Decimal


@cache
def _formatter(pattern: str, locale: str) -> tuple[NumberPattern, Locale]:
    """Parse a number pattern and a locale once (Babel's `format_decimal` does it per call)."""
    return parse_pattern(pattern), Locale.parse(locale)


@lru_cache(maxsize=4096)  # the same figures come back on every screen
def _decimal(value: Number, *, format: str, locale: str) -> str:
    """Babel's `format_decimal`, with the pattern and the locale parsed once."""
    pattern, parsed = _formatter(format, locale)
    return pattern.apply(value, parsed)


def money(value: Number, locale: str = "es_CO") -> str:
    """Format pesos without decimals: `$ 1.234.567`."""
    return "$ " + _decimal(round(Decimal(value)), format="#,##0", locale=locale)


def money_short(value: Number, locale: str = "es_CO") -> str:
    """Format pesos as Colombians say large sums: `$ 412.300 millones`, `$ 1,27 billones`.

    The one rounding rule for amounts in sentences: a billion (10¹²) and up in billones with
    two decimals at most; a million and up in millones, with one decimal at most under a
    hundred millones and none from there; less than a million in full pesos. Where people
    add pesos up or check them (tables, a basket of projects, exports) `money` keeps them exact.
    """
    amount = round(Decimal(value))  # whole pesos first: $ 999.999,6 is $ 1 millón
    size = abs(amount)
    if size >= 10**12:
        scaled, decimals, one, many = amount / 10**12, 2, "billón", "billones"
    elif size >= 10**6:
        scaled, one, many = amount / 10**6, "millón", "millones"
        decimals = 1 if abs(scaled) < 100 else 0  # «$ 12,3 millones», «$ 320.446 millones»
    else:
        return money(amount, locale)
    shown = number(round(scaled, decimals), locale, decimals)
    return f"$ {shown} {one if shown == '1' else many}"


def number(value: Number, locale: str = "es_CO", decimals: int = 1) -> str:
    """Format a number with at most `decimals` decimals: `1.234,5`."""
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return _decimal(value, format=pattern, locale=locale)


def percent(value: Number, locale: str = "es_CO") -> str:
    """Format a 0–100 percentage with one decimal at most: `45,3 %`."""
    return f"{number(value, locale, 1)} %"


NOT_REPORTED = "no reportado"


def reported_percent(value: Number | None, locale: str = "es_CO") -> str:
    """Format a progress the source may not publish: `45,3 %`, or «no reportado» (never 0 %)."""
    return NOT_REPORTED if value is None else percent(value, locale)


def progress_bar(value: Number, width: int = 10) -> str:
    """Draw a 0–100 % progress bar as text: `▓▓▓▓░░░░░░`.

    Only 100 % fills it and only 0 % leaves it empty, so 96 % never looks done.
    """
    clamped = max(0.0, min(100.0, float(value)))
    filled = round(clamped / 100 * width)
    if clamped < 100:
        filled = min(filled, width - 1)
    if clamped > 0:
        filled = max(filled, 1)
    return "▓" * filled + "░" * (width - filled)


@lru_cache(maxsize=4096)  # the same dates come back on every screen
def local_date(value: date, locale: str = "es_CO") -> str:
    """Format a date in words: `24 de noviembre de 2026`."""
    return format_date(value, format="long", locale=locale)


def local_datetime(value: datetime, tz: ZoneInfo, locale: str = "es_CO") -> str:
    """Format a UTC timestamp in local time: `martes, 24 de noviembre de 2026, 3:30 p. m.`."""
    local = value.astimezone(tz)
    return format_datetime(local, format="EEEE, d 'de' MMMM 'de' y, h:mm a", locale=locale)


FILE_SOURCE = "Alcaldía (archivo importado)"


def source_line(
    fuente: str | None, updated: datetime | None, *, tz: tzinfo | None = None,
    locale: str = "es_CO", link: str | None = None,
) -> str:
    """Say where an item's data came from, in one HTML line, linked to the record if any.

    `Fuente: SECOP II, actualizado el 3 de diciembre de 2026`; without a source, the data
    came from a file the Alcaldía imported.
    """
    name = escape(fuente or FILE_SOURCE)
    if link:
        name = f'<a href="{escape(link)}">{name}</a>'
    if updated is None:
        return f"Fuente: {name}"
    day = (updated.astimezone(tz) if tz is not None else updated).date()
    return f"Fuente: {name}, actualizado el {local_date(day, locale)}"


def clip(text: str, width: int) -> str:
    """Shorten `text` to at most `width` characters, at a word boundary, with «…» if cut."""
    collapsed = " ".join(text.split())
    if len(collapsed) <= width:  # as textwrap.shorten returns it, without its wrapping work
        return collapsed
    short = textwrap.shorten(collapsed, width, placeholder="…")
    if short == "…":  # the first word alone is longer than `width`
        return " ".join(text.split())[: width - 1] + "…"
    return short.replace(" …", "…").replace(",…", "…")


def plural(count: int, one: str, many: str) -> str:
    """Return `1 respuesta`, `2 respuestas`, `1.234 respuestas`: the count with the right noun."""
    return f"{number(count, decimals=0)} {one if count == 1 else many}"
