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
these files again and writes the example CSVs back. CUIPO's reports are written by
`cuipo.py`; where both read and write is in `comun.py`.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from decimal import Decimal
from itertools import cycle
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from storage.exports import to_csv
from storage.sample.fuentes.comun import FIXTURES, HERE, sample
from storage.sample.fuentes.cuipo import budget
from storage.works import PLACES_COLUMNS

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
    rows = sample("obras.csv")
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
    for row in sample("contratacion.csv"):
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
    rows = sample("metas.csv")
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
