"""SQLModel tables: the whole schema of Cabildo, imported from here.

The public data, the people and what they do are defined here; the tables the running bot
keeps for itself, in `storage.models_runtime`. Telegram ids are BIGINT; timestamps are UTC
(`UTCDateTime`); money is NUMERIC (`storage.columns`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.columns import bigint, money, source, when

# The bot's own bookkeeping tables (`storage.models_runtime`): the same schema.
from storage.models_runtime import AppSecret as AppSecret
from storage.models_runtime import AuditEntry as AuditEntry
from storage.models_runtime import Broadcast as Broadcast
from storage.models_runtime import ConversationState as ConversationState
from storage.models_runtime import DataVersion as DataVersion
from storage.models_runtime import JobRun as JobRun
from storage.models_runtime import OutboxMessage as OutboxMessage
from storage.models_runtime import SeenUpdate as SeenUpdate
from storage.models_runtime import SendPace as SendPace
from storage.types import JSONType, UTCDateTime


class Provenance(SQLModel):
    """Where an imported row came from: a published source (SECOP II…) or a staff file.

    `fuente` None means a file the Alcaldía imported; `importado_at` is the last import or
    sync that brought the row (new, changed or confirmed as it was).
    """

    fuente: str | None = source(60)  # «SECOP II»
    fuente_conjunto: str | None = source(40)  # the dataset there: «jbjy-vk9h»
    fuente_id: str | None = source(120)  # the row's id there: «CO1.PCCNTR.4913416»
    importado_at: datetime | None = when()


# --- people -----------------------------------------------------------------


class Citizen(SQLModel, table=True):
    """A person who wrote to the bot; nothing beyond ids before consent."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = bigint(unique=True)
    chat_id: int = bigint(index=True)
    role: str = Field(default="ciudadano", max_length=16)  # ciudadano | lider | staff | admin
    first_name: str | None = Field(default=None, max_length=128)
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id")
    consent_at: datetime | None = when()
    blocked_at: datetime | None = when()
    created_at: datetime = when(nullable=False)
    last_seen_at: datetime = when(nullable=False)


class Comuna(SQLModel, table=True):
    """A comuna or corregimiento of the municipality."""

    id: int | None = Field(default=None, primary_key=True)
    codigo: str = Field(max_length=8, unique=True)  # "4", "C1"
    nombre: str = Field(max_length=120)
    tipo: str = Field(default="comuna", max_length=16)  # comuna | corregimiento


class Subscription(SQLModel, table=True):
    """One alert subscription of a chat (person or group): comuna, topic, work or goal."""

    __table_args__ = (
        UniqueConstraint("chat_id", "kind", "value"),
        Index("ix_subscription_kind_value", "kind", "value"),  # an alert's followers
    )
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = bigint(index=True)
    kind: str = Field(max_length=16)  # comuna | tema | obra | meta
    value: str = Field(max_length=64)
    created_at: datetime = when(nullable=False)


# --- information ------------------------------------------------------------


class Goal(Provenance, table=True):
    """A development-plan goal (meta del plan de desarrollo)."""

    id: int | None = Field(default=None, primary_key=True)
    codigo: str = Field(max_length=32, unique=True)
    linea: str = Field(max_length=200, index=True)
    programa: str = Field(max_length=200)
    meta: str = Field(sa_type=Text)
    indicador: str = Field(sa_type=Text)
    unidad: str | None = Field(default=None, max_length=60)
    linea_base: float | None = None
    meta_cuatrienio: float
    avance: float
    fecha_corte: date | None = None
    responsable: str | None = Field(default=None, max_length=200)
    updated_at: datetime = when(nullable=False)


class BudgetLine(Provenance, table=True):
    """Budget execution of one office (and optionally one rubro) in one fiscal year."""

    __table_args__ = (UniqueConstraint("vigencia", "dependencia", "rubro"),)
    id: int | None = Field(default=None, primary_key=True)
    vigencia: int = Field(index=True)
    dependencia: str = Field(max_length=200)
    rubro: str = Field(default="", max_length=200)
    apropiacion_definitiva: Decimal = money(nullable=False)
    compromisos: Decimal = money(nullable=False)
    obligaciones: Decimal | None = money()
    pagos: Decimal | None = money()
    fecha_corte: date | None = None
    updated_at: datetime = when(nullable=False)


class Work(Provenance, table=True):
    """A public work (obra pública)."""

    # The box `nearest_works` looks in first (on SQLite it holds the row id too: no row read).
    __table_args__ = (Index("ix_work_lat_lon", "latitud", "longitud"),)
    id: int | None = Field(default=None, primary_key=True)
    codigo: str = Field(max_length=32, unique=True)
    nombre: str = Field(max_length=300)
    descripcion: str | None = Field(default=None, sa_type=Text)
    # None: «sin ubicar» (SECOP knows no comuna): out of the comuna lists and the map.
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id", index=True)
    direccion: str | None = Field(default=None, max_length=300)
    latitud: float | None = None
    longitud: float | None = None
    estado: str = Field(max_length=60)
    # None: not reported (SECOP publishes none): shown so, never as 0 %.
    avance_fisico: float | None = None
    avance_financiero: float | None = None
    contratista: str | None = Field(default=None, max_length=300)
    valor_contrato: Decimal | None = money()
    fecha_inicio: date | None = None
    fecha_fin_prevista: date | None = None
    enlace_secop: str | None = Field(default=None, max_length=500)
    updated_at: datetime = when(nullable=False)


class ContractingProcess(Provenance, table=True):
    """A contracting process (licitación, mínima cuantía, …) as published in SECOP."""

    id: int | None = Field(default=None, primary_key=True)
    numero_proceso: str = Field(max_length=80, unique=True)
    modalidad: str = Field(max_length=80, index=True)
    objeto: str = Field(sa_type=Text)
    valor: Decimal = money(nullable=False)
    estado: str = Field(max_length=60)
    fecha_apertura: date | None = None
    fecha_cierre: date | None = None
    dependencia: str | None = Field(default=None, max_length=200)
    enlace_secop: str | None = Field(default=None, max_length=500)
    updated_at: datetime = when(nullable=False)


class Report(Provenance, table=True):
    """A published report: management, contracting, financial situation…"""

    __table_args__ = (UniqueConstraint("titulo", "periodo"),)
    id: int | None = Field(default=None, primary_key=True)
    titulo: str = Field(max_length=300)
    tipo: str = Field(max_length=80, index=True)
    periodo: str = Field(max_length=60)
    enlace: str = Field(max_length=500)
    fecha_publicacion: date | None = None
    resumen: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = when(nullable=False)


class PlanActivity(SQLModel, table=True):
    """An activity of the accountability plan (Plan Anticorrupción, componente 3)."""

    id: int | None = Field(default=None, primary_key=True)
    actividad: str = Field(max_length=16, unique=True)  # "1.2"
    subcomponente: str = Field(max_length=300)
    descripcion: str = Field(sa_type=Text)
    meta: str = Field(max_length=60)
    indicador: str = Field(sa_type=Text)
    responsable: str = Field(max_length=300)
    fechas_limite: list[str] = Field(default_factory=list, sa_type=JSONType)  # ISO dates


# --- dialogue ---------------------------------------------------------------


class Event(Provenance, table=True):
    """An accountability event: audiencia pública, feria, taller, visita de obra…"""

    id: int | None = Field(default=None, primary_key=True)
    clave: str = Field(max_length=200, unique=True)  # `codigo` column or "titulo|inicio"
    titulo: str = Field(max_length=300)
    tipo: str = Field(max_length=80)
    inicio: datetime = Field(sa_type=UTCDateTime, index=True)
    fin: datetime | None = when()
    lugar: str = Field(max_length=300)
    direccion: str | None = Field(default=None, max_length=300)
    latitud: float | None = None
    longitud: float | None = None
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id")
    enlace: str | None = Field(default=None, max_length=500)
    descripcion: str | None = Field(default=None, sa_type=Text)
    capacidad: int | None = None
    anunciar_desde: datetime | None = when()  # announce no earlier than this (None = at once)
    encuesta: str | None = Field(default=None, max_length=60)  # survey slug sent after it ends
    estado: str = Field(default="programado", max_length=16)  # programado | aplazado | cancelado
    motivo: str | None = Field(default=None, max_length=500)  # why staff cancelled or postponed it
    inicio_anterior: datetime | None = when()  # the start before its date last changed
    secuencia: int = 0  # iCalendar SEQUENCE: raised by each change calendars must take
    updated_at: datetime = when(nullable=False)


class Registration(SQLModel, table=True):
    """A person's RSVP to an event (confirmed, waiting list or cancelled)."""

    __table_args__ = (UniqueConstraint("event_id", "chat_id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    chat_id: int = bigint(index=True)
    status: str = Field(default="confirmado", max_length=16)  # confirmado | espera | cancelado
    created_at: datetime = when(nullable=False)  # reset on re-registering: waiting-list order
    asistio: bool = False  # staff marked the person as present


class Survey(SQLModel, table=True):
    """A perception survey definition."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    titulo: str = Field(max_length=300)
    descripcion: str | None = Field(default=None, sa_type=Text)
    anonima: bool = False
    abre: datetime | None = when()
    cierra: datetime | None = when()
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id")
    created_at: datetime = when(nullable=False)


class SurveyQuestion(SQLModel, table=True):
    """One question of a survey; options and skip rules kept as JSON."""

    __table_args__ = (UniqueConstraint("survey_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    position: int
    kind: str = Field(max_length=16)  # unica | multiple | escala | texto
    text: str = Field(sa_type=Text)
    options: list[str] = Field(default_factory=list, sa_type=JSONType)
    max_choices: int | None = None
    max_length: int | None = None
    skip_rules: dict[str, int] = Field(default_factory=dict, sa_type=JSONType)


class SurveyResponse(SQLModel, table=True):
    """One person's response to a survey; `respondent_key` is a keyed hash of the chat id.

    The key (see `storage.pseudonyms.pseudonym`) stays when the person deletes their data, so
    a completed survey stays answered; `chat_id` is kept only for named surveys.
    """

    __table_args__ = (UniqueConstraint("survey_id", "respondent_key"),)
    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    respondent_key: str = Field(max_length=128)
    chat_id: int | None = bigint(nullable=True, index=True)  # None for anonymous surveys
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id")
    started_at: datetime = when(nullable=False)
    completed_at: datetime | None = when()


class SurveyAnswer(SQLModel, table=True):
    """The answer to one question within one response."""

    __table_args__ = (UniqueConstraint("response_id", "question_id"),)
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="surveyresponse.id", index=True)
    question_id: int = Field(foreign_key="surveyquestion.id", index=True)
    value: Any = Field(default=None, sa_type=JSONType)


class CitizenQuestion(SQLModel, table=True):
    """A citizen's question for the hearing or an office; its id is the tracking number."""

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int | None = bigint(nullable=True, index=True)  # None once the person deletes data
    # Keyed hash of the chat id: counts the daily limit, and survives deletion for 24 hours.
    asker_key: str | None = Field(default=None, max_length=80, index=True)
    topic: str = Field(default="general", max_length=60)
    text: str = Field(sa_type=Text)
    status: str = Field(default="pendiente", max_length=16)  # pendiente | respondida | duplicada
    answer: str | None = Field(default=None, sa_type=Text)
    answered_by: int | None = bigint(nullable=True)
    answered_at: datetime | None = when()
    duplicate_of: int | None = Field(default=None, foreign_key="citizenquestion.id")
    published: bool = False
    # The asker agreed, when asking, that the question be shown (unanswered, without their
    # name) so that others can support it: only hearing questions ask.
    share_pending: bool = False
    office: str | None = Field(default=None, max_length=200)  # the office that answers it
    created_at: datetime = when(nullable=False, index=True)


class QuestionSupport(SQLModel, table=True):
    """One person's «Yo también quiero saber» for a question, kept under their pseudonym only.

    `supporter_key` is `storage.pseudonyms.pseudonym` with scope "apoyos": no chat id is stored,
    and the key stays after the person deletes their data, so nobody supports twice.
    """

    question_id: int = Field(foreign_key="citizenquestion.id", primary_key=True)
    supporter_key: str = Field(max_length=80, primary_key=True)
    created_at: datetime = when(nullable=False)


class PBRound(SQLModel, table=True):
    """A comuna's participatory budget in one round: the money and the voting window."""

    __table_args__ = (UniqueConstraint("ronda", "comuna_id"),)
    id: int | None = Field(default=None, primary_key=True)
    ronda: str = Field(max_length=40, index=True)  # "2027"
    comuna_id: int = Field(foreign_key="comuna.id")
    presupuesto: Decimal = money(nullable=False)
    abre: datetime | None = when()
    cierra: datetime | None = when()
    # Ballots count only from people who verified their own phone number (`PBPhone`).
    requiere_verificacion: bool = False
    updated_at: datetime = when(nullable=False)


class PBProject(SQLModel, table=True):
    """A project citizens of a comuna can choose in a participatory-budget round."""

    id: int | None = Field(default=None, primary_key=True)
    codigo: str = Field(max_length=32, unique=True)
    round_id: int = Field(foreign_key="pbround.id", index=True)
    nombre: str = Field(max_length=300)
    descripcion: str | None = Field(default=None, sa_type=Text)
    costo: Decimal = money(nullable=False)
    updated_at: datetime = when(nullable=False)


class PBVote(SQLModel, table=True):
    """One person's ballot in a round (one per person per round; changeable until it closes).

    `voter_key` (a keyed hash of ronda and chat id) identifies the person's ballot and stays
    when they delete their data, so voting again replaces it instead of adding another.
    """

    __table_args__ = (
        UniqueConstraint("ronda", "chat_id"),
        Index("ix_pbvote_ronda_voter_key", "ronda", "voter_key", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    ronda: str = Field(max_length=40)
    round_id: int = Field(foreign_key="pbround.id", index=True)
    chat_id: int | None = bigint(nullable=True)  # None once the person deletes their data
    voter_key: str | None = Field(default=None, max_length=80)  # None only for old ballots
    project_ids: list[int] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = when(nullable=False)
    updated_at: datetime = when(nullable=False)


class PBPhone(SQLModel, table=True):
    """A phone number verified for one ronda, as keyed hashes only: one account per number.

    `phone_key` is an HMAC of the number and `voter_key` the person's ballot pseudonym for the
    ronda (`storage.participation.voter_key`); neither reveals the number or the chat id.
    """

    __table_args__ = (
        UniqueConstraint("ronda", "phone_key"),
        UniqueConstraint("ronda", "voter_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ronda: str = Field(max_length=40)
    phone_key: str = Field(max_length=80)
    voter_key: str = Field(max_length=80)
    created_at: datetime = when(nullable=False)
