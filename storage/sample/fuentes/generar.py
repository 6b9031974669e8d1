"""Write the example data as the published sources give it (run once; the files are committed).

Run from the repository root: `.venv/bin/python storage/sample/fuentes/generar.py`. It reads
the example CSVs (`storage/sample/obras.csv`, `contratacion.csv`, `presupuesto.csv`,
`metas.csv`) and writes, beside this script, the same values in the shapes staff download:

- `secop_contratos.csv`: SECOP II Contratos (jbjy-vk9h), the portal's «Exportar → CSV»
  (titles, `$4,850,000,000`, `03/16/2026 12:00:00 AM`), plus two contracts that are no
  work (a services contract, a cancelled one), left out on import;
- `secop_ejecucion.json`: SECOP II Ejecución (mfmm-jqmq) as the API gives it, one record
  per delivery plan (the highest real progress is the work's);
- `ubicaciones.csv`: the «obras sin comuna» file of /panel, as staff fill it;
- `secop_procesos.json`: SECOP II Procesos (p6dx-8zbt) as the API gives it (one record per
  lot and per award, `{"url": …}`, line breaks in names);
- `cuipo_c_programacion_gastos.xlsx`, `cuipo_d_ejecucion_gastos.xlsx`: CUIPO's two spending
  reports as CHIP downloads them (header block, `(Pesos)`, numbers as text, totals mixed
  with detail rows, a row of an earlier year's budget);
- `kpt_plan_indicativo.xlsx`, `seguimiento_plan_indicativo.xlsx`: the DNP's planning kit and
  the follow-up sheet (per-year achievements, or the accumulated one).

What no source carries stays in two small files of the Alcaldía, copied from the sample:
`obras_en_contratacion.csv` (works still being contracted: no contract in SECOP yet) and
`obras_nombres.csv` (the short names staff give SECOP's works). The column lists and the
fixed values of each shape are taken from the test fixtures (`tests/storage/fixtures/`),
which follow the published data dictionaries. `python -m storage.sample_sources` imports
these files again and writes the example CSVs back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from itertools import cycle
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from storage.exports import to_csv
from storage.works import PLACES_COLUMNS

HERE = Path(__file__).parent
SAMPLE = HERE.parent
FIXTURES = HERE.parents[2] / "tests" / "storage" / "fixtures"
NBSP = "\u00a0"
URL = "https://community.secop.gov.co/Public/Tendering/OpportunityDetail/Index?noticeUID="

# The example's status → how SECOP II writes it (taken in turn, for variety).
CONTRACT_STATUSES = {
    "En ejecución": ["En ejecución", "Modificado", "Activo", "Prorrogado"],
    "Terminada": ["terminado", "Cerrado", "Liquidado"],
    "Suspendida": ["Suspendido"],
    "Por iniciar": ["Aprobado", "enviado Proveedor"],
}
# The example's stage → SECOP II's (estado_del_procedimiento, fase, estado de apertura).
PROCESS_STATUSES = {
    "Abierto": [("Publicado", "Presentación de oferta", "Abierto")],
    "En evaluación": [("Evaluación", "Presentación de oferta", "Cerrado"),
                      ("Seleccionado", "Presentación de oferta", "Cerrado")],
    "Adjudicado": [("Adjudicado", "Presentación de oferta", "Cerrado")],
    "Celebrado": [("Celebrado", "Presentación de oferta", "Cerrado")],
    "Desierto": [("Desierto", "Presentación de oferta", "Cerrado")],
}
MODALITIES = {  # the example's → SECOP II's long name (the mapping shortens it back)
    "Licitación pública": "Licitación pública Obra Publica",
    "Mínima cuantía": "Mínima cuantía",
    "Selección abreviada": "Selección Abreviada de Menor Cuantía",
    "Subasta inversa": "Selección abreviada subasta inversa",
    "Concurso de méritos": "Concurso de méritos abierto",
}


def _sample(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((SAMPLE / name).read_text("utf-8-sig"))))


def _day(iso: str) -> date:
    return date.fromisoformat(iso)


def _us(iso: str) -> str:
    """`2026-03-16` as the portal writes it: `03/16/2026 12:00:00 AM`."""
    return _day(iso).strftime("%m/%d/%Y 12:00:00 AM") if iso else ""


def _api(day: date | str) -> str:
    """A date as the datos.gov.co API writes it: `2026-03-16T00:00:00.000`."""
    if not day:
        return ""
    return f"{day if isinstance(day, str) else day.isoformat()}T00:00:00.000"


def _dollars(amount: int) -> str:
    return f"${amount:,}"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_json(path: Path, records: list[dict[str, Any]]) -> None:
    # The JSON API leaves out the fields that are empty in a record.
    kept = [{k: v for k, v in record.items() if v != ""} for record in records]
    path.write_text(json.dumps(kept, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _template(fixture: str) -> tuple[list[str], dict[str, str]]:
    """Return a fixture CSV's titles and its first row: the shape and its fixed values."""
    with (FIXTURES / fixture).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, dict(zip(header, next(reader), strict=True))


# --- works: SECOP II contracts, their execution, where they are ------------------------


def works() -> None:
    """Write the contracts, execution plans and places of the sample's contracted works."""
    rows = _sample("obras.csv")
    contracted = [r for r in rows if r["estado"] in CONTRACT_STATUSES]
    header, template = _template("secop_contratos_portal.csv")
    statuses = {name: cycle(spellings) for name, spellings in CONTRACT_STATUSES.items()}
    contracts, plans = [], []
    for number, work in enumerate(contracted, start=1):
        status = next(statuses[work["estado"]])
        value = int(work["valor_contrato"])
        paid = Decimal(value) * Decimal(work["avance_financiero"]) / 100
        assert paid == int(paid), work["codigo"]  # the portal writes whole pesos
        notice = work["enlace_secop"].rsplit("=", 1)[1]
        start, end = _day(work["fecha_inicio"]), _day(work["fecha_fin_prevista"])
        contracts.append({
            **template,
            "Proceso de Compra": notice.replace("NTC", "BDOS"),
            "ID Contrato": work["codigo"],
            "Referencia del Contrato": f"CTO-{number:03d}-{start.year}",
            "Estado Contrato": status,
            "Descripción del Proceso": work["descripcion"],
            "Tipo de Contrato": "Obra",
            "Modalidad de Contratación": "Licitación pública Obra Publica",
            "Justificación Modalidad de Contratación": "Ley 1150 de 2007",
            "Fecha de Firma": _us((start - timedelta(days=10)).isoformat()),
            "Fecha de Inicio del Contrato": _us(work["fecha_inicio"]),
            "Fecha de Fin del Contrato": _us(work["fecha_fin_prevista"]),
            "Proveedor Adjudicado": work["contratista"],
            "Valor del Contrato": _dollars(value),
            "Valor Facturado": _dollars(int(paid)),
            "Valor Pagado": _dollars(int(paid)),
            "Valor Pendiente de Ejecucion": _dollars(value - int(paid)),
            "Recursos Propios Alcald As Gobernaciones y Resguardos Ind Genas": _dollars(value),
            "URL Proceso": work["enlace_secop"],
            "Ultima Actualización": "10/01/2026 12:00:00 AM",
            "Objeto del Contrato": work["descripcion"],
            "Duración del contrato": f"{round((end - start).days / 30)} Mes(es)",
        })
        plans += _plans(work, status, start, end)
    # What an extract of the entity holds besides works: left out (and counted) on import.
    for pid, kind, status in (("CO1.PCCNTR.7100001", "Prestación de servicios", "En ejecución"),
                              ("CO1.PCCNTR.7100002", "Obra", "Cancelado")):
        contracts.append({**template, "ID Contrato": pid, "Tipo de Contrato": kind,
                          "Estado Contrato": status, "Fecha de Inicio del Contrato": "",
                          "Fecha de Fin del Contrato": ""})
        plans.append({"identificadorcontrato": pid, "tipoejecucion": "Plan de pagos",
                      "nombreplan": "Plan de pagos", "porcentaje_de_avance_real": "100",
                      "estado_del_contrato": status})
    assert all(set(c) == set(header) for c in contracts)
    _write_csv(HERE / "secop_contratos.csv", header, [[c[t] for t in header] for c in contracts])
    _write_json(HERE / "secop_ejecucion.json", plans)
    (HERE / "ubicaciones.csv").write_bytes(to_csv(PLACES_COLUMNS, (
        [w["codigo"], w["comuna"], w["direccion"], _coordinate(w["latitud"]),
         _coordinate(w["longitud"]), w["descripcion"]] for w in contracted)))
    # What SECOP cannot say: the works still being contracted, and the short names.
    pending = [r for r in rows if r["estado"] not in CONTRACT_STATUSES]
    _write_csv(HERE / "obras_en_contratacion.csv", list(rows[0]),
               [list(r.values()) for r in pending])
    _write_csv(HERE / "obras_nombres.csv", ["codigo", "nombre"],
               [[w["codigo"], w["nombre"]] for w in contracted])


def _coordinate(text: str) -> float | None:
    return float(text) if text else None  # a number, as /panel's file writes it


def _plans(work: dict[str, str], status: str, start: date, end: date) -> list[dict[str, str]]:
    """Return a contract's delivery plans: the last with a real progress has the work's."""
    progress = Decimal(work["avance_fisico"])
    steps = [progress] if progress in (0, 100) else [progress / 2, progress, Decimal(100)]
    records = []
    for number, step in enumerate(steps, start=1):
        due = start + (end - start) * number // len(steps)
        reached = step <= progress
        records.append({
            "identificadorcontrato": work["codigo"], "tipoejecucion": "Plan de entregas",
            "nombreplan": f"Plan de entregas {number}", "fechadeentregaesperada": _api(due),
            "porcentajedeavanceesperado": f"{100 * number // len(steps)}",
            "fechadeentregareal": _api(due) if reached and step > 0 else "",
            # The plan not reached yet has no real progress (left out on import).
            "porcentaje_de_avance_real": f"{step.normalize():f}" if reached else "",
            "estado_del_contrato": status, "descripci_n": f"Plan de entregas {number}",
            "unidad": "Unidad", "cantidad_adjudicada": "1", "cantidad_planeada": "1",
            "cantidadrecibida": "1" if reached else "0",
            "cantidadporrecibir": "0" if reached else "1",
            "fechacreacion": f"{_api(start - timedelta(days=3))[:10]}T10:41:12.000",
        })
    return records


# --- contracting processes: SECOP II Procesos --------------------------------------------

# Processes of more than one row in p6dx: lots (their values add up) and repeated awards.
LOTS = {"SI-LP-012-2026": [3_120_000_000, 3_560_000_000]}  # Lizcano and Fontana (obras.csv)
AWARDS = {"SIN-SAMC-005-2026": 2}


def processes() -> None:
    """Write the sample's processes as p6dx records, as the API gives them."""
    header, template = _template("secop_procesos_api.csv")
    spellings = {name: cycle(values) for name, values in PROCESS_STATUSES.items()}
    records = []
    for row in _sample("contratacion.csv"):
        status, phase, opening = next(spellings[row["estado"]])
        number = row["enlace_secop"].rsplit(".", 1)[1]
        opens = _day(row["fecha_apertura"])
        # A line break where the name is long, as SECOP's names have them.
        name = row["objeto"].replace(" en ", "\nen ", 1) if len(row["objeto"]) > 60 else row[
            "objeto"]
        awarded = status in ("Adjudicado", "Celebrado")
        base = {
            **template, "referencia_del_proceso": row["numero_proceso"],
            "id_del_portafolio": f"CO1.BDOS.{number}", "nombre_del_procedimiento": name,
            "descripci_n_del_procedimiento": row["objeto"], "fase": phase,
            "fecha_de_publicacion_del": _api(opens - timedelta(days=7)),
            "fecha_de_ultima_publicaci": _api(opens - timedelta(days=7)),
            "fecha_de_publicacion_fase_2": _api(opens - timedelta(days=7)),
            # Mínima cuantía has no selection phase: its opening is the publication.
            "fecha_de_publicacion_fase_3": "" if row["modalidad"] == "Mínima cuantía" else _api(
                opens),
            "modalidad_de_contratacion": MODALITIES[row["modalidad"]],
            "fecha_de_recepcion_de": _api(row["fecha_cierre"]),
            "fecha_de_apertura_de_respuesta": _api(row["fecha_cierre"]),
            "nombre_de_la_unidad_de": row["dependencia"],
            "estado_del_procedimiento": status, "adjudicado": "Si" if awarded else "No",
            "id_adjudicacion": f"CO1.AWD.{number}" if awarded else "No Adjudicado",
            "fecha_adjudicacion": _api(row["fecha_cierre"]) if awarded else "",
            "estado_de_apertura_del_proceso": opening, "estado_resumen": status,
            "tipo_de_contrato": "Obra", "urlproceso": {"url": row["enlace_secop"]},
        }
        if row["modalidad"] == "Mínima cuantía":
            base["fecha_de_publicacion_del"] = base["fecha_de_ultima_publicaci"] = _api(opens)
        lots = LOTS.get(row["numero_proceso"], [int(row["valor"])])
        assert sum(lots) == int(row["valor"]), row["numero_proceso"]
        for lot, price in enumerate(lots, start=1):
            for _award in range(AWARDS.get(row["numero_proceso"], 1)):
                records.append({**base, "id_del_proceso": f"CO1.REQ.{number}{lot:02d}",
                                "numero_de_lotes": str(len(lots) if len(lots) > 1 else 0),
                                "precio_base": f"{price}.000000"})
    # A draft: never shown, left out (and counted) on import.
    records.append({**template, "id_del_proceso": "CO1.REQ.7070001",
                    "referencia_del_proceso": "SI-MC-060-2026",
                    "nombre_del_procedimiento": "REPARACIÓN DE ANDENES DE LA CARRERA 27",
                    "descripci_n_del_procedimiento": "Reparación de andenes de la Carrera 27",
                    "estado_del_procedimiento": "Borrador", "fase": "Borrador",
                    "urlproceso": {"url": URL + "CO1.NTC.7070001"}})
    assert all(list(r) == header for r in records)
    _write_json(HERE / "secop_procesos.json", records)


# --- budget: CUIPO's C and D reports -------------------------------------------------------

CENTRAL = "16 - ADMINISTRACION CENTRAL"
# The sample's office → its section in CUIPO and, in the central administration, the MGA
# programs (C) and products (D) of its investment (storage/data/fuentes/cuipo_dependencias.yaml).
SECTIONS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "Secretaría de Educación": (CENTRAL, [
        ("2201 - Calidad, cobertura y fortalecimiento de la educación inicial, prescolar, "
         "básica y media", "2201069 - Infraestructura educativa mejorada"),
        ("2201 - Calidad, cobertura y fortalecimiento de la educación inicial, prescolar, "
         "básica y media", "2201006 - Servicio de educación inicial")]),
    "Secretaría de Salud y Ambiente": (CENTRAL, [
        ("1905 - Salud pública", "1905021 - Servicio de promoción de la salud"),
        ("3202 - Conservación de la biodiversidad y sus servicios ecosistémicos",
         "3202005 - Servicio de restauración de ecosistemas")]),
    "Secretaría de Infraestructura": (CENTRAL, [
        ("2402 - Infraestructura red vial regional", "2402041 - Vía urbana mejorada"),
        ("4002 - Ordenamiento territorial y desarrollo urbano",
         "4002016 - Parques construidos")]),
    "Secretaría de Desarrollo Social": (CENTRAL, [
        ("4104 - Inclusión social y productiva para la población en situación de "
         "vulnerabilidad", "4104020 - Servicio de atención integral al adulto mayor")]),
    "Secretaría del Interior": (CENTRAL, [
        ("4501 - Fortalecimiento de la convivencia y la seguridad ciudadana",
         "4501004 - Servicio de videovigilancia")]),
    "Secretaría de Planeación": (CENTRAL, [
        ("0401 - Levantamiento y actualización de información estadística de calidad",
         "0401001 - Servicio de información estadística")]),
    "Secretaría Administrativa": (CENTRAL, [
        ("0505 - Fortalecimiento de la gestión pública", "0505002 - Servicio de gestión "
         "documental")]),
    "OATIC": (CENTRAL, [("2301 - Facilitar el acceso y uso de las TIC",
                         "2301079 - Servicio de acceso Wi-Fi")]),
    "INDERBU": (CENTRAL, [("4301 - Fomento a la recreación, la actividad física y el deporte",
                           "4301007 - Servicio de escuelas deportivas")]),
    "IMEBU": (CENTRAL, [("3502 - Productividad y competitividad de las empresas",
                         "3502046 - Servicio de apoyo al emprendimiento")]),
    "Instituto Municipal de Cultura y Turismo": (CENTRAL, [
        ("3301 - Promoción y acceso efectivo a procesos culturales y artísticos",
         "3301053 - Servicio de educación informal en artes")]),
    "Despacho del Alcalde": ("31 - DESPACHO DEL ALCALDE", []),
    "Secretaría de Hacienda": ("32 - SECRETARIA DE HACIENDA", []),
    "Secretaría Jurídica": ("33 - SECRETARIA JURIDICA", []),
    "Oficina de Gestión del Riesgo": ("34 - OFICINA DE GESTION DEL RIESGO", []),
    "Departamento Administrativo de la Defensoría del Espacio Público": (
        "35 - DEFENSORIA DEL ESPACIO PUBLICO", []),
    "Oficina de Valorización": ("36 - OFICINA DE VALORIZACION", []),
    "Dirección de Tránsito de Bucaramanga": ("37 - DIRECCION DE TRANSITO", []),
    "Instituto de Vivienda de Interés Social y Reforma Urbana de Bucaramanga (INVISBU)": (
        "38 - INVISBU", []),
}
# Funcionamiento of an office other than the central administration's own: its section.
OPERATING = {"Secretaría de Educación": "22 - SERVICIO EDUCATIVO"}
# Detail codes (CCPET) of each rubro; their totals (2, 2.1, 2.3) are written above them.
DETAIL = {"Funcionamiento": ["2.1.1.01.01.001.01", "2.1.2.02.02.008"],
          "Inversión": ["2.3.2.02.02.009", "2.3.2.02.02.008"]}
NAMES = {"2": "GASTOS", "2.1": "FUNCIONAMIENTO", "2.3": "INVERSIÓN",
         "2.1.1.01.01.001.01": "SUELDO BÁSICO", "2.1.2.02.02.008": "SERVICIOS PRESTADOS A LAS "
         "EMPRESAS Y SERVICIOS DE PRODUCCIÓN", "2.3.2.02.02.009": "SERVICIOS PARA LA COMUNIDAD, "
         "SOCIALES Y PERSONALES", "2.3.2.02.02.008": "SERVICIOS PRESTADOS A LAS EMPRESAS Y "
         "SERVICIOS DE PRODUCCIÓN"}
AMOUNTS = ("apropiacion_definitiva", "compromisos", "obligaciones", "pagos")


def _split(amount: int, parts: int) -> list[int]:
    """Split an amount in `parts` (60 % and 40 % for two), in whole pesos."""
    if parts == 1:
        return [amount]
    first = amount * 3 // 5
    return [first, amount - first]


def _budget_rows() -> dict[str, list[dict[str, Any]]]:
    """Return each section's detail rows: code, MGA program and product, amounts."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for line in _sample("presupuesto.csv"):
        office, rubro = line["dependencia"], line["rubro"]
        section, sectors = SECTIONS[office]
        if rubro == "Funcionamiento":
            section, sectors = OPERATING.get(office, section), []
        assert section != CENTRAL or rubro == "Inversión" or office == "Secretaría Administrativa"
        codes = DETAIL[rubro]
        pairs = sectors or [("", "")] * len(codes)
        splits = {name: _split(int(line[name]), len(pairs)) for name in AMOUNTS}
        for index, (program, product) in enumerate(pairs):
            sections.setdefault(section, []).append({
                "codigo": codes[index], "programa": program, "producto": product,
                **{name: splits[name][index] for name in AMOUNTS}})
    return sections


def _chip_rows(sections: dict[str, list[dict[str, Any]]]) -> Iterator[tuple[str, str, dict[str,
                                                                                      Any]]]:
    """Yield (vigencia, sección, row) in CHIP's order: each section's totals, then details;
    the year and the section only where they change."""
    year = "1 - VIGENCIA ACTUAL"
    for section, details in sections.items():
        shown = section
        totals = ["2", *sorted({d["codigo"][:3] for d in details})]
        for code in totals:
            under = [d for d in details if d["codigo"].startswith(code)]
            yield year, shown, {"codigo": code, "programa": "", "producto": "", "total": True,
                                **{n: sum(d[n] for d in under) for n in AMOUNTS}}
            year = shown = ""
        for detail in sorted(details, key=lambda d: d["codigo"]):
            yield "", "", detail


def _cell(value: Any) -> str:
    """A cell as CHIP writes it: text with a trailing space, or a no-break space."""
    return f"{value} " if value not in ("", None) else NBSP


def _chip_sheet(fixture: str) -> tuple[Workbook, Any, list[str]]:
    """Return a new workbook whose sheet has the fixture's header block and titles."""
    source = load_workbook(FIXTURES / fixture).active
    rows = list(source.iter_rows(values_only=True))
    titles_at = next(i for i, r in enumerate(rows) if r[0] == "VIGENCIA GASTO")
    book = Workbook()
    sheet = book.active
    sheet.title = source.title
    for row in rows[:titles_at + 1]:
        sheet.append(list(row))
    return book, sheet, [str(t).strip() for t in rows[titles_at]]


def budget() -> None:
    """Write CUIPO's programación (C) and ejecución (D) of the sample's budget lines."""
    sections = _budget_rows()
    book, sheet, titles = _chip_sheet("cuipo_c_programacion_gastos.xlsx")
    for year, section, row in _chip_rows(sections):
        values = {"VIGENCIA GASTO": year, "SECCION PRESUPUESTAL": section,
                  "CODIGO": row["codigo"], "NOMBRE": NAMES[row["codigo"]],
                  "PROGRAMA MGA": row["programa"],
                  "APROPIACION INICIAL(Pesos)": row["apropiacion_definitiva"],
                  "APROPIACION DEFINITIVA(Pesos)": row["apropiacion_definitiva"]}
        sheet.append([_cell(values.get(title, "")) for title in titles])
    book.save(HERE / "cuipo_c_programacion_gastos.xlsx")
    book, sheet, titles = _chip_sheet("cuipo_d_ejecucion_gastos.xlsx")
    for year, section, row in _chip_rows(sections):
        values = {"VIGENCIA GASTO": year, "SECCION PRESUPUESTAL": section,
                  "CODIGO": row["codigo"], "NOMBRE": NAMES[row["codigo"]],
                  "PRODUCTO MGA": row["producto"],
                  "FUENTES DE FINANCIACION": "" if row.get("total") else "1.2.1.0.00 - ICLD",
                  "COMPROMISOS(Pesos)": row["compromisos"],
                  "OBLIGACIONES(Pesos)": row["obligaciones"], "PAGOS(Pesos)": row["pagos"]}
        sheet.append([_cell(values.get(title, "")) for title in titles])
    # An earlier year's budget (reservas): left out (and counted) on import.
    reserve = {"VIGENCIA GASTO": "2 - RESERVAS", "SECCION PRESUPUESTAL": CENTRAL,
               "CODIGO": "2.3.2.02.02.008", "NOMBRE": NAMES["2.3.2.02.02.008"],
               "PRODUCTO MGA": "2402041 - Vía urbana mejorada",
               "FUENTES DE FINANCIACION": "1.2.1.0.00 - ICLD", "COMPROMISOS(Pesos)": 3_000_000_000,
               "OBLIGACIONES(Pesos)": 3_000_000_000, "PAGOS(Pesos)": 2_000_000_000}
    sheet.append([_cell(reserve.get(title, "")) for title in titles])
    book.save(HERE / "cuipo_d_ejecucion_gastos.xlsx")


# --- plan goals: the DNP's planning kit and the follow-up sheet ---------------------------

PLAN_NAME = "Bucaramanga, ciudad de oportunidades"
YEARS = (2024, 2025, 2026)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _comma(text: str) -> str:
    """A follow-up sheet's number as typed in Colombia: `96,1`."""
    return text.replace(".", ",")


def goals() -> None:
    """Write the KPT's plan indicativo (targets) and the follow-up sheet (progress)."""
    rows = _sample("metas.csv")
    fixture = load_workbook(FIXTURES / "kpt_plan_indicativo.xlsx")
    book = Workbook()
    book.remove(book.active)
    lines = list(dict.fromkeys(r["linea"] for r in rows))
    for source in fixture.worksheets:  # the kit's sheets, in its order, with its titles
        sheet = book.create_sheet(source.title)
        titles = [str(c.value) for c in source[1]]
        sheet.append(titles)
        if source.title == "Líneas estratégicas":
            for number, line in enumerate(lines, start=1):
                sheet.append(["68001", "Bucaramanga", PLAN_NAME, number, line])
        elif source.title == "Plan indicativo":
            for goal in rows:
                values: dict[str, Any] = {
                    "codigo_dane": "68001", "entidad_territorial": "Bucaramanga",
                    "nombre_plan": PLAN_NAME, "codigo_indicador_producto": goal["codigo"],
                    "linea_estrategica": goal["linea"], "programa_mga": goal["programa"],
                    "indicador_producto_mga": goal["indicador"],
                    "personalizacion_indicador": goal["meta"], "unidad_medida": goal["unidad"],
                    "meta_cuatrienio": _number(goal["meta_cuatrienio"]), "principal": "Si",
                    "tipo_acumulacion": _accumulation(goal),
                }
                sheet.append([values.get(title) for title in titles])
    book.save(HERE / "kpt_plan_indicativo.xlsx")

    source = load_workbook(FIXTURES / "seguimiento_plan_indicativo.xlsx").active
    book = Workbook()
    sheet = book.active
    sheet.title = source.title
    block = list(source.iter_rows(values_only=True))
    titles_at = next(i for i, r in enumerate(block) if r[0] == "secretaria")
    for row in block[:titles_at + 1]:
        sheet.append(list(row))
    titles = [str(t) for t in block[titles_at]]
    for goal in rows:
        values = {"secretaria": goal["responsable"], "linea_estrategica": goal["linea"],
                  "programa": goal["programa"], "codigo": goal["codigo"],
                  "indicador": goal["indicador"], "unidad": goal["unidad"],
                  "linea_base": _comma(goal["linea_base"]),
                  "meta_cuatrenio": _number(goal["meta_cuatrienio"]),
                  "fecha_corte": _day(goal["fecha_corte"]).strftime("%d/%m/%Y"),
                  **_achieved(goal)}
        sheet.append([values.get(title) for title in titles])
    book.save(HERE / "seguimiento_plan_indicativo.xlsx")


def _accumulation(goal: dict[str, str]) -> str:
    # Percentages are a level (the latest year's); quantities add up over the years.
    return "Capacidad" if goal["unidad"] == "Porcentaje" else "Acumulado"


def _achieved(goal: dict[str, str]) -> dict[str, Any]:
    """Return the follow-up cells of a goal's progress: per year, or accumulated."""
    progress = goal["avance"]
    if _accumulation(goal) == "Capacidad":
        return {"avance_2026": _comma(progress)}
    if not progress.isdigit():
        return {"avance_acumulado": _comma(progress)}
    whole = int(progress)
    years = [whole // 3, whole // 3, whole - 2 * (whole // 3)]
    return {f"avance_{year}": part for year, part in zip(YEARS, years, strict=True)}


def main() -> None:
    """Write every source-shaped export of the example data beside this script."""
    works()
    processes()
    budget()
    goals()


if __name__ == "__main__":
    main()
