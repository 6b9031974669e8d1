"""All handlers, added to the Application in one explicit order.

Order matters because PTB runs the first matching handler of each group:
0. group -3, `handlers.limits`: over-long texts and floods (messages and taps) from one
   person stop here;
   group -2, `handlers.flows`: any command or main-menu tap ends a pending typed step;
   group -1, `handlers.access`: stops restricted commands and buttons for people without
   the role, before any handler of group 0 sees them; then (same group, plain text only)
   `handlers.flows` hands text typed inside a wizard to that wizard;
1. every command, from the one table in `handlers.commands` (which also gives the guard
   its roles, the menus and `/ayuda` their lines);
2. staff tools' buttons and files (panel, imports, broadcast, events, summary, questions,
   the bot's own membership), vetted by the guard; personal data (the consent buttons
   `priv:`) and alerts;
3. the area modules (goals, budget, works, contracting, reports, events, surveys, questions,
   participation) own their `menu:<area>` button and their buttons (`handlers.callbacks`
   actions: `ppto:`, `obra:`, `ev:`, `enc:`, `preg:`, `pp:`…);
4. start/menu/help buttons;
5. the catch-alls last: unknown commands, then any other text as a question, then stale
   buttons.
Errors go to one error handler that logs and tells the person something failed.
"""

from __future__ import annotations

from bot.context import CabildoApp
from handlers import (
    access,
    alerts,
    answers,
    broadcast,
    budget,
    commands,
    contracting,
    errors,
    event_admin,
    events,
    fallback,
    flows,
    goals,
    imports,
    limits,
    membership,
    participation,
    privacy,
    question_staff,
    questions,
    reports,
    staff,
    start,
    summary,
    surveys,
    works,
)


def register(app: CabildoApp) -> None:
    """Add every handler to `app` in the documented order."""
    app.add_handlers(limits.HANDLERS, group=limits.GROUP)
    app.add_handlers(flows.LEAVE_HANDLERS, group=flows.LEAVE_GROUP)
    app.add_handlers(access.handlers(commands.restricted()), group=access.GROUP)
    app.add_handlers(flows.HANDLERS, group=flows.GROUP)
    app.add_handlers(commands.command_handlers())  # every command, from the one table
    app.add_handlers(staff.HANDLERS)
    app.add_handlers(imports.HANDLERS)
    app.add_handlers(broadcast.HANDLERS)
    app.add_handlers(event_admin.HANDLERS)
    app.add_handlers(membership.HANDLERS)
    app.add_handlers(summary.HANDLERS)
    app.add_handlers(question_staff.HANDLERS)
    app.add_handlers(privacy.HANDLERS)
    app.add_handlers(alerts.HANDLERS)
    for area in (goals, budget, works, contracting, reports, events, surveys, questions,
                 participation):
        app.add_handlers(area.HANDLERS)
    app.add_handlers(answers.HANDLERS)  # `resp:`: a choice of «¿Se refiere a…?»
    app.add_handlers(start.HANDLERS)
    app.add_handlers(fallback.HANDLERS)  # must stay last: it matches everything left
    app.add_error_handler(errors.on_error)
