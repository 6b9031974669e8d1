"""What each kind of file holds: its columns, their types, its key and its table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from sqlmodel import SQLModel

from storage.events import IMPORT_READS, imported_change
from storage.models import (
    BudgetLine,
    Comuna,
    ContractingProcess,
    Event,
    Goal,
    PlanActivity,
    Report,
    Work,
)

ColumnType = Literal[
    "text",  # free text, trimmed
    "code",  # an identifier (codigo, numero_proceso); text
    "url",  # an http(s) link
    "number",  # any number
    "non_negative",  # a number ≥ 0
    "positive",  # a number > 0
    "money",  # pesos, ≥ 0, two decimals
    "percent",  # 0–100
    "year",  # four digits
    "count",  # whole number > 0
    "date",
    "dates",  # several dates separated by ";"
    "datetime",  # local date and time, stored in UTC
    "latitude",
    "longitude",
    "comuna",  # resolved against the Comuna table into comuna_id
    "comuna_code",  # the code of a comuna itself: "4", "C1"
    "comuna_tipo",  # comuna | corregimiento
    "survey",  # the slug of a survey already in the database (checked before storing)
    "work_status",  # a works status of the shared vocabulary (storage/data/estados.yaml)
]

Problem = tuple[str | None, str]  # (column or None, Spanish message)


@dataclass(frozen=True)
class RowContext:
    """What cross-column checks may need besides the row: the installation's time zone."""

    tz: ZoneInfo


# A check across the columns of one parsed row; it may also fill derived fields (event key).
RowCheck = Callable[[dict[str, Any], RowContext], list[Problem]]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a file: its header name, type and the model field it fills."""

    name: str
    type: ColumnType
    field: str
    max_length: int | None = None
    default: Any = None  # stored when the cell is empty (and, for key fields, when absent)
    aliases: tuple[str, ...] = ()  # other titles of the column (a source's portal titles)


@dataclass(frozen=True)
class Origin:
    """A published source a kind reads: its name, the dataset, the field with a row's id."""

    fuente: str  # «SECOP II»
    conjunto: str  # «jbjy-vk9h»
    id_field: str  # the parsed field holding the row's id there («codigo»)


@dataclass(frozen=True)
class KindSpec:
    """One kind of file: required and optional columns, the key, the table."""

    name: str
    model: type[SQLModel]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    key: tuple[str, ...]  # model fields identifying a row
    columns: Mapping[str, ColumnSpec]
    check: RowCheck | None = None
    # A published source read as this kind (`storage/importers/sources.py`): its name, to
    # say so in messages; unknown columns are then counted, not listed one by one.
    source: str | None = None
    # Why a row is left out (a contract that is no work), or None; run before `check`.
    leave_out: Callable[[dict[str, Any]], str | None] | None = None
    # Values only a new row gets (what the source lacks and staff fill in later).
    insert_defaults: Mapping[str, Any] = field(default_factory=dict)
    # Fields a row sets only when it is new (a name staff may have changed since).
    insert_only: tuple[str, ...] = ()
    # Said after the import when it created rows: `{count}` of them.
    created_note: str | None = None
    # Recorded on each row it writes (`storage.models.Provenance`); None: a staff file.
    origin: Origin | None = None
    # Rows sharing a key are one item (SECOP's lots and awards): merged by this function
    # (their values, file order) instead of refused as repeated; `{count}` items merged.
    collapse: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None
    collapsed_note: str | None = None
    # Only items already stored are updated (progress for works imported before): rows of
    # other keys are left out and counted with this reason (`{count}`), never inserted.
    existing_only: str | None = None
    # Only items already stored are updated, and a row of another key is this row error.
    existing_or_error: str | None = None
    # Required columns whose empty cell is a state, not a forgotten value (what the
    # open-data download writes for it): column → what a new row then is, said after the
    # import. A row already holding a value is never blanked by one (a row error).
    may_be_blank: Mapping[str, str] = field(default_factory=dict)
    # What else a changed row writes (an event's earlier start and calendar sequence):
    # called with the stored row (its key, the file's fields and `follows_reads`), the
    # changed fields' new values and everything the row writes.
    follows: Callable[[Mapping[Any, Any], Mapping[str, Any], Mapping[str, Any]],
                      dict[str, Any]] | None = None
    follows_reads: tuple[str, ...] = ()

    @property
    def has_updated_at(self) -> bool:
        """Tell whether the table records when a row last changed."""
        return "updated_at" in self.model.model_fields

    @property
    def has_provenance(self) -> bool:
        """Tell whether the table records where and when each row was imported."""
        return "importado_at" in self.model.model_fields

    def key_columns(self) -> list[str]:
        """Return the column names that make up the key, as the file calls them."""
        by_field = {c.field: c.name for c in self.columns.values()}
        return [by_field.get(f, f) for f in self.key]


def _spec(
    name: str,
    model: type[SQLModel],
    required: dict[str, ColumnType],
    optional: dict[str, ColumnType],
    key: tuple[str, ...],
    *,
    fields: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    check: RowCheck | None = None,
    may_be_blank: Mapping[str, str] | None = None,
    follows: tuple[Callable[..., dict[str, Any]], tuple[str, ...]] | None = None,
) -> KindSpec:
    table = model.__table__  # type: ignore[attr-defined]
    columns: dict[str, ColumnSpec] = {}
    for column, kind in {**required, **optional}.items():
        target = (fields or {}).get(column, column)
        if kind == "comuna":
            target = "comuna_id"
        length = getattr(table.c[target].type, "length", None)
        columns[column] = ColumnSpec(column, kind, target, length, (defaults or {}).get(column))
    return KindSpec(name, model, tuple(required), tuple(optional), key, columns, check,
                    may_be_blank=may_be_blank or {},
                    follows=follows[0] if follows else None,
                    follows_reads=follows[1] if follows else ())


# --- checks across columns ---------------------------------------------------


def _pesos(value: Decimal) -> str:
    return "$ " + format_decimal(value, format="#,##0.##", locale="es_CO")


def _coordinates(values: dict[str, Any]) -> list[Problem]:
    if "latitud" not in values and "longitud" not in values:
        return []
    if (values.get("latitud") is None) != (values.get("longitud") is None):
        return [(None, "escriba la latitud y la longitud juntas, o ninguna de las dos.")]
    return []


def _not_before(values: dict[str, Any], start: str, end: str, message: str) -> list[Problem]:
    first, last = values.get(start), values.get(end)
    if first is not None and last is not None and last < first:
        return [(end, message)]
    return []


def _check_budget(values: dict[str, Any], _ctx: RowContext) -> list[Problem]:
    problems: list[Problem] = []
    appropriation = values.get("apropiacion_definitiva")
    commitments = values.get("compromisos")
    obligations = values.get("obligaciones")
    payments = values.get("pagos")
    swapped = "; revise que las columnas no estén cruzadas."
    if appropriation is not None and commitments is not None and commitments > appropriation:
        problems.append(
            (
                "compromisos",
                f"los compromisos ({_pesos(commitments)}) superan la apropiación definitiva "
                f"({_pesos(appropriation)}){swapped}",
            )
        )
    if obligations is not None and commitments is not None and obligations > commitments:
        problems.append(
            (
                "obligaciones",
                f"las obligaciones ({_pesos(obligations)}) superan los compromisos "
                f"({_pesos(commitments)}){swapped}",
            )
        )
    if payments is not None:
        if obligations is not None and payments > obligations:
            problems.append(
                (
                    "pagos",
                    f"los pagos ({_pesos(payments)}) superan las obligaciones "
                    f"({_pesos(obligations)}){swapped}",
                )
            )
        elif obligations is None and commitments is not None and payments > commitments:
            problems.append(
                (
                    "pagos",
                    f"los pagos ({_pesos(payments)}) superan los compromisos "
                    f"({_pesos(commitments)}){swapped}",
                )
            )
    return problems


def _check_work(values: dict[str, Any], _ctx: RowContext) -> list[Problem]:
    return _coordinates(values) + _not_before(
        values,
        "fecha_inicio",
        "fecha_fin_prevista",
        "la fecha de fin prevista es anterior a la fecha de inicio.",
    )


def _check_contracting(values: dict[str, Any], _ctx: RowContext) -> list[Problem]:
    return _not_before(
        values, "fecha_apertura", "fecha_cierre", "la fecha de cierre es anterior a la de apertura."
    )


EVENT_KEY_LENGTH = 200


def event_key(titulo: str, inicio_local_iso: str) -> str:
    """Return the key of an event without `codigo`: `<titulo>|<inicio ISO local>`."""
    return f"{titulo}|{inicio_local_iso}"


def _check_event(values: dict[str, Any], ctx: RowContext) -> list[Problem]:
    problems = _coordinates(values) + _not_before(
        values, "inicio", "fin", "la hora de fin es anterior a la hora de inicio."
    ) + _not_before(
        values, "anunciar_desde", "inicio", "la fecha de anuncio es posterior al inicio."
    )
    if not values.get("clave") and values.get("titulo") and values.get("inicio"):
        local = values["inicio"].astimezone(ctx.tz).replace(tzinfo=None)
        key = event_key(values["titulo"], local.isoformat())
        if len(key) > EVENT_KEY_LENGTH:
            problems.append(
                (
                    "titulo",
                    "el título es muy largo para identificar el evento; "
                    "agregue una columna «codigo» con un código corto.",
                )
            )
        else:
            values["clave"] = key
    return problems


# --- the kinds ---------------------------------------------------------------

_SPECS = {
    spec.name: spec
    for spec in (
        _spec(
            "comunas",
            Comuna,
            {"codigo": "comuna_code", "nombre": "text"},
            {"tipo": "comuna_tipo"},
            ("codigo",),
            defaults={"tipo": "comuna"},
        ),
        _spec(
            "plan",
            PlanActivity,
            {
                "subcomponente": "text",
                "actividad": "code",
                "descripcion": "text",
                "meta": "text",
                "indicador": "text",
                "responsable": "text",
                "fechas_limite": "dates",
            },
            {},
            ("actividad",),
        ),
        _spec(
            "metas",
            Goal,
            {
                "codigo": "code",
                "linea": "text",
                "programa": "text",
                "meta": "text",
                "indicador": "text",
                "meta_cuatrienio": "positive",
                "avance": "non_negative",
            },
            {
                "unidad": "text",
                "linea_base": "number",
                "fecha_corte": "date",
                "responsable": "text",
            },
            ("codigo",),
        ),
        _spec(
            "presupuesto",
            BudgetLine,
            {
                "vigencia": "year",
                "dependencia": "text",
                "apropiacion_definitiva": "money",
                "compromisos": "money",
            },
            {"rubro": "text", "obligaciones": "money", "pagos": "money", "fecha_corte": "date"},
            ("vigencia", "dependencia", "rubro"),
            defaults={"rubro": ""},
            check=_check_budget,
        ),
        _spec(
            "obras",
            Work,
            {
                "codigo": "code",
                "nombre": "text",
                "comuna": "comuna",
                "estado": "work_status",
                "avance_fisico": "percent",
            },
            {
                "descripcion": "text",
                "direccion": "text",
                "latitud": "latitude",
                "longitud": "longitude",
                "contratista": "text",
                "valor_contrato": "money",
                "avance_financiero": "percent",
                "fecha_inicio": "date",
                "fecha_fin_prevista": "date",
                "enlace_secop": "url",
            },
            ("codigo",),
            check=_check_work,
            # As SECOP's works are until their execution plans, or staff, say otherwise.
            may_be_blank={
                "avance_fisico": "sin avance físico reportado: se muestra «no reportado»",
                "comuna": "«sin ubicar»: no aparece en el mapa ni en las listas por comuna "
                          "hasta que se complete su comuna (/panel da el archivo para hacerlo)",
            },
        ),
        _spec(
            "eventos",
            Event,
            {"titulo": "text", "tipo": "text", "inicio": "datetime", "lugar": "text"},
            {
                "fin": "datetime",
                "direccion": "text",
                "latitud": "latitude",
                "longitud": "longitude",
                "comuna": "comuna",
                "enlace": "url",
                "descripcion": "text",
                "codigo": "code",
                "capacidad": "count",
                "anunciar_desde": "datetime",
                "encuesta": "survey",
            },
            ("clave",),
            fields={"codigo": "clave"},
            check=_check_event,
            follows=(imported_change, IMPORT_READS),
        ),
        _spec(
            "contratacion",
            ContractingProcess,
            {
                "numero_proceso": "code",
                "modalidad": "text",
                "objeto": "text",
                "valor": "money",
                "estado": "text",
            },
            {
                "fecha_apertura": "date",
                "fecha_cierre": "date",
                "dependencia": "text",
                "enlace_secop": "url",
            },
            ("numero_proceso",),
            check=_check_contracting,
        ),
        _spec(
            "informes",
            Report,
            {"titulo": "text", "tipo": "text", "periodo": "text", "enlace": "url"},
            {"fecha_publicacion": "date", "resumen": "text"},
            ("titulo", "periodo"),
        ),
    )
}

def _places() -> KindSpec:
    """Where works «sin ubicar» are: the CSV `/panel` gives staff, filled and sent back."""
    base = _spec(
        "ubicaciones",
        Work,
        {"codigo": "code"},
        {"comuna": "comuna", "direccion": "text", "latitud": "latitude",
         "longitud": "longitude", "nombre": "text"},
        ("codigo",),
        check=lambda values, _ctx: _coordinates(values),
    )
    columns = dict(base.columns)
    # Only to recognise the work: a name is never changed from this file.
    columns["nombre"] = ColumnSpec("nombre", "text", "_nombre")

    def leave_out(values: dict[str, Any]) -> str | None:
        if "comuna_id" in values and values["comuna_id"] is None:
            return "sin comuna todavía (quedan como estaban)"
        return None

    return KindSpec(
        base.name, Work, base.required, base.optional, base.key, columns, base.check,
        leave_out=leave_out,
        existing_or_error=("{key} no es una obra cargada; revise el código (copie la fila del "
                           "archivo que da /panel)."),
    )


_SPECS["ubicaciones"] = _places()

# In the order the CLI help and error messages list them.
KINDS: dict[str, KindSpec] = {
    name: _SPECS[name]
    for name in (
        "metas",
        "presupuesto",
        "obras",
        "eventos",
        "contratacion",
        "informes",
        "comunas",
        "plan",
        "ubicaciones",
    )
}

# The data each published source fills: alerts and the weekly summary follow the data
# (a work's progress), whichever file brought it.
FILLS = {
    "secop_contratos": "obras",
    "secop_ejecucion": "obras",
    "ubicaciones": "obras",
    "secop_procesos": "contratacion",
    "cuipo": "presupuesto",
    "plan_indicativo": "metas",
}


def data_kind(kind: str) -> str:
    """Return the kind of data an import kind fills (`secop_ejecucion` → `obras`)."""
    return FILLS.get(kind, kind)
