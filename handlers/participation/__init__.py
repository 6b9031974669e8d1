"""`/presupuestos`: participatory budgeting by comuna.

A resident declares their comuna by choosing it, builds a basket of projects within the
comuna's budget, and votes; the basket in progress lives in the database (flow `pp`),
so it survives a restart. After the round closes the same screen shows the results.

The screens are `rounds`, voting is `ballot`, staff's results `staff`, announcements
`notices`. Buttons are `handlers.callbacks` actions (`RoundOpen`, `ProjectToggle`…); their data
(`pp:`): `pp:i` comunas · `pp:c:<round>` open a round (basket, projects to
come, or results) · `pp:p:<round>:<page>` a page of it · `pp:s:<round>:<project>:<1|0>:<page>`
put a project in (1) or take it out (0) of the basket, idempotent so double taps are
harmless · `pp:v:<round>` vote. Staff (`staff:pp:`, vetted by handlers.access): `staff:pp:i`
rounds · `staff:pp:r:<round>:<page>` results so far · `staff:pp:csv:<round>` them as CSV.

A round that requires verification (`requiere_verificacion`) asks, at «Votar», for the
person's own phone number through Telegram's contact button; the contact that comes back
(`receive_contact`) must be the sender's own (`contact.user_id`), and then the basket kept
in the flow's state is cast. Only a keyed hash of the number is stored
(`storage.participation.verify_phone`).

`announce_rounds` (for the scheduler's sweep) tells the comuna's subscribers, once, that a
round opened, and them and its voters that it closed; `open_comuna_link` serves the deep
link `/start pp_<comuna>`.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import CabildoContext
from handlers.callbacks import (
    ProjectToggle,
    RoundCsv,
    RoundOpen,
    RoundPage,
    RoundResultsPage,
    VoteCast,
    on_press,
    on_stale,
)
from handlers.participation.ballot import cast_vote, receive_contact
from handlers.participation.common import GONE, PRIVATE_ONLY
from handlers.participation.notices import announce_rounds
from handlers.participation.rounds import open_comuna_link, open_round, show_index, toggle_project
from handlers.participation.staff import send_results_csv, staff_index, staff_results

__all__ = ["HANDLERS", "PRIVATE_ONLY", "announce_rounds", "open_comuna_link", "show_index"]


async def refuse_button(update: Update, context: CabildoContext) -> None:
    """Answer a `pp:` button this module does not know."""
    if update.callback_query is not None:
        await update.callback_query.answer(GONE)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(show_index, pattern=r"^(menu:presupuestos|pp:i)$"),
    on_press(RoundOpen, open_round),
    on_press(RoundPage, open_round),
    on_press(ProjectToggle, toggle_project, answer=False),  # with what changed, or why not
    on_press(VoteCast, cast_vote, answer=False),
    MessageHandler(filters.CONTACT & filters.ChatType.PRIVATE, receive_contact),
    on_stale("pp", refuse_button, answer=False),
    # Staff only: the `staff:` prefix is checked by handlers.access before this runs.
    CallbackQueryHandler(staff_index, pattern=r"^staff:pp:i$"),
    on_press(RoundResultsPage, staff_results),
    on_press(RoundCsv, send_results_csv),
]
