"""Any text that is not a command is a question: answer with the best matches, by kind.

A question that names a section («presupuesto», «metas del plan», «informes») gets the
section's entry point (the main menu's button; the budget also gets its totals), first when
the question is nothing but that, after the specific items otherwise. Works asked for by
status or comuna («obras suspendidas», «obras terminadas en la comuna 1») are filtered and
counted; when there are more than the answer shows, «📋 Ver las N» pages through all of them
(`obra:s:…`, listed by handlers.works). When other words narrow the works too, the header
names them («Obras sobre «parques» en la comuna 4»), so a count or a «No hay» is never taken
for the whole comuna's; several comunas get one button each; «c2» with nothing in the
corregimiento C2 asks «¿Quiso decir la comuna 2?» with a button to that list. Events open
their card; reports open their link.

The index is built from the database and rebuilt when the data changes (checked at most
once a minute, so imports show up within a minute); when nothing matches well the bot says
so plainly and offers the menu.
"""

from __future__ import annotations

from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.context import CabildoContext
from bot.formatting import clip
from handlers import answers
from handlers.callbacks import (
    AnsweredQuestion,
    BudgetOffice,
    EventCard,
    GoalCard,
    ProcessCard,
    QuestionFromSearch,
    WorkCard,
    WorksInStatus,
    WorksOfComuna,
)
from handlers.goals import show_status
from handlers.index import search_index
from handlers.keyboards import LOCATION_PROMPT, MENU_ITEMS, location_keyboard, main_menu
from handlers.places import comuna_place
from storage.answers.ask import parse
from storage.answers.facts import Listed, listed, upcoming_events
from storage.budget import Execution, execution, latest_year
from storage.goals import status_asked
from storage.models import Event
from storage.search import (
    STOP,
    TOPIC_KINDS,
    Answer,
    Hit,
    SearchIndex,
    tokens,
)
from storage.types import utcnow
from storage.works import find_comuna

AGENDA_SHOWN = 5  # events listed when a question names the agenda
LIST_LINES = 10  # items listed in all for the kinds a question did not name
TITLES = {
    "meta": "🎯 Metas del plan",
    "obra": "🏗️ Obras",
    "presupuesto": "💰 Presupuesto",
    "evento": "📅 Eventos",
    "contratacion": "📑 Contratación",
    "informe": "📄 Informes",
    "pregunta": "❓ Respuestas",
}
# What each section holds, for a question that names it.
SECTIONS = {
    "metas": "🎯 <b>Metas del plan</b>: el avance de cada meta, por línea y programa.",
    "presupuesto": (
        "💰 <b>Presupuesto</b>: apropiación, compromisos, obligaciones y pagos, en total y "
        "por dependencia."
    ),
    "obras": "🏗️ <b>Obras</b>: las obras públicas por comuna, con su estado y avance.",
    "contratacion": (
        "📑 <b>Contratación</b>: procesos que reciben ofertas, en evaluación y adjudicados."
    ),
    "informes": "📄 <b>Informes</b>: informes de gestión, de contratación y financieros.",
    "agenda": "📅 <b>Agenda</b>: los próximos eventos, con fecha, lugar e inscripción.",
    "encuestas": "📝 <b>Encuestas</b>: las encuestas abiertas para dar su opinión.",
    "presupuestos": (
        "🗳️ <b>Presupuestos participativos</b>: los proyectos de cada comuna y la votación."
    ),
    "preguntar": (
        "❓ <b>Preguntar</b>: envíe su pregunta a la Alcaldía y vea las respuestas publicadas."
    ),
    "alertas": "🔔 <b>Alertas</b>: cambios en su comuna y en los temas que elija, con un mensaje.",
}
STATUS_LABELS = {
    "suspendida": "suspendidas",
    "terminada": "terminadas",
    "en ejecucion": "en ejecución",
    "por iniciar": "por iniciar",
    "en contratacion": "en contratación",
    "atrasada": "atrasadas",
}
WORKS_HEADER = "🏗️ Obras{status}{about}{where}: {total}"
WORKS_NONE = "No hay obras{status}{about}{where}."
WORKS_ABOUT = " sobre «{words}»"  # other words narrowed the works: the total is of those
WORKS_MAYBE = "¿Quiso decir {place}? Allí sí hay obras{status}: {total}."
WORKS_MAYBE_BUTTON = "🏗️ Obras{status} {place}"
WORKS_DELAYED = "Atrasadas: las que no han terminado y cuya fecha de entrega prevista ya pasó."
WORKS_SOME = "Se muestran {shown} de {total}."
WORKS_OF_COMUNA = "🏗️ Todas las obras {place}"
WORKS_BY_COMUNA = "🏘️ Obras por comuna"
WORKS_ALL = "📋 Ver las {total}"
REPORT_BUTTON = "📄 {title}"
FOUND = "Esto es lo que encontré sobre «{text}»:"
GREETING = "¡Hola! Pregúnteme por una obra, una meta o el presupuesto, o elija una opción:"
THANKS = "Con gusto. ¿Algo más? Elija una opción o escriba su pregunta:"
GREETING_WORDS = {
    "hola", "buenas", "buenos", "buen", "dia", "dias", "tardes", "noches", "gracias", "muchas",
    "mil", "ok", "vale", "saludos", "hey", "que", "tal", "como", "esta", "estas",
}
NEAR_WORDS = frozenset({"cerca", "cercana", "cercanas", "cercano", "cercanos", "alrededor"})
NOT_FOUND = answers.NOT_IN_DATA + " Pruebe con otras palabras o elija una opción:"


def _small_talk(text: str) -> str | None:
    """Return a reply to a bare greeting or thanks, or None if the text asks something."""
    words = set(tokens(text))
    if words and words <= GREETING_WORDS:
        return THANKS if words & {"gracias", "muchas", "mil"} else GREETING
    return None


def _section_buttons(areas: list[str]) -> list[list[InlineKeyboardButton]]:
    """Return one main-menu button per section named, in the order named."""
    labels = dict((area, label) for label, area in MENU_ITEMS)
    return [[InlineKeyboardButton(labels[a], callback_data=f"menu:{a}")]
            for a in areas if a in labels]


def _hit_button(hit: Hit, offices: list[str]) -> InlineKeyboardButton | None:
    """Return the button that opens a hit, or None when it has none."""
    label = clip(hit.title, 60)
    data = None
    if hit.kind == "meta":
        data = GoalCard(hit.key).encode()
    elif hit.kind == "obra":
        data = WorkCard(hit.key).encode()
    elif hit.kind == "contratacion" and len(hit.key) < 50:
        data = ProcessCard(hit.key).encode()
    elif hit.kind == "pregunta" and hit.key.isdigit():
        data = AnsweredQuestion(int(hit.key)).encode()
    elif hit.kind == "presupuesto" and hit.key in offices:
        data = BudgetOffice(offices.index(hit.key)).encode()
    elif hit.kind == "evento" and hit.ref.isdigit():
        data = EventCard(int(hit.ref)).encode()
    elif hit.kind == "informe" and hit.ref.startswith(("https://", "http://")):
        return InlineKeyboardButton(REPORT_BUTTON.format(title=clip(hit.title, 56)), url=hit.ref)
    return InlineKeyboardButton(label, callback_data=data) if data else None


def _answer(index: SearchIndex, text: str, today: date) -> Answer:
    """Return the matches of `text` by kind: up to 8 of a kind when it is the only one (or
    the one asked for), 5 each for two kinds, 3 each for more. When nothing matches but most
    of the words are the data's own, the words it does not hold are left out («que están
    haciendo en provenza»: «haciendo» names nothing)."""
    found = index.answer(text, per_kind=8, today=today)
    if not found.groups and not found.topic_only and found.works_total is None:
        words = [w for w in tokens(text) if w not in STOP and (len(w) > 2 or w.isdigit())]
        known = [w for w in words if index.knows(w)]
        if known and len(known) > len(words) - len(known) and len(known) < len(words):
            relaxed = index.answer(" ".join(known), per_kind=8, today=today)
            named = {TOPIC_KINDS[t] for t in found.topics if t in TOPIC_KINDS}
            # «metas de la selección colombia»: goals named, so a contract about a
            # «selección abreviada» is no answer.
            if not named or named & set(relaxed.groups):
                found = relaxed
    asked = {TOPIC_KINDS[t] for t in found.topics if t in TOPIC_KINDS}
    if found.works_total is not None:
        asked.add("obra")
    # Ten lines at most for the kinds not asked for: up to three each, then the rest to the
    # best kinds first (one goal and five works about «polideportivos» all show).
    sizes = {kind: min(len(hits), 3) for kind, hits in found.groups.items() if kind not in asked}
    spare = max(0, LIST_LINES - sum(sizes.values()))
    for kind in sizes:
        extra = min(spare, min(len(found.groups[kind]), 8) - sizes[kind])
        sizes[kind] += extra
        spare -= extra
    found.groups = {kind: hits if kind in asked else hits[:sizes[kind]]
                    for kind, hits in found.groups.items()}
    return found


def listed_events(events: list[Event]) -> Listed:
    """Return upcoming events as list rows (for their dates)."""
    return Listed(events={str(e.id): e for e in events})


async def answer_question(update: Update, context: CabildoContext) -> None:
    """Answer free text with the sections and items it asks for, or say nothing matched."""
    message = update.effective_message
    if message is None or not message.text:
        return
    text = message.text.strip()
    reply = _small_talk(text)
    if reply is not None:
        await message.reply_text(reply, reply_markup=main_menu())
        return
    index = await search_index(context)
    if await answers.reply(update, context, text, index):  # the fact asked for, first
        return
    asked = status_asked(text)
    if asked is not None:  # «metas cumplidas», «qué metas de salud van atrasadas»
        await answers.forget(update, context)  # a new subject: no follow-up about the last
        await show_status(update, context, *asked)
        return
    shown = escape(text[:80])
    today = context.settings.today()
    ask = parse(text)
    found = _answer(index, ask.plain or text, today)
    if found.topic_only and len(found.topics) > 1:  # «informe de contratación»: the report
        titled = index.titled(text)
        if titled:
            found.groups = {h.kind: [x for x in titled if x.kind == h.kind][:8] for h in titled}
            found.topic_only = False
    if not found.groups and not found.topic_only and found.works_total is None:
        # Nothing, or a section named with words that match nothing in it: say so, point
        # where to go for what is not accountability, and offer to send it as a question.
        lines = [NOT_FOUND.format(text=shown),
                 *answers.outside_lines(ask.pointer, context)]
        menu = main_menu().inline_keyboard
        ask_button = InlineKeyboardButton(answers.SEND_AS_QUESTION,
                                          callback_data=QuestionFromSearch().encode())
        markup = InlineKeyboardMarkup([[ask_button], *menu])
        await answers.remember(update, context, {"unanswered": text[:2000]})
        await message.reply_text("\n".join(lines), reply_markup=markup)
        if NEAR_WORDS & set(ask.words) and message.chat.type == ChatType.PRIVATE:
            # «obras cerca al estadio»: no place is known by name, but theirs can be sent
            await message.reply_text(LOCATION_PROMPT, reply_markup=location_keyboard())
        return
    locale = context.settings.locale
    offices: list[str] = []
    total: Execution | None = None
    soon: list[Event] = []
    places: list[tuple[str, str, str]] = []  # (code, «en la comuna 4 · …», «de la …»)
    maybe: tuple[str, str] | None = None  # («la comuna 2 · …», «de la comuna 2 · …»)
    async with context.db.session() as session:
        shown_rows = await listed(session, [h for hits in found.groups.values() for h in hits])
        if found.topic_only and "agenda" in found.topics:
            soon = await upcoming_events(session, now=utcnow(), limit=AGENDA_SHOWN)
        if "presupuesto" in found.groups or "presupuesto" in found.topics:
            year = await latest_year(session)
            if year:
                total, per_office = await execution(session, vigencia=year)
                offices = [o.name for o in per_office]
        for code in found.comunas or ([found.comuna] if found.comuna else []):
            places.append((code, *comuna_place(await find_comuna(session, code), code)))
        if found.other_comuna is not None:
            other_in, other_of = comuna_place(
                await find_comuna(session, found.other_comuna), found.other_comuna)
            maybe = (other_in.removeprefix("en "), other_of)
    # «en la comuna 4 · Occidental y la comuna 5 · Oriental»
    named = [p[1] if i == 0 else p[1].removeprefix("en ") for i, p in enumerate(places)]
    place_in = escape(", ".join(named[:-1]) + " y " + named[-1] if len(named) > 1 else
                      "".join(named))
    lines = [FOUND.format(text=shown)]
    rows: list[list[InlineKeyboardButton]] = []
    if found.topic_only:
        for area in found.topics:
            if area == "presupuesto" and total is not None:
                lines.append("\n" + answers.budget_line(total, locale))
            elif area in SECTIONS:
                lines.append("\n" + SECTIONS[area])
            if area == "agenda" and soon:  # the next events themselves, with their dates
                lines.extend(answers.hit_line(Hit("evento", e.clave, e.titulo, 1.0, str(e.id)),
                                              listed_events(soon), context) for e in soon)
        rows.extend(_section_buttons(found.topics))
    status = f" {STATUS_LABELS.get(found.status, found.status)}" if found.status else ""
    where = f" {place_in}" if place_in else ""
    about = WORKS_ABOUT.format(words=escape(clip(found.about, 60))) if found.about else ""
    extra: list[list[InlineKeyboardButton]] = []
    if found.works_total is not None:
        works = found.groups.get("obra", [])
        if found.delayed:
            lines.append("\n" + WORKS_DELAYED)
        if not works:
            lines.append("\n" + WORKS_NONE.format(status=status, about=about, where=where))
        if maybe is not None and found.other_comuna is not None:
            lines.append(WORKS_MAYBE.format(place=escape(maybe[0]), status=status,
                                            total=found.other_total))
            extra.append([InlineKeyboardButton(
                clip(WORKS_MAYBE_BUTTON.format(status=status, place=maybe[1]), 60),
                callback_data=WorksInStatus(found.status, found.other_comuna, 0).encode()
                if found.status else WorksOfComuna(found.other_comuna, 0).encode())])
        if (found.works_only_filter and found.status and len(places) <= 1
                and len(works) < found.works_total):
            extra.append([InlineKeyboardButton(
                WORKS_ALL.format(total=found.works_total),
                callback_data=WorksInStatus(found.status, found.comuna or "", 0).encode())])
        for code, _, place_of in places[:4]:
            extra.append([InlineKeyboardButton(
                clip(WORKS_OF_COMUNA.format(place=place_of), 60),
                callback_data=WorksOfComuna(code, 0).encode())])
        if not places and len(works) < found.works_total:
            extra.append([InlineKeyboardButton(WORKS_BY_COMUNA, callback_data="menu:obras")])
    for kind, hits in found.groups.items():
        title = TITLES[kind]
        if kind == "obra" and found.works_total is not None:
            title = WORKS_HEADER.format(status=status, about=about, where=where,
                                        total=found.works_total)
        lines.append(f"\n<b>{title}</b>")
        for hit in hits:
            lines.append(answers.hit_line(hit, shown_rows, context))
            button = _hit_button(hit, offices)
            if button is not None:
                rows.append([button])
        if kind == "obra" and found.works_total is not None and len(hits) < found.works_total:
            lines.append(WORKS_SOME.format(shown=len(hits), total=found.works_total))
    pointers = answers.outside_lines(ask.pointer, context)
    if pointers:  # «impuesto predial»: what the data holds, and where the trámite is done
        lines.append("")
        lines.extend(pointers)
    taken = {b.callback_data for row in extra for b in row}
    sections = [] if found.topic_only else [
        row for row in _section_buttons(found.topics) if row[0].callback_data not in taken
    ]
    tail = [*extra, *sections, [InlineKeyboardButton("🏠 Menú", callback_data="menu:inicio")]]
    rows = rows[: max(0, 14 - len(tail))] + tail
    if found.groups and not found.topic_only:  # the list is the subject now: «¿y cuál es
        # la más cara?» compares within it (a section's entry point is no list)
        await answers.remember(update, context, {"list": (ask.plain or text)[:300]})
    else:
        await answers.forget(update, context)
    await message.reply_text("\n".join(lines)[:4000], reply_markup=InlineKeyboardMarkup(rows))
