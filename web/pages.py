"""The site's pages: Jinja2 templates (`web/templates`), autoescaped, and what they show.

The templates hold the markup; this module prepares what each page shows (counts, the
map's popups, the data dictionary) and renders it. Autoescape escapes every value that
comes from the data. Tables carry a <caption> and <th scope>; charts are drawn with CSS
from the same figures and hidden from screen readers, because the table next to each one
holds the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.formatting import (
    local_date,
    money,
    money_short,
    number,
    percent,
    reported_percent,
)
from storage.budget import Execution
from storage.importers import KINDS
from storage.models import Comuna, Survey
from storage.opendata import DATASETS, LineProgress, MapWork, columns
from storage.search import is_late, status_of
from storage.survey_results import SurveyResults
from storage.text import fold

# Marker colours by status (folded); all reach 4.5:1 against white text and the pale map.
STATUS_COLOURS = {
    "terminada": "#1a7f37",
    "en ejecucion": "#0b5cad",
    "suspendida": "#b42318",
    "por iniciar": "#6f42c1",
    "en contratacion": "#8a4b00",
}
OTHER_COLOUR = "#4b5563"
NAV = (("/mapa", "Mapa de obras"), ("/transparencia", "Transparencia"),
       ("/datos", "Datos abiertos"))


def status_colour(estado: str) -> str:
    """Return the marker colour of a work's status."""
    return STATUS_COLOURS.get(fold(estado), OTHER_COLOUR)


def comuna_label(comuna: Comuna) -> str:
    """Return how the site names a comuna: «Comuna 4 · Occidental», «Corregimiento C1 · …»."""
    kind = "Corregimiento" if comuna.tipo == "corregimiento" else "Comuna"
    return f"{kind} {comuna.codigo} · {comuna.nombre}"


def _tenths(value: float | Decimal) -> str:
    return f"{value:.1f}"


def _bar_width(share: float | Decimal) -> str:
    return _tenths(max(0.0, min(100.0, share)))


TEMPLATES = Environment(
    loader=PackageLoader("web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
TEMPLATES.filters.update(
    local_date=local_date, money=money, money_short=money_short, number=number,
    percent=percent, reported_percent=reported_percent, fold=fold,
    status_colour=status_colour, comuna_label=comuna_label, tenths=_tenths,
    bar_width=_bar_width,
)
# The map's data sits in a <script> element: `tojson` escapes <, >, & and ' there; keep the
# accents as they are, as the page does.
TEMPLATES.policies["json.dumps_kwargs"] = {"ensure_ascii": False}


def render(template: str, *, title: str, municipality: str, current: str, locale: str,
           scripts: Sequence[str] = (), styles: Sequence[str] = (), **shown: Any) -> str:
    """Return a whole page: `template` inside the common header, navigation and footer."""
    return TEMPLATES.get_template(template).render(
        title=title, municipality=municipality, current=current, locale=locale,
        scripts=scripts, styles=styles, nav=NAV, **shown,
    )


# --- map -------------------------------------------------------------------------


def work_json(
    item: MapWork, locale: str, bot_username: str | None, today: date | None = None
) -> dict[str, Any]:
    """Return a work as the map script needs it, figures already in Colombian format
    (`atrasada`: not finished and past its planned end on `today`)."""
    work, comuna = item.work, item.comuna
    return {
        "codigo": work.codigo,
        "nombre": work.nombre,
        "comuna": comuna.codigo,
        "comuna_nombre": comuna_label(comuna),
        "estado": work.estado,
        "color": status_colour(work.estado),
        "latitud": work.latitud,
        "longitud": work.longitud,
        "avance_fisico": work.avance_fisico,
        "avance_fisico_texto": reported_percent(work.avance_fisico, locale),
        "valor_texto": money_short(work.valor_contrato, locale)
        if work.valor_contrato is not None else None,
        "contratista": work.contratista,
        "fecha_inicio_texto": local_date(work.fecha_inicio, locale) if work.fecha_inicio else None,
        "fecha_fin_texto": local_date(work.fecha_fin_prevista, locale)
        if work.fecha_fin_prevista else None,
        "atrasada": today is not None
        and is_late(status_of(work.estado), work.fecha_fin_prevista, today),
        "enlace_telegram": f"https://t.me/{bot_username}?start=obra_{work.codigo}"
        if bot_username else None,
    }


@dataclass(frozen=True)
class MapFilter:
    """The comuna and status chosen in the map's filter form ("" for all)."""

    comuna: str = ""
    estado: str = ""

    def keeps(self, item: MapWork) -> bool:
        """Tell whether a work passes the filter."""
        return (not self.comuna or item.comuna.codigo == self.comuna) and (
            not self.estado or fold(item.work.estado) == fold(self.estado)
        )


def statuses(works: Sequence[MapWork]) -> list[str]:
    """Return the distinct statuses of the works, as first written, in a stable order."""
    seen: dict[str, str] = {}
    for item in works:
        seen.setdefault(fold(item.work.estado), item.work.estado)
    known = [k for k in STATUS_COLOURS if k in seen]
    return [seen[k] for k in known] + sorted(v for k, v in seen.items() if k not in known)


def map_page(works: Sequence[MapWork], comunas: Sequence[Comuna], chosen: MapFilter, *,
             locale: str, tile_url: str, attribution: str, bot_username: str | None,
             today: date | None = None) -> dict[str, Any]:
    """Return what the map page shows: filters, the counts, the map's data, the works' table."""
    per_comuna: dict[str, int] = {}
    for item in works:
        per_comuna[item.comuna.codigo] = per_comuna.get(item.comuna.codigo, 0) + 1
    listed = statuses(works)
    return {
        "works": works, "comunas": comunas, "chosen": chosen, "statuses": listed,
        "comuna_pairs": [(c.codigo, comuna_label(c)) for c in comunas],
        "status_pairs": [(s, s) for s in listed],
        "shown": sum(1 for w in works if chosen.keeps(w)),
        "on_map": sum(1 for w in works if chosen.keeps(w)
                      and w.work.latitud is not None and w.work.longitud is not None),
        "per_comuna": per_comuna, "tile_url": tile_url, "attribution": attribution,
        "popups": [work_json(w, locale, bot_username, today) for w in works],
    }


# --- transparency ------------------------------------------------------------------


def transparency_page(goal_lines: Sequence[LineProgress], total: Execution | None,
                      offices: Sequence[Execution], closed: Sequence[SurveyResults],
                      running: Sequence[Survey], *, minimum: int = 1) -> dict[str, Any]:
    """Return what the transparency page shows: goals by line, budget by office, surveys.

    A closed survey's results appear from `minimum` completed responses, each question's
    from `minimum` people who answered it.
    """
    cutoffs = [line.cutoff for line in goal_lines if line.cutoff]
    return {
        "goal_lines": goal_lines, "goals_cutoff": max(cutoffs) if cutoffs else None,
        "goals_total": sum(line.goals for line in goal_lines),
        "total": total, "offices": offices, "closed": closed, "running": running,
        "minimum": minimum,
    }


# --- open data ---------------------------------------------------------------------

DATASET_TITLES = {
    "obras": "Obras públicas",
    "metas": "Metas del plan de desarrollo",
    "presupuesto": "Ejecución presupuestal",
    "comunas": "Comunas y corregimientos",
}
TYPE_NAMES = {
    "text": "texto", "code": "texto (código)", "url": "enlace https", "number": "número",
    "non_negative": "número ≥ 0", "positive": "número > 0", "money": "pesos (2 decimales)",
    "percent": "porcentaje 0–100", "year": "año", "count": "entero", "date": "fecha AAAA-MM-DD",
    "dates": "fechas AAAA-MM-DD separadas por ;", "datetime": "fecha y hora local",
    "latitude": "latitud (grados)", "longitude": "longitud (grados)",
    "comuna": "código de comuna (ver comunas)", "comuna_code": "código", "comuna_tipo":
    "comuna o corregimiento", "survey": "código (slug) de una encuesta",
}
DESCRIPTIONS = {
    "obras": {
        "codigo": "Código único de la obra.", "nombre": "Nombre de la obra.",
        "comuna": "Comuna o corregimiento donde queda (vacío: sin ubicar todavía).",
        "estado": "Estado de la obra.",
        "avance_fisico": "Avance físico, en % (vacío: no reportado por la fuente).",
        "descripcion": "Qué se construye.",
        "direccion": "Dirección o sector.", "latitud": "Latitud (WGS 84).",
        "longitud": "Longitud (WGS 84).", "contratista": "Contratista.",
        "valor_contrato": "Valor del contrato, en pesos.",
        "avance_financiero": "Avance financiero, en %.",
        "fecha_inicio": "Fecha de inicio.", "fecha_fin_prevista": "Fecha prevista de fin.",
        "enlace_secop": "Enlace al proceso en SECOP.",
    },
    "metas": {
        "codigo": "Código único de la meta.", "linea": "Línea estratégica del plan.",
        "programa": "Programa del plan.", "meta": "Texto de la meta.",
        "indicador": "Indicador con que se mide.", "meta_cuatrienio": "Meta para los 4 años.",
        "avance": "Valor logrado a la fecha de corte.", "unidad": "Unidad del indicador.",
        "linea_base": "Valor al inicio del plan.", "fecha_corte": "Fecha de corte del avance.",
        "responsable": "Dependencia responsable.",
    },
    "presupuesto": {
        "vigencia": "Año fiscal.", "dependencia": "Dependencia (secretaría u oficina).",
        "apropiacion_definitiva": "Apropiación definitiva, en pesos.",
        "compromisos": "Compromisos, en pesos.", "rubro": "Rubro (p. ej. inversión).",
        "obligaciones": "Obligaciones, en pesos.", "pagos": "Pagos, en pesos.",
        "fecha_corte": "Fecha de corte.",
    },
    "comunas": {
        "codigo": "Código: número de comuna o C1, C2… para corregimientos.",
        "nombre": "Nombre.", "tipo": "comuna o corregimiento.",
    },
}




@dataclass(frozen=True)
class Column:
    """One column of an open-data set, as its data dictionary describes it."""

    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Dataset:
    """One open-data set: its name, title, how many rows it has, and its columns."""

    name: str
    title: str
    rows: int
    columns: list[Column]


def data_page(counts: dict[str, int]) -> dict[str, Any]:
    """Return what the open-data page shows: the downloads and the data dictionary."""
    datasets = []
    for name in DATASETS:
        spec = KINDS[name]
        datasets.append(Dataset(name, DATASET_TITLES[name], counts.get(name, 0), [
            Column(column,
                   TYPE_NAMES.get(spec.columns[column].type, spec.columns[column].type),
                   column in spec.required, DESCRIPTIONS[name].get(column, ""))
            for column in columns(name)
        ]))
    return {"datasets": datasets}
