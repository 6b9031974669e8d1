"""CUIPO's two spending reports (C: programación, D: ejecución) of the example budget, as
CHIP downloads them; written by `generar.py` beside it, with the other published shapes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook, load_workbook

from storage.sample.fuentes.comun import FIXTURES, HERE, NBSP, sample

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
    for line in sample("presupuesto.csv"):
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
