"""Published sources imported as they come, each mapped once as data.

`secop_contratos`: SECOP II – Contratos Electrónicos (datos.gov.co `jbjy-vk9h`) → works.
The mapping (source column → field, statuses left out, contract types kept) is
`storage/data/fuentes/secop_contratos.yaml`; the statuses are read with the works
vocabulary (`storage/data/estados.yaml`). Both the API's field names and the portal
export's titles are accepted, and the values as either writes them (`$450,000`,
`2023-05-08T00:00:00.000`, `05/25/2023 12:00:00 AM`, `{"url": …}`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from storage.importers.errors import CellError
from storage.importers.kinds import (
    ColumnSpec,
    ColumnType,
    KindSpec,
    Origin,
    Problem,
    RowContext,
)
from storage.importers.values import parse_status, parse_url
from storage.models import Work
from storage.statuses import WORK_STATUSES
from storage.text import fold_words

SOURCES_DIR = Path(__file__).parent.parent / "data" / "fuentes"
NAME_LENGTH = 300  # Work.nombre
# The mapping's types → the importer's column types; «estado» and «enlace» are read as
# text and turned into a status and a link by the row check.
_TYPES: dict[str, ColumnType] = {
    "code": "code", "text": "text", "money": "money", "date": "date",
    "estado": "text", "enlace": "text",
}
_DERIVED = ("estado", "enlace")


def _load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((SOURCES_DIR / f"{name}.yaml").read_text(encoding="utf-8")))


def _mapped_columns(
    mapping: dict[str, Any], model: type[Any]
) -> tuple[dict[str, ColumnSpec], list[str], list[str], dict[str, str]]:
    """Return a mapping's columns by API name, the required and optional ones, and each
    mapping field's ColumnSpec.field (`_name` for what is only read to derive or filter)."""
    table = model.__table__
    columns: dict[str, ColumnSpec] = {}
    required: list[str] = []
    optional: list[str] = []
    fields: dict[str, str] = {}
    for name, entry in mapping["columnas"].items():
        api, *titles = entry["fuente"]
        kind = entry["tipo"]
        direct = name in table.c and kind not in _DERIVED
        field = name if direct else f"_{name}"
        length = getattr(table.c[name].type, "length", None) if direct else None
        columns[api] = ColumnSpec(api, _TYPES[kind], field, length, aliases=tuple(titles))
        (required if entry.get("obligatoria") else optional).append(api)
        fields[name] = field
    return columns, required, optional, fields


def _secop_contracts() -> KindSpec:
    mapping = _load("secop_contratos")
    columns, required, optional, fields = _mapped_columns(mapping, Work)
    source = f"{mapping['fuente']} ({mapping['conjunto']})"
    kept_types = {fold_words(t) for t in mapping.get("tipos_de_contrato") or ()}
    dropped = {fold_words(s): s for s in mapping.get("estados_omitidos") or ()}
    by_field = {c.field: c.name for c in columns.values()}

    def leave_out(values: dict[str, Any]) -> str | None:
        kind = values.get(fields.get("tipo_de_contrato", ""))
        if kind and kept_types and fold_words(kind) not in kept_types:
            return f"de tipo «{kind}»"
        status = values.get(fields["estado"])
        if status and fold_words(status) in dropped:
            return f"en estado «{dropped[fold_words(status)]}»"
        return None

    def check(values: dict[str, Any], _ctx: RowContext) -> list[Problem]:
        problems: list[Problem] = []
        try:
            values["estado"] = parse_status(values.get(fields["estado"]), WORK_STATUSES)
        except CellError as exc:
            problems.append((by_field[fields["estado"]], str(exc)))
        if "enlace_secop" in fields:
            raw = values.get(fields["enlace_secop"])
            try:
                values["enlace_secop"] = _link(raw) if raw else None
            except CellError as exc:
                problems.append((by_field[fields["enlace_secop"]], str(exc)))
        description = values.get("descripcion") or ""
        values["nombre"] = _name(description)
        paid = values.get(fields.get("valor_pagado", ""))
        value = values.get("valor_contrato")
        if isinstance(paid, Decimal) and isinstance(value, Decimal) and value > 0:
            share = min(paid / value, Decimal(1))
            values["avance_financiero"] = round(float(share) * 100, 1)
        start, end = values.get("fecha_inicio"), values.get("fecha_fin_prevista")
        if start is not None and end is not None and end < start:
            problems.append((by_field["fecha_fin_prevista"],
                             "la fecha de fin es anterior a la fecha de inicio."))
        return problems

    return KindSpec(
        "secop_contratos",
        Work,
        tuple(required),
        tuple(optional),
        ("codigo",),
        columns,
        check=check,
        source=source,
        leave_out=leave_out,
        origin=Origin(mapping["fuente"], mapping["conjunto"], "codigo"),
        # SECOP's contracts publish no physical progress: a new work has none reported
        # (never «0 %») until its execution plans (secop_ejecucion) or staff say.
        insert_defaults={"avance_fisico": None},
        # The name is the object's first line only for a new work: staff may shorten it.
        insert_only=("nombre",),
        created_note=(
            "{count} obras nuevas llegaron «sin ubicar»: SECOP no publica la comuna, la "
            "dirección, las coordenadas ni el avance físico. No aparecen en las listas por "
            "comuna ni en el mapa hasta que se complete su comuna: /panel da el archivo para "
            "escribirla («/importar ubicaciones»). Una nueva importación de SECOP no borra lo "
            "que se complete."
        ),
    )


def _name(description: str) -> str:
    """Return a work's name from a contract's object: one line, at most 300 characters."""
    text = " ".join(description.split())
    return text if len(text) <= NAME_LENGTH else text[: NAME_LENGTH - 1].rstrip() + "…"


def _link(raw: Any) -> str:
    """Read SECOP's `urlproceso`: a link, or the API's `{"url": …}` object."""
    if isinstance(raw, dict):
        raw = raw.get("url")
    elif isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            raw = json.loads(raw).get("url")
        except (ValueError, AttributeError):
            raw = None
    if not isinstance(raw, str) or not raw.strip():
        raise CellError("no tiene un enlace; debe empezar por https://.")
    return parse_url(raw, max_length=500)


SOURCE_KINDS: dict[str, KindSpec] = {"secop_contratos": _secop_contracts()}


# --- SECOP II processes (p6dx-8zbt) and contract execution (mfmm-jqmq) --------------------


def _folded_set(values: Any) -> set[str]:
    return {fold_words(str(value)) for value in values or ()}


def _secop_processes() -> KindSpec:
    from storage.models import ContractingProcess
    from storage.statuses import CONTRACTING_STATUSES

    mapping = _load("secop_procesos")
    columns, required, optional, fields = _mapped_columns(mapping, ContractingProcess)
    by_field = {c.field: c.name for c in columns.values()}
    rules = mapping["estados"]
    published = _folded_set(rules["publicado"])
    bidding = _folded_set(rules["fases_de_ofertas"])
    before = _folded_set(rules["fases_previas"])
    omitted = {fold_words(s): s for s in rules.get("omitidos") or ()}
    stages = [CONTRACTING_STATUSES.find(name) for name in mapping["orden_de_etapas"]]
    order = {status.name: i for i, status in enumerate(stages) if status is not None}
    modalities = {fold_words(k): str(v) for k, v in (mapping.get("modalidades") or {}).items()}

    def leave_out(values: dict[str, Any]) -> str | None:
        status = values.get(fields["estado"])
        if not status:
            return None
        if fold_words(status) in omitted:
            return f"en estado «{omitted[fold_words(status)]}»"
        phase = values.get(fields["fase"])
        if fold_words(status) in published and phase and fold_words(phase) in before:
            return f"en fase «{phase}» (aún no reciben ofertas)"
        return None

    def check(values: dict[str, Any], _ctx: RowContext) -> list[Problem]:
        problems: list[Problem] = []
        status = values.get(fields["estado"]) or ""
        phase = values.get(fields["fase"])
        if fold_words(status) in published:
            # Published and in a phase that takes offers (an extract without the phase: the
            # opening status, «Abierto», says it).
            opening = values.get(fields["estado_de_apertura"]) or "Abierto"
            if (fold_words(phase) in bidding if phase is not None
                    else fold_words(opening) == "abierto"):
                values["estado"] = "Abierto"
            else:
                problems.append((by_field[fields["fase"]], (
                    f"la fase {_quoted(phase)} de un proceso «{status}» no se sabe leer. "
                    "Agréguela a «fases_de_ofertas» o «fases_previas» en "
                    "storage/data/fuentes/secop_procesos.yaml.")))
        else:
            try:
                values["estado"] = parse_status(status, CONTRACTING_STATUSES)
            except CellError as exc:
                problems.append((by_field[fields["estado"]], str(exc)))
        raw = values.get(fields["enlace_secop"])
        try:
            values["enlace_secop"] = _link(raw) if raw else None
        except CellError as exc:
            problems.append((by_field[fields["enlace_secop"]], str(exc)))
        values["objeto"] = " ".join(str(values.get("objeto") or "").split())
        modality = values.get("modalidad") or ""
        values["modalidad"] = modalities.get(fold_words(modality), modality)
        opened = values.get(fields["fecha_fase_seleccion"]) or values.get(
            fields["fecha_publicacion"])
        values["fecha_apertura"] = opened
        closes = values.get("fecha_cierre")
        if opened is not None and closes is not None and closes < opened:
            problems.append((by_field["fecha_cierre"],
                             "la fecha de cierre es anterior a la de apertura."))
        return problems

    def collapse(rows: list[dict[str, Any]]) -> dict[str, Any]:
        merged = dict(rows[0])
        for row in rows[1:]:  # what the first row lacks, a later one may have
            for name, value in row.items():
                if merged.get(name) in (None, ""):
                    merged[name] = value
        merged["estado"] = min((row["estado"] for row in rows),
                               key=lambda name: order.get(name, len(order)))
        lots: dict[Any, Decimal] = {}
        for row in rows:  # a lot repeated once per award counts once
            lot = row.get(fields["id_del_proceso"]) or merged["numero_proceso"]
            lots[lot] = max(lots.get(lot, Decimal(0)), row["valor"])
        merged["valor"] = sum(lots.values(), Decimal(0))
        opened = [row["fecha_apertura"] for row in rows if row.get("fecha_apertura")]
        closes = [row["fecha_cierre"] for row in rows if row.get("fecha_cierre")]
        merged["fecha_apertura"] = min(opened) if opened else None
        merged["fecha_cierre"] = max(closes) if closes else None
        return merged

    return KindSpec(
        "secop_procesos",
        ContractingProcess,
        tuple(required),
        tuple(optional),
        ("numero_proceso",),
        columns,
        check=check,
        source=f"{mapping['fuente']} ({mapping['conjunto']})",
        origin=Origin(mapping["fuente"], mapping["conjunto"], "numero_proceso"),
        leave_out=leave_out,
        collapse=collapse,
        collapsed_note=(
            "Procesos que venían en varias filas (lotes o adjudicaciones) y quedaron en una: "
            "{count}. Su valor suma sus lotes y su estado es el del lote más atrasado."
        ),
    )


def _quoted(value: Any) -> str:
    return f"«{value}»"


def _secop_execution() -> KindSpec:
    mapping = _load("secop_ejecucion")
    columns, required, optional, _fields = _mapped_columns(mapping, Work)

    def leave_out(values: dict[str, Any]) -> str | None:
        return "sin porcentaje de avance real" if values.get("avance_fisico") is None else None

    def collapse(rows: list[dict[str, Any]]) -> dict[str, Any]:
        # One row per delivery plan: the contract has gone as far as its furthest one.
        return max(rows, key=lambda row: row["avance_fisico"])

    return KindSpec(
        "secop_ejecucion",
        Work,
        tuple(required),
        tuple(optional),
        ("codigo",),
        columns,
        source=f"{mapping['fuente']} ({mapping['conjunto']})",
        leave_out=leave_out,
        collapse=collapse,
        collapsed_note=("Contratos con varias filas (planes de entrega), de los que se tomó "
                        "el mayor avance real: {count}."),
        existing_only=("Contratos dejados de lado porque no son obras en Cabildo: {count} "
                       "(importe antes los contratos con «secop_contratos»)."),
    )


_TYPES["percent"] = "percent"
SOURCE_KINDS["secop_procesos"] = _secop_processes()
SOURCE_KINDS["secop_ejecucion"] = _secop_execution()
