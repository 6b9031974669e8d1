"""Callback data: one frozen dataclass per button action, encoded once and decoded once.

`codec` holds the codec (`CallbackData`, `on_press`, `on_stale`, `button`); each area's
actions live in a module of their own here (`works`, `goals`, `events`…). Everything is
re-exported below, so `from handlers.callbacks import WorkCard, on_press` serves; a new
area's module joins the list.
"""

from __future__ import annotations

from handlers.callbacks.alerts import *
from handlers.callbacks.answers import *
from handlers.callbacks.broadcast import *
from handlers.callbacks.budget import *
from handlers.callbacks.codec import *
from handlers.callbacks.contracting import *
from handlers.callbacks.event_admin import *
from handlers.callbacks.events import *
from handlers.callbacks.goals import *
from handlers.callbacks.participation import *
from handlers.callbacks.privacy import *
from handlers.callbacks.question_staff import *
from handlers.callbacks.questions import *
from handlers.callbacks.reports import *
from handlers.callbacks.results import *
from handlers.callbacks.surveys import *
from handlers.callbacks.works import *
