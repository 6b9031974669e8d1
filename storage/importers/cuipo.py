"""CUIPO's spending reports, as CHIP gives them, → the budget by office (presupuesto).

Import kind `cuipo`: the programación (`C_PROGRAMACION_DE_GASTOS`: apropiación) and the
ejecución (`D_EJECUCION_DE_GASTOS`: compromisos, obligaciones, pagos) of one period, as two
files or as two sheets of one workbook, exactly as downloaded: a block of lines above the
titles (entity, period, report), titles with a `(Pesos)` suffix, numbers written as text
with a trailing space, «VIGENCIA GASTO» and «SECCION PRESUPUESTAL» shown only when they
change, and total rows (`2`, `2.1`, `2.3.2.02`…) mixed with the detail rows.

Only the detail rows (codes no other row extends) of the current year's budget are added
up, so nothing is counted twice; the total rows are only compared with them. The office of
each row comes from `storage/data/fuentes/cuipo_dependencias.yaml` (section, or section and
MGA sector → dependencia); the rubro from its CCPET code (`2.3` → Inversión). A budget is a
whole: the import is all-or-nothing, without skipping rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers.core import ImportResult, store
from storage.importers.errors import CellError, ImportFailed, RowError, shown
from storage.importers.kinds import KINDS, RowContext
from storage.importers.kinds import _check_budget as check_budget
from storage.importers.parsing import ParsedRow, ParsedTable
from storage.importers.reading import is_blank, is_blank_row, read_raw_sheets
from storage.importers.values import header_key, normalize, number_style, parse_money
from storage.text import fold_words

MAPPING_FILE = Path(__file__).parent.parent / "data" / "fuentes" / "cuipo_dependencias.yaml"
MAPPING_SHOWN = "storage/data/fuentes/cuipo_dependencias.yaml"
PROGRAMMING, EXECUTION = "C_PROGRAMACION_DE_GASTOS", "D_EJECUCION_DE_GASTOS"
# Titles each report must have (folded), and its amounts.
_REQUIRED = {
    PROGRAMMING: ("vigencia_gasto", "seccion_presupuestal", "codigo", "apropiacion_definitiva"),
    EXECUTION: ("vigencia_gasto", "seccion_presupuestal", "codigo", "compromisos",
                "obligaciones"),
}
_AMOUNTS = {
    PROGRAMMING: ("apropiacion_definitiva",),
    EXECUTION: ("compromisos", "obligaciones", "pagos"),
}
_SECTOR_COLUMN = {PROGRAMMING: "programa_mga", EXECUTION: "producto_mga"}
_FILLED_DOWN = ("vigencia_gasto", "seccion_presupuestal")
_PERIOD = re.compile(
    r"(\d{1,2})[-/](\d{1,2})[-/](\d{4})\s*al\s*(\d{1,2})[-/](\d{1,2})[-/](\d{4})", re.I)
_HEADER_ROWS = 40  # how far down the titles are looked for
_PESOS = re.compile(r"\(\s*pesos\s*\)\s*$", re.I)


def _title_key(title: Any) -> str:
    """Fold a CHIP title: `APROPIACION DEFINITIVA(Pesos)` → `apropiacion_definitiva`."""
    return header_key(_PESOS.sub("", str(title or "")).strip()) if title is not None else ""


@dataclass
class Report:
    """One CUIPO report found in a file: where it is, its period, titles and data rows."""

    name: str  # PROGRAMMING or EXECUTION
    where: str  # «archivo.xlsx» or «archivo.xlsx», hoja «D»
    period: tuple[date, date]
    columns: dict[str, int]  # folded title → column index
    titles: dict[str, str]  # folded title → as written
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)  # (spreadsheet row, cells)


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def _find_report(rows: list[list[Any]], where: str) -> Report | None:
    """Return the CUIPO report a sheet holds, or None when it holds none."""
    def titles_of(cells: list[Any]) -> list[str]:
        return [_title_key(c) if isinstance(c, str) else "" for c in cells]

    index = next((i for i, cells in enumerate(rows[:_HEADER_ROWS])
                  if {"codigo", "seccion_presupuestal"} <= set(titles_of(cells))), None)
    if index is None:
        return None
    cells = rows[index]
    keys = titles_of(cells)
    above = " ".join(_text(c) for row in rows[:index] for c in row if not is_blank(c))
    folded = normalize(above)
    kind = (PROGRAMMING if "programacion_de_gastos" in folded
            else EXECUTION if "ejecucion_de_gastos" in folded
            else PROGRAMMING if "apropiacion_definitiva" in keys
            else EXECUTION if "compromisos" in keys else None)
    if kind is None:
        return None
    period = _PERIOD.search(above)
    if period is None:
        raise ImportFailed(
            f"En {where} no encontré el periodo del informe {kind} (una línea como "
            "«01-07-2026 al 30-09-2026» arriba de los títulos). Envíe el archivo tal como lo "
            "descarga de CHIP."
        )
    d1, m1, y1, d2, m2, y2 = (int(g) for g in period.groups())
    try:
        span = (date(y1, m1, d1), date(y2, m2, d2))
    except ValueError:
        raise ImportFailed(f"En {where} el periodo {shown(period.group(0))} no es una fecha "
                           "válida (DD-MM-AAAA al DD-MM-AAAA).") from None
    columns: dict[str, int] = {}
    titles: dict[str, str] = {}
    for position, (key, cell) in enumerate(zip(keys, cells, strict=True)):
        if key and key not in columns:
            columns[key], titles[key] = position, _text(cell)
    missing = [key for key in _REQUIRED[kind] if key not in columns]
    if missing:
        names = ", ".join(f"«{key.upper().replace('_', ' ')}»" for key in missing)
        raise ImportFailed(f"Al informe {kind} de {where} le falta: {names}.")
    report = Report(kind, where, span, columns, titles)
    report.rows = [(index + 2 + offset, row) for offset, row in enumerate(rows[index + 1:])]
    return report


def _mapping() -> dict[str, Any]:
    return dict(yaml.safe_load(MAPPING_FILE.read_text(encoding="utf-8")))


def _section_code(text: str) -> str:
    """Return a section's code: the digits it starts with (`16 - ADMINISTRACION…` → `16`)."""
    match = re.match(r"\s*(\d+)", text)
    return match.group(1) if match else fold_words(text)


def _sector(text: str) -> str | None:
    """Return an MGA code's sector: its first two digits (`2201006` → `22`), or None."""
    match = re.match(r"\s*(\d{2})\d{2}", text)
    return match.group(1) if match else None


@dataclass
class _Line:
    """The sums of one budget line (office and rubro), and the rows that made them."""

    amounts: dict[str, Decimal] = field(default_factory=dict)
    rows: list[str] = field(default_factory=list)
    with_payments: bool = False


class _Reader:
    """Read the detail rows of the reports into budget lines, collecting every row error."""

    def __init__(self, mapping: dict[str, Any]) -> None:
        self.sections = {str(k): v for k, v in (mapping.get("secciones") or {}).items()}
        self.folded_sections = {fold_words(k): v for k, v in self.sections.items()}
        self.rubros = sorted(((str(k), str(v)) for k, v in (mapping["rubros"] or {}).items()),
                             key=lambda item: -len(item[0]))
        self.current = {fold_words(str(v)) for v in mapping.get("vigencia_actual") or ()}
        self.errors: list[RowError] = []
        self.lines: dict[tuple[str, str], _Line] = {}
        self.totals_skipped = 0
        self.earlier_years = 0
        self.notes: list[str] = []

    def office(self, section: str, sector: str | None) -> str:
        entry = self.sections.get(_section_code(section)) or self.folded_sections.get(
            fold_words(section))
        if entry is None:
            raise CellError(
                f"la sección presupuestal {shown(section)} no tiene dependencia en "
                f"{MAPPING_SHOWN}. Agréguela en «secciones» y vuelva a importar.")
        if isinstance(entry, str):
            return entry
        if sector is None:
            if not entry.get("sin_sector"):
                raise CellError(
                    f"la sección {shown(section)} se reparte por sector MGA y esta fila no "
                    f"tiene sector; agregue «sin_sector» a esa sección en {MAPPING_SHOWN}.")
            return str(entry["sin_sector"])
        offices = {str(k): str(v) for k, v in (entry.get("sectores") or {}).items()}
        if sector not in offices:
            raise CellError(
                f"el sector MGA «{sector}» de la sección {shown(section)} no tiene dependencia "
                f"en {MAPPING_SHOWN}. Agréguelo en «sectores» de esa sección y vuelva a "
                "importar.")
        return offices[sector]

    def rubro(self, code: str) -> str:
        for prefix, name in self.rubros:
            if code == prefix or code.startswith(prefix + "."):
                return name
        raise CellError(f"el código {shown(code)} no está bajo ningún rubro de {MAPPING_SHOWN} "
                        "(«rubros»: 2.1, 2.3…).")

    def read(self, report: Report) -> int:
        """Add the report's detail rows of the current year to the lines; return rows read."""
        col = report.columns

        def cell(cells: list[Any], key: str) -> Any:
            index = col.get(key)
            return cells[index] if index is not None and index < len(cells) else None

        styles = {key: number_style(((n, cell(c, key)) for n, c in report.rows), money=True)
                  for key in _AMOUNTS[report.name] if key in col}
        last: dict[str, str] = {}
        entries: list[tuple[int, dict[str, str], list[Any]]] = []
        for number, cells in report.rows:
            if is_blank_row(cells):
                continue
            values: dict[str, str] = {}
            for key in _FILLED_DOWN:  # shown only when they change
                raw = cell(cells, key)
                if not is_blank(raw):
                    last[key] = _text(raw)
                values[key] = last.get(key, "")
            values["codigo"] = _text(cell(cells, "codigo"))
            if not values["codigo"]:
                continue  # a footer or a note, not a budget row
            values["sector"] = _text(cell(cells, _SECTOR_COLUMN[report.name]))
            entries.append((number, values, cells))
        # A total row is one whose code another row of its year and section extends.
        prefixes = {(v["vigencia_gasto"], v["seccion_presupuestal"],
                     ".".join(v["codigo"].split(".")[:i]))
                    for _, v, _ in entries for i in range(1, v["codigo"].count(".") + 1)}
        totals: dict[tuple[str, str], tuple[int, Decimal]] = {}
        details: dict[tuple[str, str], Decimal] = {}
        main = _AMOUNTS[report.name][0]
        for number, values, cells in entries:
            if fold_words(values["vigencia_gasto"]) not in self.current and fold_words(
                    re.sub(r"\s*-.*$", "", values["vigencia_gasto"])) not in self.current:
                self.earlier_years += 1
                continue
            amounts: dict[str, Decimal] = {}
            problems = len(self.errors)
            for key in _AMOUNTS[report.name]:
                raw = cell(cells, key)
                if key not in col or is_blank(raw):
                    continue
                try:
                    amounts[key] = parse_money(raw, styles[key])
                except CellError as exc:
                    self._error(number, report, key, str(exc))
            code = values["codigo"]
            if (values["vigencia_gasto"], values["seccion_presupuestal"], code) in prefixes:
                # A total row: compared with its details, never added.
                self.totals_skipped += 1
                if main in amounts:
                    totals[(values["seccion_presupuestal"], code)] = (number, amounts[main])
                continue
            try:
                rubro = self.rubro(code)
            except CellError as exc:
                self._error(number, report, "codigo", str(exc))
                continue
            try:
                office = self.office(values["seccion_presupuestal"], _sector(values["sector"]))
            except CellError as exc:
                self._error(number, report, "seccion_presupuestal", str(exc))
                continue
            if len(self.errors) > problems:
                continue
            line = self.lines.setdefault((office, rubro), _Line())
            for key, amount in amounts.items():
                line.amounts[key] = line.amounts.get(key, Decimal(0)) + amount
            line.with_payments = line.with_payments or "pagos" in amounts
            for i in range(1, code.count(".") + 1):
                key2 = (values["seccion_presupuestal"], ".".join(code.split(".")[:i]))
                details[key2] = details.get(key2, Decimal(0)) + amounts.get(main, Decimal(0))
        for (section, code), (number, total) in totals.items():
            added = details.get((section, code), Decimal(0))
            if added != total:
                self.notes.append(
                    f"En {report.where}, fila {number}: el total del código {code} "
                    f"({_pesos(total)}) no es la suma de sus filas de detalle "
                    f"({_pesos(added)}); se usaron las filas de detalle.")
        return len(entries)

    def _error(self, number: int, report: Report, key: str, message: str) -> None:
        title = report.titles.get(key, key.upper())
        self.errors.append(RowError(number, title, f"{message} ({report.where})"))


def _pesos(value: Decimal) -> str:
    return "$ " + f"{value:,.0f}".replace(",", ".")


def _reports(files: list[tuple[bytes, str]]) -> dict[str, Report]:
    found: dict[str, Report] = {}
    for data, filename in files:
        sheets = read_raw_sheets(data, filename)
        in_file = 0
        for sheet, rows in sheets:
            where = f"«{filename}»" if len(sheets) == 1 else f"«{filename}», hoja «{sheet}»"
            report = _find_report(rows, where)
            if report is None:
                continue
            if report.name in found:
                raise ImportFailed(f"El informe {report.name} viene dos veces: en "
                                   f"{found[report.name].where} y en {where}. Envíe uno solo.")
            found[report.name] = report
            in_file += 1
        if not in_file:
            raise ImportFailed(
                f"En «{filename}» no encontré un informe de gastos de CUIPO "
                f"({PROGRAMMING} o {EXECUTION}) con sus títulos (VIGENCIA GASTO, SECCION "
                "PRESUPUESTAL, CODIGO…). Envíelo tal como lo descarga de CHIP.")
    missing = [name for name in (PROGRAMMING, EXECUTION) if name not in found]
    if missing:
        raise ImportFailed(
            f"Falta el informe {missing[0]} de CUIPO. Se necesitan los dos del mismo periodo, "
            f"{PROGRAMMING} (apropiación) y {EXECUTION} (compromisos, obligaciones y pagos): "
            "en el servidor, «cabildo importar cuipo programacion.xlsx ejecucion.xlsx»; por "
            "Telegram, un solo libro XLSX con los dos informes, cada uno en su hoja.")
    return found


async def import_cuipo(
    session: AsyncSession, files: list[tuple[bytes, str]], *, tz: ZoneInfo
) -> ImportResult:
    """Import CUIPO's programación and ejecución of one period as budget lines, or nothing."""
    reports = _reports(files)
    programming, execution = reports[PROGRAMMING], reports[EXECUTION]
    if programming.period[1].year != execution.period[1].year:
        raise ImportFailed(
            f"Los informes son de años distintos: {programming.where} hasta el "
            f"{programming.period[1]:%d-%m-%Y} y {execution.where} hasta el "
            f"{execution.period[1]:%d-%m-%Y}. Envíe los dos del mismo periodo.")
    reader = _Reader(_mapping())
    counts = [reader.read(programming), reader.read(execution)]
    if reader.errors:
        failure = ImportFailed(errors=sorted(reader.errors, key=lambda e: e.row))
        failure.rows_only = False  # leaving rows out would change the totals
        raise failure
    year, cut = execution.period[1].year, execution.period[1]
    spec = replace(KINDS["presupuesto"], name="cuipo", source="CUIPO")
    table = ParsedTable(spec)
    problems: list[str] = []
    for number, ((office, rubro), line) in enumerate(sorted(reader.lines.items()), start=1):
        values: dict[str, Any] = {
            "vigencia": year, "dependencia": office, "rubro": rubro,
            "apropiacion_definitiva": line.amounts.get("apropiacion_definitiva", Decimal(0)),
            "compromisos": line.amounts.get("compromisos", Decimal(0)),
            "obligaciones": line.amounts.get("obligaciones", Decimal(0)),
            "pagos": line.amounts.get("pagos") if line.with_payments else None,
            "fecha_corte": cut,
        }
        problems += [f"{office} · {rubro}: {message}"
                     for _, message in check_budget(values, RowContext(tz))]
        table.rows.append(ParsedRow(number, values, (year, office, rubro)))
    if problems:
        raise ImportFailed(
            "Las cifras de los dos informes no cuadran por dependencia (revise que sean del "
            f"mismo periodo y las secciones de {MAPPING_SHOWN}). No se importó nada:\n"
            + "\n".join(problems))
    if not table.rows:
        raise ImportFailed("Los informes no tienen filas de gastos de la vigencia actual.")
    table.warnings.append(
        f"Se leyeron {counts[0]} filas de {PROGRAMMING} ({programming.where}) y {counts[1]} "
        f"de {EXECUTION} ({execution.where}), con corte al {cut:%d-%m-%Y}.")
    if reader.totals_skipped:
        table.warnings.append(
            f"Se sumaron solo las filas de detalle: {reader.totals_skipped} filas de totales "
            "(«2», «2.1», «2.3»…) no se sumaron otra vez.")
    if reader.earlier_years:
        table.warnings.append(
            f"Se dejaron de lado {reader.earlier_years} filas de vigencias anteriores "
            "(reservas y cuentas por pagar).")
    table.warnings.extend(reader.notes)
    return await store(session, table)
