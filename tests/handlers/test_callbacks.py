"""The callback-data codec: buttons sent before a deploy still work, forged ones are refused."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers import callbacks
from handlers.callbacks import CallbackData, ContractingPage, ProcessCard

USER = 7401

# Data exactly as older releases wrote it into people's chats: each must decode to the
# same action and encode back to the same bytes.
OLD_BUTTONS: list[tuple[str, CallbackData]] = [
    ("contr:a:0", ContractingPage("a", 0)),
    ("contr:o:3", ContractingPage("o", 3)),
    ("contr:p:CD-SA-001-2024", ProcessCard("CD-SA-001-2024")),
    ("contr:p:A:B", ProcessCard("A:B")),  # the last field keeps its colons
    ("meta:l", callbacks.GoalLines()),
    ("meta:l:2", callbacks.GoalLine(2)),
    ("meta:p:1:3:0", callbacks.GoalProgram(1, 3, 0)),
    ("meta:g:1.2.3", callbacks.GoalCard("1.2.3")),
    ("meta:f:1.2.3", callbacks.GoalFollow("1.2.3")),
    ("meta:s:c::0", callbacks.GoalsInStatus("c", "", 0)),
    ("meta:s:r:salud rural:2", callbacks.GoalsInStatus("r", "salud rural", 2)),
    ("ppto:t", callbacks.BudgetTotals()),
    ("ppto:g", callbacks.BudgetChart()),
    ("ppto:o:0", callbacks.BudgetOffices(0)),
    ("ppto:d:11", callbacks.BudgetOffice(11)),
    ("staff:res:l:1", callbacks.ResultsList(1)),
    ("staff:res:v:3", callbacks.ResultsOfSurvey(3)),
    ("staff:res:x:3", callbacks.ResultsXlsx(3)),
    ("staff:dif:a:todos", callbacks.BroadcastAudience("todos")),
    ("staff:dif:c:ok", callbacks.BroadcastComuna("ok")),
    ("staff:dif:t:salud", callbacks.BroadcastTopic("salud")),
    ("staff:dif:e:7", callbacks.BroadcastEvent(7)),
    ("staff:dif:ok", callbacks.BroadcastSend()),
    ("staff:dif:prog", callbacks.BroadcastSchedule()),
    ("staff:dif:cancelar", callbacks.BroadcastCancel()),
    ("enc:l:0", callbacks.SurveyList(0)),
    ("enc:o:evaluacion-audiencia", callbacks.SurveyOpen("evaluacion-audiencia")),
    ("enc:i:4", callbacks.SurveyIntro(4)),
    ("enc:s:4", callbacks.SurveyStart(4)),
    ("enc:a:4:2:1", callbacks.SurveyAnswer(4, 2, 1)),
    ("enc:m:4:3:5:2", callbacks.SurveyTick(4, 3, 5, "2")),
    ("enc:m:4:3:5:ok", callbacks.SurveyTick(4, 3, 5, "ok")),
    ("enc:p:4", callbacks.SurveyPause(4)),
    ("enc:r:4", callbacks.SurveyResultsShown(4)),
    ("pp:c:3", callbacks.RoundOpen(3)),
    ("pp:p:3:1", callbacks.RoundPage(3, 1)),
    ("pp:s:3:17:1:0", callbacks.ProjectToggle(3, 17, 1, 0)),
    ("pp:v:3", callbacks.VoteCast(3)),
    ("staff:pp:r:3:0", callbacks.RoundResultsPage(3, 0)),
    ("staff:pp:csv:3", callbacks.RoundCsv(3)),
    ("obra:i", callbacks.WorksIndex()),
    ("obra:c:4:2", callbacks.WorksOfComuna("4", 2)),
    ("obra:s:suspendida::0", callbacks.WorksInStatus("suspendida", "", 0)),
    ("obra:n:6.2442:-75.5812", callbacks.WorksNear("6.2442", "-75.5812")),
    ("obra:w:OP-2024-017", callbacks.WorkCard("OP-2024-017")),
    ("obra:w:OP-2024-017:c:4:2", callbacks.WorkCard("OP-2024-017", "c:4:2")),
    ("obra:f:OP-2024-017:s:suspendida::0", callbacks.WorkFollow("OP-2024-017", "s:suspendida::0")),
]


def _actions() -> list[type[CallbackData]]:
    return [c for c in vars(callbacks).values()
            if isinstance(c, type) and issubclass(c, CallbackData) and c is not CallbackData]


@pytest.mark.parametrize(("data", "action"), OLD_BUTTONS)
def test_old_buttons_decode_to_the_same_action_and_bytes(data: str, action: CallbackData) -> None:
    decoded = [d for kind in _actions() if (d := kind.decode(data)) is not None]
    assert decoded == [action]  # exactly one action claims it
    assert action.encode() == data


def test_every_action_has_its_own_prefix_and_a_docstring() -> None:
    kinds = _actions()
    assert len({(k.prefix, len(dataclasses.fields(k))) for k in kinds}) == len(kinds)  # type: ignore[arg-type]
    assert all(k.prefix and k.__doc__ for k in kinds)


def test_only_the_last_field_may_hold_a_colon() -> None:
    with pytest.raises(ValueError, match="last field"):
        callbacks.GoalsInStatus("c", "salud: agua", 0).encode()


def test_data_over_64_bytes_is_refused_when_encoded() -> None:
    assert len(ProcessCard("x" * 56).encode().encode()) == 64
    with pytest.raises(ValueError, match="64 bytes"):
        ProcessCard("x" * 57).encode()
    with pytest.raises(ValueError, match="64 bytes"):
        ProcessCard("ñ" * 29).encode()  # bytes, not characters


@pytest.mark.parametrize("data", ["contr:z:0", "contr:a:uno", "contr:a", "contr:a:0:1", "contr",
                                  "contrx:a:0", "", "meta:l", "contr:a:-1", "contr:a:²",
                                  "contr:a:2147483648"])
def test_malformed_data_decodes_to_nothing(data: str) -> None:
    assert ContractingPage.decode(data) is None


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def _press(api: LocalBotAPI, *data: str) -> None:
    """Press buttons carrying `data`, as a forged or old message would."""
    user = api.user(USER)
    user.send_text("/contratacion")
    [intro] = await api.wait_for("sendMessage", chat_id=USER)
    template = user.tap("🔎 En evaluación", message_id=intro.response["result"]["message_id"],
                        enqueue=False)
    for one in data:
        forged = copy.deepcopy(template)
        forged["callback_query"]["data"] = one
        forged["update_id"] = api.new_update_id()
        api.enqueue(forged)


async def test_an_old_button_still_opens_its_screen(
    bot: CabildoApp, api: LocalBotAPI, seed: None
) -> None:
    await _press(api, "contr:e:0")
    [edit] = await api.wait_for("editMessageText", chat_id=USER)
    assert edit.params["text"].startswith("🔎 <b>En evaluación</b>\nPágina 1 de")


async def test_stale_or_forged_buttons_are_answered_politely_once(
    bot: CabildoApp, api: LocalBotAPI, seed: None
) -> None:
    await _press(api, "contr:z:0", "contr:p:NO-EXISTE", "contr:e:99", "nada:1", "enc:a:x")
    answers = await api.wait_for("answerCallbackQuery", count=5)
    await api.wait_for("editMessageText", chat_id=USER)
    # The area's buttons get the area's wording (a repeat leaves the message as it is);
    # data no area knows gets the general one, as a short notice.
    edits = api.calls_to(USER, ["editMessageText"])
    assert {e.params["text"] for e in edits} == {"Esa opción ya no está disponible."}
    assert sorted(a.params.get("text", "") for a in answers) == [
        "", "", "", "Esa encuesta ya no está disponible.", "Ese botón ya no está disponible."]
    assert len(api.calls_to(USER, ["sendMessage"])) == 1  # nothing else was sent
