"""All handlers, added to the Application in one explicit order.

Order matters because PTB runs the first matching handler of each group:
0. group -3, `handlers.limits`: over-long texts and floods (messages and taps) from one
   person stop here;
   group -2, `handlers.flows`: any command or main-menu tap ends a pending typed step;
   group -1, `handlers.access`: stops restricted commands and buttons for people without
   the role, before any handler of group 0 sees them; then (same group, plain text only)
   `handlers.flows` hands text typed inside a wizard to that wizard;
1. staff tools (`/panel`, `/rol`, `/importar`, `/difundir`, `/evento`, `/resumen`, `/estado`,
   groups, the bot's own membership),
   vetted by the guard; personal data (`/mis_datos`, `/borrar_datos`, the consent buttons
   `priv:`) and `/alertas`;
2. the area modules (goals, budget, works, contracting, reports, events, surveys, questions,
   participation) own their commands, their `menu:<area>` button and their own callback
   prefixes (`meta:`, `ppto:`, `obra:`, `ev:`, `enc:`, `preg:`, `pp:`…);
3. start/menu/help/cancel;
4. the catch-alls last: unknown commands, then any other text as a question, then stale
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
    contracting,
    errors,
    event_admin,
    events,
    fallback,
    flows,
    goals,
    groups,
    imports,
    limits,
    membership,
    participation,
    privacy,
    questions,
    reports,
    staff,
    start,
    status,
    summary,
    surveys,
    works,
)


def register(app: CabildoApp) -> None:
    """Add every handler to `app` in the documented order."""
    app.add_handlers(limits.HANDLERS, group=limits.GROUP)
    app.add_handlers(flows.LEAVE_HANDLERS, group=flows.LEAVE_GROUP)
    app.add_handlers(access.HANDLERS, group=access.GROUP)
    app.add_handlers(flows.HANDLERS, group=flows.GROUP)
    app.add_handlers(staff.HANDLERS)
    app.add_handlers(imports.HANDLERS)
    app.add_handlers(broadcast.HANDLERS)
    app.add_handlers(event_admin.HANDLERS)
    app.add_handlers(groups.HANDLERS)
    app.add_handlers(membership.HANDLERS)
    app.add_handlers(status.HANDLERS)
    app.add_handlers(summary.HANDLERS)
    app.add_handlers(privacy.HANDLERS)
    app.add_handlers(alerts.HANDLERS)
    for area in (goals, budget, works, contracting, reports, events, surveys, questions,
                 participation):
        app.add_handlers(area.HANDLERS)
    app.add_handlers(answers.HANDLERS)  # `resp:`: a choice of «¿Se refiere a…?»
    app.add_handlers(start.HANDLERS)
    app.add_handlers(fallback.HANDLERS)  # must stay last: it matches everything left
    app.add_error_handler(errors.on_error)
