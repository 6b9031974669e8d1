"""SQLModel tables: the whole schema of Cabildo in one place.

Telegram ids are BIGINT; timestamps are UTC (`UTCDateTime`); money is NUMERIC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Numeric, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime, utcnow

MONEY = Numeric(20, 2)


def _money(nullable: bool = True) -> Any:
    return Field(default=None if nullable else Decimal(0), sa_type=MONEY, nullable=nullable)


def _when(nullable: bool = True, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def _bigint(nullable: bool = False, index: bool = False, unique: bool = False) -> Any:
    return Field(
        default=None, sa_type=BigInteger, nullable=nullable, index=index, unique=unique
    )


def _source(max_length: int) -> Any:
    return Field(default=None, max_length=max_length)


class Provenance(SQLModel):
    """Where an imported row came from: a published source (SECOP II…) or a staff file.

    `fuente` None means a file the Alcaldía imported; `importado_at` is the last import or
    sync that brought the row (new, changed or confirmed as it was).
    """

    fuente: str | None = _source(60)  # «SECOP II»
    fuente_conjunto: str | None = _source(40)  # the dataset there: «jbjy-vk9h»
    fuente_id: str | None = _source(120)  # the row's id there: «CO1.PCCNTR.4913416»
    importado_at: datetime | None = _when()


# --- people -----------------------------------------------------------------


class Citizen(SQLModel, table=True):
    """A person who wrote to the bot; nothing beyond ids before consent."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = _bigint(unique=True)
    chat_id: int = _bigint(index=True)
    role: str = Field(default="ciudadano", max_length=16)  # ciudadano | lider | staff | admin
    first_name: str | None = Field(default=None, max_length=128)
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id")
    consent_at: datetime | None = _when()
    blocked_at: datetime | None = _when()
    created_at: datetime = _when(nullable=False)
    last_seen_at: datetime = _when(nullable=False)


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
    chat_id: int = _bigint(index=True)
    kind: str = Field(max_length=16)  # comuna | tema | obra | meta
    value: str = Field(max_length=64)
    created_at: datetime = _when(nullable=False)


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
    updated_at: datetime = _when(nullable=False)


class BudgetLine(Provenance, table=True):
    """Budget execution of one office (and optionally one rubro) in one fiscal year."""

    __table_args__ = (UniqueConstraint("vigencia", "dependencia", "rubro"),)
    id: int | None = Field(default=None, primary_key=True)
    vigencia: int = Field(index=True)
    dependencia: str = Field(max_length=200)
    rubro: str = Field(default="", max_length=200)
    apropiacion_definitiva: Decimal = _money(nullable=False)
    compromisos: Decimal = _money(nullable=False)
    obligaciones: Decimal | None = _money()
    pagos: Decimal | None = _money()
    fecha_corte: date | None = None
    updated_at: datetime = _when(nullable=False)


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
    valor_contrato: Decimal | None = _money()
    fecha_inicio: date | None = None
    fecha_fin_prevista: date | None = None
    enlace_secop: str | None = Field(default=None, max_length=500)
    updated_at: datetime = _when(nullable=False)


class ContractingProcess(Provenance, table=True):
    """A contracting process (licitación, mínima cuantía, …) as published in SECOP."""

    id: int | None = Field(default=None, primary_key=True)
    numero_proceso: str = Field(max_length=80, unique=True)
    modalidad: str = Field(max_length=80, index=True)
    objeto: str = Field(sa_type=Text)
    valor: Decimal = _money(nullable=False)
    estado: str = Field(max_length=60)
    fecha_apertura: date | None = None
    fecha_cierre: date | None = None
    dependencia: str | None = Field(default=None, max_length=200)
    enlace_secop: str | None = Field(default=None, max_length=500)
    updated_at: datetime = _when(nullable=False)


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
    updated_at: datetime = _when(nullable=False)


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
    fin: datetime | None = _when()
    lugar: str = Field(max_length=300)
    direccion: str | None = Field(default=None, max_length=300)
    latitud: float | None = None
    longitud: float | None = None
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id")
    enlace: str | None = Field(default=None, max_length=500)
    descripcion: str | None = Field(default=None, sa_type=Text)
    capacidad: int | None = None
    anunciar_desde: datetime | None = _when()  # announce no earlier than this (None = at once)
    encuesta: str | None = Field(default=None, max_length=60)  # survey slug sent after it ends
    estado: str = Field(default="programado", max_length=16)  # programado | aplazado | cancelado
    motivo: str | None = Field(default=None, max_length=500)  # why staff cancelled or postponed it
    inicio_anterior: datetime | None = _when()  # the start before its date last changed
    secuencia: int = 0  # iCalendar SEQUENCE: raised by each change calendars must take
    updated_at: datetime = _when(nullable=False)


class Registration(SQLModel, table=True):
    """A person's RSVP to an event (confirmed, waiting list or cancelled)."""

    __table_args__ = (UniqueConstraint("event_id", "chat_id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    chat_id: int = _bigint(index=True)
    status: str = Field(default="confirmado", max_length=16)  # confirmado | espera | cancelado
    created_at: datetime = _when(nullable=False)  # reset on re-registering: waiting-list order
    asistio: bool = False  # staff marked the person as present


class Survey(SQLModel, table=True):
    """A perception survey definition."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    titulo: str = Field(max_length=300)
    descripcion: str | None = Field(default=None, sa_type=Text)
    anonima: bool = False
    abre: datetime | None = _when()
    cierra: datetime | None = _when()
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id")
    created_at: datetime = _when(nullable=False)


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
    chat_id: int | None = _bigint(nullable=True, index=True)  # None for anonymous surveys
    comuna_id: int | None = Field(default=None, foreign_key="comuna.id")
    started_at: datetime = _when(nullable=False)
    completed_at: datetime | None = _when()


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
    chat_id: int | None = _bigint(nullable=True, index=True)  # None once the person deletes data
    # Keyed hash of the chat id: counts the daily limit, and survives deletion for 24 hours.
    asker_key: str | None = Field(default=None, max_length=80, index=True)
    topic: str = Field(default="general", max_length=60)
    text: str = Field(sa_type=Text)
    status: str = Field(default="pendiente", max_length=16)  # pendiente | respondida | duplicada
    answer: str | None = Field(default=None, sa_type=Text)
    answered_by: int | None = _bigint(nullable=True)
    answered_at: datetime | None = _when()
    duplicate_of: int | None = Field(default=None, foreign_key="citizenquestion.id")
    published: bool = False
    # The asker agreed, when asking, that the question be shown (unanswered, without their
    # name) so that others can support it: only hearing questions ask.
    share_pending: bool = False
    office: str | None = Field(default=None, max_length=200)  # the office that answers it
    created_at: datetime = _when(nullable=False, index=True)


class QuestionSupport(SQLModel, table=True):
    """One person's «Yo también quiero saber» for a question, kept under their pseudonym only.

    `supporter_key` is `storage.pseudonyms.pseudonym` with scope "apoyos": no chat id is stored,
    and the key stays after the person deletes their data, so nobody supports twice.
    """

    question_id: int = Field(foreign_key="citizenquestion.id", primary_key=True)
    supporter_key: str = Field(max_length=80, primary_key=True)
    created_at: datetime = _when(nullable=False)


class PBRound(SQLModel, table=True):
    """A comuna's participatory budget in one round: the money and the voting window."""

    __table_args__ = (UniqueConstraint("ronda", "comuna_id"),)
    id: int | None = Field(default=None, primary_key=True)
    ronda: str = Field(max_length=40, index=True)  # "2027"
    comuna_id: int = Field(foreign_key="comuna.id")
    presupuesto: Decimal = _money(nullable=False)
    abre: datetime | None = _when()
    cierra: datetime | None = _when()
    # Ballots count only from people who verified their own phone number (`PBPhone`).
    requiere_verificacion: bool = False
    updated_at: datetime = _when(nullable=False)


class PBProject(SQLModel, table=True):
    """A project citizens of a comuna can choose in a participatory-budget round."""

    id: int | None = Field(default=None, primary_key=True)
    codigo: str = Field(max_length=32, unique=True)
    round_id: int = Field(foreign_key="pbround.id", index=True)
    nombre: str = Field(max_length=300)
    descripcion: str | None = Field(default=None, sa_type=Text)
    costo: Decimal = _money(nullable=False)
    updated_at: datetime = _when(nullable=False)


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
    chat_id: int | None = _bigint(nullable=True)  # None once the person deletes their data
    voter_key: str | None = Field(default=None, max_length=80)  # None only for old ballots
    project_ids: list[int] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


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
    created_at: datetime = _when(nullable=False)


class AppSecret(SQLModel, table=True):
    """A secret the installation generates once (e.g. the key hashing anonymous respondents)."""

    name: str = Field(max_length=40, primary_key=True)
    value: str = Field(max_length=200)
    created_at: datetime = _when(nullable=False)


# --- notifications ----------------------------------------------------------


class Broadcast(SQLModel, table=True):
    """A staff broadcast: audience, text, schedule and state."""

    id: int | None = Field(default=None, primary_key=True)
    created_by: int = _bigint()
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    text: str = Field(sa_type=Text)
    status: str = Field(default="borrador", max_length=16)
    scheduled_for: datetime | None = _when()
    created_at: datetime = _when(nullable=False)
    finished_at: datetime | None = _when()


class OutboxMessage(SQLModel, table=True):
    """One message to one chat, sent by the outbox sender at a paced rate."""

    __table_args__ = (
        Index("ix_outbox_pending", "status", "not_before"),
        # The rows still to send, those in flight, and the uncertain ones (for /healthz): a
        # handful beside the never-pruned delivered ones, which make `status` look
        # unselective to SQLite's planner (it read the whole outbox for every claim).
        # `storage.outbox` names these conditions as constants in its SQL.
        *(Index(f"ix_outbox_{name}", column, sqlite_where=text(f"status = '{status}'"),
                postgresql_where=text(f"status = '{status}'"))
          for name, column, status in (("due", "id", "pendiente"),
                                       ("in_flight", "id", "enviando"),
                                       ("uncertain", "claimed_at", "incierto"))),
        UniqueConstraint("dedupe_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    chat_id: int = _bigint()
    kind: str = Field(default="text", max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    dedupe_key: str | None = Field(default=None, max_length=200)
    # The key's part shared by every recipient (the key without its chat): what
    # `outbox.queued_before` looks up.
    dedupe_group: str | None = Field(default=None, max_length=200, index=True)
    # pendiente | enviando | enviado | bloqueado | fallido | incierto (storage.outbox)
    status: str = Field(default="pendiente", max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    telegram_message_id: int | None = _bigint(nullable=True)
    not_before: datetime = _when(nullable=False)
    claimed_at: datetime | None = _when()  # when it was last handed to Telegram
    sent_at: datetime | None = _when()  # when the request left for Telegram
    created_at: datetime = _when(nullable=False)
    # The sender (instance) that holds the row, and until when: a `pendiente` row it reserved,
    # or an `enviando` row in flight. Past `lease_until` the holder is presumed gone.
    claimed_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _when()


class SendPace(SQLModel, table=True):
    """The next free sending moment of one rate (the whole bot's: key «bot»), shared by all
    instances so together they never pass it."""

    key: str = Field(primary_key=True, max_length=60)
    next_at: float = 0.0  # seconds since the epoch, on the database's clock


class AuditEntry(SQLModel, table=True):
    """An append-only record of a staff or admin action."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(nullable=False, index=True)
    actor_id: int | None = _bigint(nullable=True)
    action: str = Field(max_length=60)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class ConversationState(SQLModel, table=True):
    """Where a person is in a multi-step flow; kept here so any instance can continue it."""

    chat_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    flow: str = Field(max_length=40)
    step: str = Field(default="", max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    updated_at: datetime = _when(nullable=False)


class SeenUpdate(SQLModel, table=True):
    """A Telegram update some instance has taken, kept an hour so a redelivery is dropped."""

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    seen_at: datetime = _when(nullable=False, index=True)


class DataVersion(SQLModel, table=True):
    """The version of one read-mostly public table, moved by a trigger on every write to it.

    `storage.snapshot` keeps what it read of those tables in memory and reads it again when
    a version moves, whichever process or instance wrote. The values are random, never
    sequential: a write rolled back and another one committed never share a version.
    """

    table_name: str = Field(max_length=40, primary_key=True)
    version: int = Field(default=0, sa_type=BigInteger)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job for one period, claimed by the instance that does it."""

    __table_args__ = (UniqueConstraint("job", "period_key"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=60)
    period_key: str = Field(max_length=60)
    claimed_by: str = Field(max_length=120)
    claimed_at: datetime = _when(nullable=False, index=True)
