"""HTML of the site's pages: plain server-rendered markup, Spanish (Colombia), accessible.

Every value that comes from the data is escaped here. Tables carry a <caption> and
<th scope>; charts are drawn with CSS from the same figures and hidden from screen readers,
because the table next to each one holds the numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from bot.formatting import local_date, money, money_short, number, percent
from storage.budget import Execution
from storage.importers import KINDS
from storage.models import Comuna, Survey
from storage.opendata import DATASETS, LineProgress, MapWork, columns
from storage.search import is_late, status_of
from storage.surveys import SurveyResults
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


def layout(title: str, body: str, *, municipality: str, current: str,
           scripts: Sequence[str] = (), styles: Sequence[str] = ()) -> str:
    """Wrap a page body in the common header, navigation and footer."""
    here = ' aria-current="page"'
    links = "".join(
        f'<li><a href="{href}"{here if href == current else ""}>{label}</a></li>'
        for href, label in NAV
    )
    css = "".join(f'<link rel="stylesheet" href="{s}">' for s in styles)
    js = "".join(f'<script src="{s}"></script>' for s in scripts)
    town = escape(municipality)
    return f"""<!doctype html>
<html lang="es-CO">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(title)} · Alcaldía de {town}</title>
{css}<link rel="stylesheet" href="/static/site.css">
</head>
<body>
<a class="saltar" href="#contenido">Saltar al contenido</a>
<header class="cabecera">
<p class="marca"><a href="/">Cabildo · {town}</a></p>
<nav aria-label="Secciones"><ul>{links}</ul></nav>
</header>
<main id="contenido" tabindex="-1">
{body}
</main>
<footer class="pie"><p>Información pública de la Alcaldía de {town}. Puede descargarla y
reutilizarla en <a href="/datos">Datos abiertos</a>.</p></footer>
{js}
</body>
</html>
"""


def _thead(*names: str) -> str:
    """Return a table head; a name starting with `#` is a right-aligned numeric column."""
    cells = "".join(
        f'<th scope="col" class="num">{name[1:]}</th>' if name.startswith("#")
        else f'<th scope="col">{name}</th>'
        for name in names
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _num(label: str, content: object) -> str:
    """Return a numeric cell that names its column (`data-label`): on a phone the table's
    rows stack and each figure is shown under that name instead of in a column."""
    return f'<td class="num" data-label="{label}"><span>{content}</span></td>'


def _stackable(table: str) -> str:
    """Give a table built here explicit ARIA roles, so it stays a table for screen readers
    when a phone's style shows its rows as blocks (`.apilable`)."""
    table = table.replace("<table ", '<table role="table" ', 1)
    for group in ("thead", "tbody", "tfoot"):
        table = table.replace(f"<{group}>", f'<{group} role="rowgroup">')
    return (table.replace("<tr>", '<tr role="row">')
            .replace('<th scope="col"', '<th role="columnheader" scope="col"')
            .replace('<th scope="row"', '<th role="rowheader" scope="row"')
            .replace("<td ", '<td role="cell" '))


def _bar(share: float, label: str = "", colour: str = "") -> str:
    width = max(0.0, min(100.0, share))
    style = f"width:{width:.1f}%" + (f";background:{colour}" if colour else "")
    return f'<span class="barra"><span style="{style}"></span></span>{label}'


# --- home ------------------------------------------------------------------------


def home_body(municipality: str, works: int, goals: int) -> str:
    """Return the home page: what the site holds and where to go."""
    return f"""<h1>Rendición de cuentas de {escape(municipality)}</h1>
<p>Consulte cómo avanzan las obras, las metas del plan de desarrollo y el presupuesto, y
descargue los datos.</p>
<ul class="tarjetas">
<li><a href="/mapa"><strong>Mapa de obras</strong><span>{works} obras públicas por comuna
y estado.</span></a></li>
<li><a href="/transparencia"><strong>Transparencia</strong><span>{goals} metas, ejecución
del presupuesto y resultados de encuestas.</span></a></li>
<li><a href="/datos"><strong>Datos abiertos</strong><span>Los mismos datos en CSV y JSON,
con su diccionario.</span></a></li>
</ul>"""


# --- map -------------------------------------------------------------------------


def _comuna_label(comuna: Comuna) -> str:
    kind = "Corregimiento" if comuna.tipo == "corregimiento" else "Comuna"
    return f"{kind} {comuna.codigo} · {comuna.nombre}"


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
        "comuna_nombre": _comuna_label(comuna),
        "estado": work.estado,
        "color": status_colour(work.estado),
        "latitud": work.latitud,
        "longitud": work.longitud,
        "avance_fisico": work.avance_fisico,
        "avance_fisico_texto": percent(work.avance_fisico, locale),
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


def _options(pairs: Iterable[tuple[str, str]], chosen: str, everything: str) -> str:
    items = [f'<option value="">{everything}</option>']
    for value, label in pairs:
        selected = " selected" if value == chosen else ""
        items.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
    return "".join(items)


def statuses(works: Sequence[MapWork]) -> list[str]:
    """Return the distinct statuses of the works, as first written, in a stable order."""
    seen: dict[str, str] = {}
    for item in works:
        seen.setdefault(fold(item.work.estado), item.work.estado)
    known = [k for k in STATUS_COLOURS if k in seen]
    return [seen[k] for k in known] + sorted(v for k, v in seen.items() if k not in known)


def map_body(works: Sequence[MapWork], comunas: Sequence[Comuna], chosen: MapFilter, *,
             locale: str, tile_url: str, attribution: str, bot_username: str | None,
             today: date | None = None) -> str:
    """Return the map page: filters, the count, the map, the legend and the works' table."""
    shown = [w for w in works if chosen.keeps(w)]
    on_map = sum(1 for w in shown if w.work.latitud is not None and w.work.longitud is not None)
    per_comuna: dict[str, int] = {}
    for item in works:
        per_comuna[item.comuna.codigo] = per_comuna.get(item.comuna.codigo, 0) + 1
    comuna_options = _options(((c.codigo, _comuna_label(c)) for c in comunas),
                              chosen.comuna, "Todas")
    status_list = statuses(works)
    status_options = _options(((s, s) for s in status_list), chosen.estado, "Todos")
    legend = "".join(
        f'<li><span class="punto" style="background:{status_colour(s)}"></span>{escape(s)}</li>'
        for s in status_list
    )
    rows = "".join(_work_row(item, locale, hidden=not chosen.keeps(item)) for item in works)
    comuna_items = "".join(
        f'<li><a href="/mapa?comuna={escape(c.codigo)}">{escape(_comuna_label(c))}</a> '
        f"({per_comuna.get(c.codigo, 0)})</li>"
        for c in comunas
    )
    data = json.dumps({"obras": [work_json(w, locale, bot_username, today) for w in works]},
                      ensure_ascii=False).replace("<", "\\u003c")
    return f"""<h1>Mapa de obras públicas</h1>
<p>Cada punto es una obra con ubicación, con el color de su estado. Toque un punto para
ver su avance, valor, contratista y fechas.</p>
<form id="filtros" class="filtros" method="get" action="/mapa">
<div><label for="f-comuna">Comuna o corregimiento</label>
<select id="f-comuna" name="comuna">{comuna_options}</select></div>
<div><label for="f-estado">Estado</label>
<select id="f-estado" name="estado">{status_options}</select></div>
<div><button type="submit">Filtrar</button></div>
</form>
<p id="conteo" role="status" aria-live="polite"><span id="conteo-mapa">{on_map}</span> obras en
el mapa · <span id="conteo-lista">{len(shown)}</span> en la lista (de {len(works)}).</p>
<div id="mapa" class="mapa" data-tiles="{escape(tile_url)}"
data-atribucion="{escape(attribution)}" aria-label="Mapa de obras" role="region">
<noscript><p class="aviso">El mapa necesita JavaScript. La lista de obras está abajo.</p>
</noscript></div>
<ul class="leyenda" aria-label="Colores por estado">{legend}</ul>
<p id="mensaje-telegram" class="aviso" hidden></p>
<script type="application/json" id="datos-obras">{data}</script>
<section aria-labelledby="t-lista">
<h2 id="t-lista">Lista de obras</h2>
<div class="tabla-desplazable" tabindex="0" role="group" aria-labelledby="c-obras">
<table id="tabla-obras">
<caption id="c-obras">Obras públicas: comuna, estado, avance físico y valor del contrato</caption>
{_thead("Obra", "Comuna", "Estado", "#Avance físico", "#Valor del contrato")}
<tbody>{rows}</tbody>
</table></div>
</section>
<section aria-labelledby="t-comunas">
<h2 id="t-comunas">Obras por comuna y corregimiento</h2>
<ul class="comunas">{comuna_items}</ul>
</section>"""


def _work_row(item: MapWork, locale: str, *, hidden: bool) -> str:
    work = item.work
    value = money(work.valor_contrato, locale) if work.valor_contrato is not None else "—"
    located = work.latitud is not None and work.longitud is not None
    where = "" if located else ' <span class="nota">(sin ubicación en el mapa)</span>'
    return (
        f'<tr data-codigo="{escape(work.codigo)}" data-comuna="{escape(item.comuna.codigo)}" '
        f'data-estado="{escape(fold(work.estado))}"{" hidden" if hidden else ""}>'
        f'<th scope="row">{escape(work.nombre)}{where}</th>'
        f"<td>{escape(_comuna_label(item.comuna))}</td>"
        f'<td><span class="punto" style="background:{status_colour(work.estado)}"></span>'
        f"{escape(work.estado)}</td>"
        f'<td class="num">{_bar(work.avance_fisico)} {percent(work.avance_fisico, locale)}</td>'
        f'<td class="num">{value}</td></tr>'
    )


# --- transparency ------------------------------------------------------------------


def _goals_section(goal_lines: Sequence[LineProgress], locale: str) -> str:
    if not goal_lines:
        return ('<section aria-labelledby="t-metas"><h2 id="t-metas">Metas del plan de '
                "desarrollo</h2><p>Todavía no hay metas cargadas.</p></section>")
    cutoffs = [line.cutoff for line in goal_lines if line.cutoff]
    cutoff = f" Corte: {local_date(max(cutoffs), locale)}." if cutoffs else ""
    chart = "".join(
        f'<li><span class="etiqueta">{escape(line.name)}</span>'
        f'<span class="apilada">'
        f'<span class="cumplida" style="width:{line.done / line.goals * 100:.1f}%"></span>'
        f'<span class="encurso" style="width:{line.on_track / line.goals * 100:.1f}%"></span>'
        f'<span class="rezagada" style="width:{line.behind / line.goals * 100:.1f}%"></span>'
        "</span></li>"
        for line in goal_lines if line.goals
    )
    rows = "".join(
        f'<tr><th scope="row">{line.position}. {escape(line.name)}</th>'
        + _num("Metas", line.goals) + _num("Cumplidas", line.done)
        + _num("En curso", line.on_track) + _num("Rezagadas", line.behind)
        + _num("Avance promedio",
               f"{_bar(line.mean_progress)} {percent(line.mean_progress, locale)}")
        + "</tr>"
        for line in goal_lines
    )
    total = sum(line.goals for line in goal_lines)
    table = f"""<table id="tabla-metas" class="apilable">
<caption id="c-metas">Metas por línea estratégica y estado ({total} metas)</caption>
{_thead("Línea estratégica", "#Metas", "#Cumplidas", "#En curso", "#Rezagadas",
         "#Avance promedio")}
<tbody>{rows}</tbody>
</table>"""
    return f"""<section aria-labelledby="t-metas">
<h2 id="t-metas">Metas del plan de desarrollo por línea estratégica</h2>
<p>Una meta está <strong>cumplida</strong> si logró el 100 % o más, <strong>en curso</strong>
entre 50 % y 99 %, y <strong>rezagada</strong> con menos de 50 %. El avance promedio cuenta
cada meta hasta 100 %.{cutoff}</p>
<figure class="grafico" aria-hidden="true">
<ul class="apiladas">{chart}</ul>
<ul class="leyenda"><li><span class="punto cumplida"></span>Cumplidas</li>
<li><span class="punto encurso"></span>En curso</li>
<li><span class="punto rezagada"></span>Rezagadas</li></ul>
</figure>
<div class="tabla-desplazable" tabindex="0" role="group" aria-labelledby="c-metas">
{_stackable(table)}</div>
</section>"""


def _budget_section(total: Execution | None, offices: Sequence[Execution], locale: str) -> str:
    if total is None:
        return ('<section aria-labelledby="t-presupuesto"><h2 id="t-presupuesto">Ejecución '
                "presupuestal</h2><p>Todavía no hay presupuesto cargado.</p></section>")
    cutoff = f" Corte: {local_date(total.fecha_corte, locale)}." if total.fecha_corte else ""
    chart = "".join(
        f'<li><span class="etiqueta">{escape(o.name)} · {percent(o.executed, locale)}</span>'
        f"{_bar(o.executed, '', '#0b5cad')}</li>"
        for o in offices
    )

    def row(e: Execution, cell: str) -> str:
        return (
            f'<tr><{cell} scope="row">{escape(e.name)}</{cell}>'
            + _num("Apropiación definitiva", money(e.apropiacion, locale))
            + _num("Compromisos", money(e.compromisos, locale))
            + _num("% comprometido", percent(e.executed, locale))
            + _num("Obligaciones", money(e.obligaciones, locale))
            + _num("Pagos", money(e.pagos, locale))
            + _num("% pagado", percent(e.share(e.pagos), locale)) + "</tr>"
        )

    rows = "".join(row(o, "th") for o in offices)
    table = f"""<table id="tabla-presupuesto" class="apilable">
<caption id="c-presupuesto">Ejecución presupuestal {total.vigencia} por dependencia, en pesos
</caption>
{_thead("Dependencia", "#Apropiación definitiva", "#Compromisos", "#% comprometido",
         "#Obligaciones", "#Pagos", "#% pagado")}
<tbody>{rows}</tbody>
<tfoot>{row(total, "th")}</tfoot>
</table>"""
    return f"""<section aria-labelledby="t-presupuesto">
<h2 id="t-presupuesto">Ejecución presupuestal {total.vigencia} por dependencia</h2>
<p>Del total apropiado ({money_short(total.apropiacion, locale)}) se ha comprometido el
<strong>{percent(total.executed, locale)}</strong> y pagado el
<strong>{percent(total.share(total.pagos), locale)}</strong>.{cutoff}</p>
<figure class="grafico" aria-hidden="true"><ul class="barras">{chart}</ul>
<figcaption>Porcentaje comprometido de la apropiación, por dependencia.</figcaption></figure>
<div class="tabla-desplazable" tabindex="0" role="group" aria-labelledby="c-presupuesto">
{_stackable(table)}</div>
</section>"""


def _survey_block(result: SurveyResults, locale: str, minimum: int) -> str:
    survey = result.survey
    parts = [f'<h3>{escape(survey.titulo)}</h3><p>{result.completed} respuestas completas.</p>']
    if not result.completed:
        parts.append("<p>Nadie terminó esta encuesta.</p>")
        return '<article class="encuesta">' + "".join(parts) + "</article>"
    if result.completed < minimum:
        # Too few answers could single one person out.
        parts.append(f"<p>Los resultados se mostrarán cuando haya al menos {minimum} "
                     "respuestas.</p>")
        return '<article class="encuesta">' + "".join(parts) + "</article>"
    for question in result.questions:
        q = question.question
        if q.kind != "texto" and question.answered < minimum:
            parts.append(f"<p><strong>{q.position}. {escape(q.text)}</strong> "
                         f"La respondieron menos de {minimum} personas: no se publica.</p>")
            continue
        if q.kind == "texto":
            parts.append(f"<p><strong>{q.position}. {escape(q.text)}</strong> "
                         f"{question.answered} respuestas escritas (no se publican).</p>")
            continue
        rows = "".join(
            f'<tr><th scope="row">{escape(label)}</th><td class="num">{count}</td>'
            f'<td class="num">{_bar(question.percent(count))} '
            f"{percent(question.percent(count), locale)}</td></tr>"
            for label, count in question.counts
        )
        average = ""
        if question.average is not None:
            average = f" Promedio: {number(question.average, locale)} de 5."
        parts.append(
            f'<div class="tabla-desplazable" tabindex="0" role="group" '
            f'aria-labelledby="c-p{survey.id}-{q.position}"><table class="tabla-encuesta">'
            f'<caption id="c-p{survey.id}-{q.position}">{q.position}. {escape(q.text)} '
            f"({question.answered} respuestas){escape(average)}</caption>"
            f'{_thead("Respuesta", "#Personas", "#Porcentaje")}<tbody>{rows}</tbody></table></div>'
        )
    return '<article class="encuesta">' + "".join(parts) + "</article>"


def _surveys_section(closed: Sequence[SurveyResults], running: Sequence[Survey],
                     locale: str, minimum: int) -> str:
    blocks = "".join(_survey_block(r, locale, minimum) for r in closed)
    if not closed:
        blocks = "<p>Todavía no hay encuestas cerradas con resultados.</p>"
    if running:
        names = "".join(f"<li>{escape(s.titulo)}</li>" for s in running)
        blocks += ("<p>Encuestas abiertas (sus resultados se publican al cerrar; puede "
                   f"responderlas en el bot con /encuestas):</p><ul>{names}</ul>")
    return f"""<section aria-labelledby="t-encuestas">
<h2 id="t-encuestas">Resultados de encuestas</h2>
{blocks}
</section>"""


def transparency_body(goal_lines: Sequence[LineProgress], total: Execution | None,
                      offices: Sequence[Execution], closed: Sequence[SurveyResults],
                      running: Sequence[Survey], locale: str, *, minimum: int = 1) -> str:
    """Return the transparency page: goals by line, budget by office, survey results.

    A closed survey's results appear from `minimum` completed responses, each question's
    from `minimum` people who answered it.
    """
    return (
        "<h1>Transparencia</h1><p>Avance de las metas del plan de desarrollo, ejecución del "
        "presupuesto y resultados de las encuestas a la ciudadanía. Los datos se pueden "
        'descargar en <a href="/datos">Datos abiertos</a>.</p>'
        + _goals_section(goal_lines, locale)
        + _budget_section(total, offices, locale)
        + _surveys_section(closed, running, locale, minimum)
    )


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
        "comuna": "Comuna o corregimiento donde queda.", "estado": "Estado de la obra.",
        "avance_fisico": "Avance físico, en %.", "descripcion": "Qué se construye.",
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


def data_body(counts: dict[str, int]) -> str:
    """Return the open-data page: downloads and the data dictionary."""
    rows = "".join(
        f'<tr><th scope="row">{DATASET_TITLES[name]}</th><td class="num">{counts.get(name, 0)}'
        f'</td><td><a href="/datos/{name}.csv" download>{name}.csv</a></td>'
        f'<td><a href="/datos/{name}.json">{name}.json</a></td></tr>'
        for name in DATASETS
    )
    dictionaries = []
    for name in DATASETS:
        spec = KINDS[name]
        entries = "".join(
            f'<tr><th scope="row"><code>{column}</code></th>'
            f"<td>{TYPE_NAMES.get(spec.columns[column].type, spec.columns[column].type)}</td>"
            f"<td>{'sí' if column in spec.required else 'no'}</td>"
            f"<td>{escape(DESCRIPTIONS[name].get(column, ''))}</td></tr>"
            for column in columns(name)
        )
        dictionaries.append(
            f'<div class="tabla-desplazable" tabindex="0" role="group" '
            f'aria-labelledby="c-dic-{name}"><table>'
            f'<caption id="c-dic-{name}">Columnas de {name}.csv '
            f"({DATASET_TITLES[name].lower()})</caption>"
            f'{_thead("Columna", "Tipo", "Siempre tiene valor", "Descripción")}'
            f"<tbody>{entries}</tbody></table></div>"
        )
    return f"""<h1>Datos abiertos</h1>
<p>Descargue los datos en CSV (UTF-8, separado por comas, abre en Excel) o JSON. Los nombres
de las columnas son estables y son los mismos del formato de carga, así que un archivo
descargado se puede volver a cargar sin cambios. Números con punto decimal, fechas
AAAA-MM-DD, montos en pesos colombianos.</p>
<div class="tabla-desplazable" tabindex="0" role="group" aria-labelledby="c-datos">
<table id="tabla-datos">
<caption id="c-datos">Conjuntos de datos disponibles</caption>
{_thead("Conjunto", "#Filas", "CSV", "JSON")}
<tbody>{rows}</tbody>
</table></div>
<h2>Diccionario de datos</h2>
<p>En el JSON, <code>columnas</code> lista estas columnas y <code>datos</code> trae una fila
por objeto; un valor vacío es <code>null</code>.</p>
{"".join(dictionaries)}"""


def server_error_body(message: str) -> str:
    """Return the body of the page shown when the site fails unexpectedly (500)."""
    return (f'<h1>Algo salió mal</h1><p>{escape(message)}</p>'
            '<p>Vuelva al <a href="/">inicio</a>.</p>')


def not_found_body() -> str:
    """Return the body of the 404 page."""
    return ('<h1>Página no encontrada</h1><p>Esa dirección no existe. Vuelva al '
            '<a href="/mapa">mapa de obras</a>.</p>')
