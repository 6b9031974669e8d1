"""All handlers, added to the Application in one explicit order.

Order matters because PTB runs the first matching handler of each group:
1. start/menu/help and the per-area commands — the public interface;
2. menu buttons (callback queries), by their `menu:` prefix;
3. the catch-alls last: unknown commands, then any other text as a question.
Errors go to one error handler that logs and tells the person something failed.
"""

from __future__ import annotations

from bot.context import CabildoApp
from handlers import errors, fallback, start


def register(app: CabildoApp) -> None:
    """Add every handler to `app` in the documented order."""
    app.add_handlers(start.HANDLERS)
    app.add_handlers(fallback.HANDLERS)  # must stay last: it matches everything left
    app.add_error_handler(errors.on_error)
