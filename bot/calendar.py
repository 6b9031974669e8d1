"""Calendar files (.ics) for events, so a person can add one to their phone's calendar.

Each event keeps one UID; a changed date or place raises its SEQUENCE, and a cancelled event
carries `STATUS:CANCELLED`, so a calendar that imports the newer file replaces or drops the
entry instead of adding another.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from storage.events import ends_at, is_called_off
from storage.models import Event
from storage.types import utcnow

PRODUCT_ID = "-//Cabildo//Rendición de cuentas//ES"


def event_ics(event: Event, *, tz: ZoneInfo, link: str, municipality: str) -> bytes:
    """Return an iCalendar file for one event, in local time with its time-zone definition."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    item = CalendarEvent()
    item.add("uid", f"evento-{event.id}@cabildo.{municipality.lower().replace(' ', '-')}")
    item.add("dtstamp", utcnow())
    item.add("sequence", event.secuencia)
    item.add("status", "CANCELLED" if is_called_off(event) else "CONFIRMED")
    item.add("dtstart", event.inicio.astimezone(tz))
    item.add("dtend", ends_at(event).astimezone(tz))
    item.add("summary", f"Cancelado: {event.titulo}" if is_called_off(event) else event.titulo)
    item.add("location", ", ".join(filter(None, [event.lugar, event.direccion])))
    if event.latitud is not None and event.longitud is not None:
        item.add("geo", (event.latitud, event.longitud))
    description = "\n\n".join(
        filter(None, [event.descripcion, event.enlace, f"En Cabildo: {link}"])
    )
    item.add("description", description)
    item.add("url", link)
    calendar.add_component(item)
    calendar.add_missing_timezones()
    for timezone in calendar.walk("VTIMEZONE"):
        # The generator notes, in English, the years its rules cover; nobody needs to read it.
        timezone.pop("COMMENT", None)
    return calendar.to_ical()
