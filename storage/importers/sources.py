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
from storage.importers.kinds import ColumnSpec, ColumnType, KindSpec, Problem, RowContext
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


def _secop_contracts() -> KindSpec:
    mapping = yaml.safe_load(
        (SOURCES_DIR / "secop_contratos.yaml").read_text(encoding="utf-8")
    )
    table = Work.__table__  # type: ignore[attr-defined]
    columns: dict[str, ColumnSpec] = {}
    required: list[str] = []
    optional: list[str] = []
    fields: dict[str, str] = {}  # mapping field → ColumnSpec.field
    for name, entry in mapping["columnas"].items():
        api, *titles = entry["fuente"]
        kind = entry["tipo"]
        direct = name in table.c and kind not in _DERIVED
        field = name if direct else f"_{name}"
        length = getattr(table.c[name].type, "length", None) if direct else None
        columns[api] = ColumnSpec(api, _TYPES[kind], field, length, aliases=tuple(titles))
        (required if entry.get("obligatoria") else optional).append(api)
        fields[name] = field
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
        # SECOP publishes no physical progress: a new work starts at 0 % until staff say.
        insert_defaults={"avance_fisico": 0.0},
        # The name is the object's first line only for a new work: staff may shorten it.
        insert_only=("nombre",),
        created_note=(
            "{count} obras nuevas llegaron «sin ubicar»: SECOP no publica la comuna, la "
            "dirección, las coordenadas ni el avance físico. No aparecen en las listas por "
            "comuna ni en el mapa hasta que se completen con un archivo de obras; una nueva "
            "importación de SECOP no borra lo que se complete."
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
