"""Every command in one table: name, who may use it, what the menu and `/ayuda` say, handler.

From it come the command menus Telegram shows (everyone's, and staff members' own),
the lines of `/ayuda`, the roles `handlers.access` checks before anything else runs, and
the `CommandHandler`s. Order is the order of the menus and of `/ayuda` (which ends with
the ways out).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import BaseHandler, CommandHandler, filters
from telegram.ext.filters import BaseFilter

from bot.context import CabildoContext
from handlers import (
    alerts,
    broadcast,
    budget,
    contracting,
    event_admin,
    events,
    goals,
    groups,
    imports,
    participation,
    privacy,
    question_browse,
    question_staff,
    questions,
    reports,
    results,
    staff,
    start,
    status,
    summary,
    surveys,
    works,
)


@dataclass(frozen=True)
class Command:
    """One command: its handler, the lowest role that may use it, and how it is described."""

    name: str
    handler: Callable[[Update, CabildoContext], Coroutine[Any, Any, None]]
    menu: str | None = None  # its line in Telegram's command menu; None: not listed
    help: str | None = None  # its line in `/ayuda` (after «/name — »); None: not listed
    help_last: bool = False  # `/ayuda` ends with the ways out (menu, cancel)
    role: str = "ciudadano"  # storage.roles: ciudadano, lider, staff, admin
    aliases: tuple[str, ...] = ()
    only: BaseFilter | None = None  # where it works (others may answer elsewhere)


PRIVATE = filters.ChatType.PRIVATE

COMMANDS: tuple[Command, ...] = (
    Command("start", start.start),
    Command("menu", start.menu, "Menú principal", "volver al menú", help_last=True),
    Command("metas", goals.show_lines, "Cómo van las metas del plan",
            "cómo van las metas del plan de desarrollo"),
    Command("presupuesto", budget.show_budget, "Ejecución del presupuesto",
            "cuánto se ha ejecutado del presupuesto"),
    Command("obras", works.show_works, "Obras públicas por comuna", "obras públicas por comuna"),
    Command("contratacion", contracting.show_contracting, "Procesos de contratación",
            "procesos de contratación"),
    Command("informes", reports.show_reports, "Informes publicados", "informes publicados"),
    Command("agenda", events.show_agenda, "Próximos eventos", "próximos eventos"),
    Command("encuestas", surveys.list_surveys, "Encuestas abiertas", "encuestas abiertas"),
    Command("preguntar", questions.start_question, "Enviar una pregunta",
            "enviar una pregunta a la Alcaldía; /mis_preguntas — ver sus preguntas",
            only=PRIVATE),
    Command("mis_preguntas", question_browse.my_questions, "Sus preguntas y respuestas",
            only=PRIVATE),
    Command("presupuestos", participation.show_index,
            "Presupuestos participativos: vote por su comuna",
            "votar por proyectos de su comuna (presupuestos participativos)"),
    Command("alertas", alerts.show_alerts, "Alertas de su comuna o de un tema",
            "recibir alertas de su comuna o de un tema"),
    Command("privacidad", privacy.privacy, help="cómo tratamos sus datos personales"),
    Command("mis_datos", privacy.my_data, "Ver lo que el bot guarda de usted",
            "ver lo que guardo sobre usted"),
    Command("borrar_datos", privacy.delete_data, "Borrar sus datos", "borrar sus datos"),
    Command("ayuda", start.help_command, "Cómo usar el bot", aliases=("help",)),
    Command("cancelar", start.cancel, "Salir de lo que está haciendo",
            "salir de lo que esté haciendo", aliases=("cancel",), help_last=True),
    # Staff and admin: listed only in their own chats' menus.
    Command("panel", staff.panel, "Panel de funcionarios", role="staff"),
    Command("preguntas", question_staff.show_queue, "Preguntas ciudadanas por responder",
            role="staff"),
    Command("responder", question_staff.answer_command, "Responder: /responder <n> <texto>",
            role="staff"),
    Command("duplicada", question_staff.duplicate_command, role="staff"),
    Command("publicar", question_staff.publish_command, role="staff"),
    Command("evento", event_admin.start_events,
            "Crear, cambiar, aplazar o cancelar un evento; asistencia", role="staff"),
    Command("difundir", broadcast.start_broadcast, "Enviar un mensaje a una audiencia",
            role="staff"),
    Command("resultados", results.show_results, "Resultados de una encuesta", role="staff"),
    Command("resumen", summary.preview, "Ver y aprobar el resumen semanal", role="staff"),
    Command("importar", imports.import_command, "Cargar datos desde un archivo", role="staff"),
    Command("estado", status.show_status, "Estado del bot: envíos, tareas y personas",
            role="staff"),
    Command("rol", staff.grant_role, "Dar un rol: /rol <id> <rol> [comuna]", role="staff"),
    # Community leaders link their group to their comuna.
    Command("vincular", groups.link, role="lider"),
    Command("desvincular", groups.unlink, role="lider"),
)


def restricted() -> dict[str, str]:
    """Return command → the lowest role that may use it, for the commands not for everyone."""
    return {c.name: c.role for c in COMMANDS if c.role != "ciudadano"}


def citizen_menu() -> list[BotCommand]:
    """Return the command menu everyone sees."""
    return [BotCommand(c.name, c.menu) for c in COMMANDS if c.menu and c.role == "ciudadano"]


def staff_menu() -> list[BotCommand]:
    """Return the command menu of a staff member's or admin's own chat."""
    return [*citizen_menu(),
            *(BotCommand(c.name, c.menu) for c in COMMANDS if c.menu and c.role != "ciudadano")]


def help_lines() -> str:
    """Return `/ayuda`'s list: one «/name — what it does» line per citizen command."""
    listed = sorted((c for c in COMMANDS if c.help), key=lambda c: c.help_last)  # stable
    return "\n".join(f"/{c.name} — {c.help}" for c in listed)


def command_handlers() -> list[BaseHandler[Update, CabildoContext, None]]:
    """Return one CommandHandler per command (its aliases answer too)."""
    return [CommandHandler([c.name, *c.aliases], c.handler, filters=c.only) for c in COMMANDS]
