"""The areas moved onto the callback codec keep the data their buttons always carried.

For each area: data exactly as the hand-written routers wrote it (and as messages already in
people's chats carry it) decodes to one action and encodes back to the same bytes; the
longest data an area can write still fits Telegram's 64 bytes; and data an area does not
know gets the area's polite answer.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers import callbacks
from handlers.callbacks import MAX_CALLBACK_BYTES, MAX_INT, CallbackData
from handlers.events import MAX_WORDS
from storage import questions as store
from storage.alerts import TOPICS as ALERT_TOPICS

ADMIN, CITIZEN = 1000, 7402
LONGEST_COMUNA = "x" * 8  # Comuna.codigo is at most 8 characters
OFFICE = "0123abcd"  # storage.questions.office_code: 8 hex digits
LONGEST_TOPIC = max((key for key, _ in store.TOPICS), key=len)
LONGEST_SORT = max(store.SORTS, key=len)

OLD_BUTTONS: dict[str, list[tuple[str, CallbackData]]] = {
    "agenda": [
        ("ev:l:t:0", callbacks.AgendaList("t", 0)),
        ("ev:l:c4:2", callbacks.AgendaList("c4", 2)),
        ("ev:l:kaudiencia pública:0", callbacks.AgendaList("kaudiencia pública", 0)),
        ("ev:l:qtaller cocina:1", callbacks.AgendaList("qtaller cocina", 1)),
        ("ev:f", callbacks.AgendaFilters()),
        ("ev:e:12", callbacks.EventCard(12)),
        ("ev:r:12", callbacks.EventAttend(12)),
        ("ev:w:12", callbacks.EventWaitlist(12)),
        ("ev:x:12", callbacks.EventLeave(12)),
        ("ev:i:12", callbacks.EventCalendar(12)),
    ],
    "staff events": [
        ("staff:ev:nuevo", callbacks.StaffEventNew()),
        ("staff:ev:e:7", callbacks.StaffEventMenu(7)),
        ("staff:ev:c:7:inicio", callbacks.StaffEventField(7, "inicio")),
        ("staff:ev:c:7:capacidad", callbacks.StaffEventField(7, "capacidad")),
        ("staff:ev:x:7", callbacks.StaffEventCallOff(7)),
        ("staff:ev:xok", callbacks.StaffEventCallOffConfirm()),
        ("staff:ev:p:7", callbacks.StaffEventPostpone(7)),
        ("staff:ev:pok", callbacks.StaffEventPostponeConfirm()),
        ("staff:ev:a:7:0", callbacks.StaffAttendance(7, 0)),
        ("staff:ev:t:7:15:1:2", callbacks.StaffAttendanceMark(7, 15, 1, 2)),
        ("staff:ev:csv:7", callbacks.StaffAttendanceCsv(7)),
        ("staff:ev:xlsx:7", callbacks.StaffAttendanceXlsx(7)),
        ("staff:ev:cancelar", callbacks.StaffEventClose()),
        ("staff:ev:k:3", callbacks.StaffEventKind(3)),
        ("staff:ev:m:C2", callbacks.StaffEventComuna("C2")),
        ("staff:ev:m:-", callbacks.StaffEventComuna("-")),
        ("staff:ev:s", callbacks.StaffEventSkip()),
        ("staff:ev:ok", callbacks.StaffEventSave()),
        ("staff:ev:luego", callbacks.StaffEventLater()),
    ],
    "questions": [
        ("preg:n", callbacks.QuestionNew()),
        ("preg:t:audiencia", callbacks.QuestionTopic("audiencia")),
        ("preg:tt:obras", callbacks.QuestionTopicForText("obras")),
        ("preg:c", callbacks.QuestionContinue()),
        ("preg:e", callbacks.QuestionFromSearch()),
        ("preg:x", callbacks.QuestionCancel()),
        ("preg:m:0", callbacks.MyQuestions(0)),
        ("preg:b:3", callbacks.AnsweredQuestions(3)),
        ("preg:v:41", callbacks.AnsweredQuestion(41)),
        ("preg:s:41:1", callbacks.QuestionShare(41, "1")),
        ("preg:s:41:0", callbacks.QuestionShare(41, "0")),
        ("preg:r:0", callbacks.SupportRanking(0)),
        ("preg:a:41:v", callbacks.QuestionSupport(41, "v")),
        ("preg:a:41:r2", callbacks.QuestionSupport(41, "r2")),
    ],
    "staff questions": [
        ("staff:preg:q:0", callbacks.StaffQuestionQueue(0)),
        ("staff:preg:l:apoyos:-:-:1", callbacks.StaffQuestionView("apoyos", "-", "-", 1)),
        ("staff:preg:l:tema:obras:0123abcd:0",
         callbacks.StaffQuestionView("tema", "obras", "0123abcd", 0)),
        ("staff:preg:ft:fecha:-:0", callbacks.StaffQuestionTopics("fecha", "-", "0")),
        ("staff:preg:fo:apoyos:audiencia:-",
         callbacks.StaffQuestionOffices("apoyos", "audiencia", "-")),
        ("staff:preg:x:apoyos:-:-", callbacks.StaffQuestionCsv("apoyos", "-", "-")),
        ("staff:preg:xx:apoyos:-:-", callbacks.StaffQuestionXlsx("apoyos", "-", "-")),
        ("staff:preg:r:9", callbacks.StaffQuestionAnswer(9)),
        ("staff:preg:d:9", callbacks.StaffQuestionDuplicate(9)),
        ("staff:preg:g:9:4", callbacks.StaffQuestionDuplicateOf(9, 4)),
        ("staff:preg:o:9", callbacks.StaffQuestionOffice(9)),
        ("staff:preg:oo:9:0123abcd", callbacks.StaffQuestionOfficeSet(9, "0123abcd")),
        ("staff:preg:oo:9:-", callbacks.StaffQuestionOfficeSet(9, "-")),
        ("staff:preg:p:9:1", callbacks.StaffQuestionPublish(9, 1)),
        ("staff:preg:p:9:0", callbacks.StaffQuestionPublish(9, 0)),
    ],
    "privacy": [
        ("priv:acepto", callbacks.ConsentAccept()),
        ("priv:ok::menu:alertas", callbacks.ConsentResume("", "menu:alertas")),
        ("priv:ok:812:ev:r:12", callbacks.ConsentResume("812", "ev:r:12")),
        ("priv:ok::", callbacks.ConsentResume("", "")),
        ("priv:no", callbacks.ConsentDecline()),
        ("priv:borrar", callbacks.DataDelete()),
        ("priv:conservar", callbacks.DataKeep()),
    ],
    "alerts": [
        ("alr:t:obras", callbacks.AlertTopic("obras")),
        ("alr:c:4", callbacks.AlertComuna("4")),
        ("alr:c:C1", callbacks.AlertComuna("C1")),
    ],
    "reports": [
        ("inf:0", callbacks.ReportsPage(0)),
        ("inf:12", callbacks.ReportsPage(12)),
    ],
    "answers": [  # a work's key may hold a colon: it is the last field
        ("resp:o:avance:OB-2026-001", callbacks.AnswerChoice("o", "avance", "OB-2026-001")),
        ("resp:p:pagos:3", callbacks.AnswerChoice("p", "pagos", "3")),
        ("resp:e:fecha:12", callbacks.AnswerChoice("e", "fecha", "12")),
        ("resp:c:valor:CO1.PCCNTR:77", callbacks.AnswerChoice("c", "valor", "CO1.PCCNTR:77")),
    ],
}

# The longest data each area writes: the largest ids and pages, the longest texts it puts in.
LONGEST: dict[str, list[CallbackData]] = {
    "agenda": [
        callbacks.AgendaList("q" + "x" * MAX_WORDS, MAX_INT),
        callbacks.AgendaList("c" + LONGEST_COMUNA, MAX_INT),
        *(kind(MAX_INT) for kind in (callbacks.EventCard, callbacks.EventAttend,
                                     callbacks.EventWaitlist, callbacks.EventLeave,
                                     callbacks.EventCalendar)),
    ],
    "staff events": [
        callbacks.StaffAttendanceMark(MAX_INT, MAX_INT, 1, MAX_INT),
        callbacks.StaffAttendance(MAX_INT, MAX_INT),
        callbacks.StaffEventField(MAX_INT, "capacidad"),
        callbacks.StaffAttendanceXlsx(MAX_INT),
        callbacks.StaffEventComuna(LONGEST_COMUNA),
        callbacks.StaffEventKind(MAX_INT),
    ],
    "questions": [
        callbacks.QuestionTopicForText(LONGEST_TOPIC),
        callbacks.QuestionSupport(MAX_INT, f"r{MAX_INT}"),
        callbacks.QuestionShare(MAX_INT, "1"),
        callbacks.AnsweredQuestion(MAX_INT),
        callbacks.MyQuestions(MAX_INT),
    ],
    "staff questions": [
        callbacks.StaffQuestionView(LONGEST_SORT, LONGEST_TOPIC, OFFICE, MAX_INT),
        callbacks.StaffQuestionXlsx(LONGEST_SORT, LONGEST_TOPIC, OFFICE),
        callbacks.StaffQuestionOffices(LONGEST_SORT, LONGEST_TOPIC, OFFICE),
        callbacks.StaffQuestionOfficeSet(MAX_INT, OFFICE),
        callbacks.StaffQuestionDuplicateOf(MAX_INT, MAX_INT),
        callbacks.StaffQuestionPublish(MAX_INT, 1),
    ],
    "privacy": [callbacks.ConsentResume(str(MAX_INT), "menu:presupuestos")],
    "alerts": [callbacks.AlertTopic(max(ALERT_TOPICS, key=len)),
               callbacks.AlertComuna(LONGEST_COMUNA)],
    "reports": [callbacks.ReportsPage(MAX_INT)],
}


def _actions() -> list[type[CallbackData]]:
    return [c for c in vars(callbacks).values()
            if isinstance(c, type) and issubclass(c, CallbackData) and c is not CallbackData]


@pytest.mark.parametrize(("data", "action"),
                         [pair for area in OLD_BUTTONS.values() for pair in area],
                         ids=[data for area in OLD_BUTTONS.values() for data, _ in area])
def test_old_buttons_of_every_area_decode_and_encode_back_the_same(
    data: str, action: CallbackData
) -> None:
    decoded = [d for kind in _actions() if (d := kind.decode(data)) is not None]
    assert decoded == [action]  # exactly one action claims it
    assert action.encode() == data


@pytest.mark.parametrize("area", sorted(OLD_BUTTONS))
def test_every_action_of_an_area_has_an_old_button_here(area: str) -> None:
    module = {"agenda": "events", "staff events": "event_admin", "questions": "questions",
              "staff questions": "question_staff", "privacy": "privacy", "alerts": "alerts",
              "reports": "reports", "answers": "answers"}[area]
    declared = {c for c in _actions() if c.__module__ == f"handlers.callbacks.{module}"}
    assert {type(action) for _, action in OLD_BUTTONS[area]} == declared


@pytest.mark.parametrize("action", [a for area in LONGEST.values() for a in area], ids=repr)
def test_the_longest_data_of_every_area_fits_64_bytes(action: CallbackData) -> None:
    assert len(action.encode().encode()) <= MAX_CALLBACK_BYTES


@pytest.mark.parametrize("data", ["ev:r:abc", "ev:e:-1", "ev:l:t", "preg:s:4:2", "preg:v:x",
                                  "staff:ev:c:7:fecha", "staff:preg:p:x:1", "priv:ok",
                                  "inf:uno", "alr:x:obras", "staff:ev:t:1:2:3",
                                  "resp:x:avance:1", "resp:o"])
def test_malformed_data_of_the_new_areas_decodes_to_nothing(data: str) -> None:
    assert [d for kind in _actions() if (d := kind.decode(data)) is not None] == []


async def _button_of(api: LocalBotAPI, user_id: int, command: str, label: str) -> dict[str, Any]:
    """Send `command` and return a press of its reply's button `label`, to forge data on."""
    user = api.user(user_id)
    user.send_text(command)
    await api.wait_for("sendMessage", chat_id=user_id)
    return user.tap(label, enqueue=False)


def _forge(api: LocalBotAPI, template: dict[str, Any], data: str) -> None:
    """Press a button carrying `data`, as an old or forged message would."""
    forged = copy.deepcopy(template)
    forged["callback_query"]["data"] = data
    forged["update_id"] = api.new_update_id()
    api.enqueue(forged)


async def test_stale_agenda_buttons_offer_the_agenda_again(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    _forge(api, await _button_of(api, CITIZEN, "/agenda", "🔎 Filtrar"), "ev:zz:1")
    [answer] = await api.wait_for("answerCallbackQuery")
    [edit] = await api.wait_for("editMessageText", chat_id=CITIZEN)
    assert answer.params.get("text") is None
    assert edit.params["text"] == "Ese evento ya no está disponible."
    keyboard = edit.params["reply_markup"]["inline_keyboard"]
    assert keyboard == [[{"text": "📅 Agenda", "callback_data": "ev:l:t:0"}]]


async def test_stale_staff_event_and_question_buttons_say_they_lapsed(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    template = await _button_of(api, ADMIN, "/evento", "➕ Nuevo evento")
    _forge(api, template, "staff:ev:zz")
    [edit] = await api.wait_for("editMessageText", chat_id=ADMIN)
    assert edit.params["text"] == "Esto ya no está en curso. Empiece de nuevo con /evento."
    _forge(api, template, "staff:preg:zz:1")
    [_, edit] = await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    assert edit.params["text"] == "Esa acción ya no está en curso. Vea la cola con /preguntas."


async def test_a_stale_question_button_is_answered_with_a_notice(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    _forge(api, await _button_of(api, CITIZEN, "/preguntar", "🏠 Menú"), "preg:a:abc:v")
    [answer] = await api.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Esa opción ya no está disponible."
    assert api.calls_to(CITIZEN, ["editMessageText"]) == []
