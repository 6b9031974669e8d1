"""The DNP's planning kit (plan indicativo) and the city's follow-up sheet → plan goals.

Import kind `plan_indicativo`: the KPT's «Plan indicativo» sheet (codes, strategic line,
MGA program, indicator, unit, four-year target, accumulation type) and the follow-up sheet
(what each goal achieved, in total or per year), as two files or as sheets of one workbook;
the titles may sit below a header block. The spellings accepted, and how a year's values
accumulate, are data: `storage/data/fuentes/plan_indicativo.yaml`.

The KPT holds no progress, and none is invented: a goal the follow-up sheet does not name
is a row error, as is a follow-up row that names no goal of the plan. Reduction goals are
left out (progress is achieved ÷ target). All-or-nothing, like every import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers.core import ImportResult, store
from storage.importers.errors import CellError, ImportFailed, RowError, shown
from storage.importers.kinds import KINDS
from storage.importers.parsing import ParsedRow, ParsedTable
from storage.importers.reading import is_blank, is_blank_row, read_raw_sheets
from storage.importers.values import (
    date_order,
    header_key,
    number_style,
    parse_date,
    parse_float,
    parse_non_negative,
    parse_positive,
    parse_text,
)
from storage.models import Goal
from storage.text import fold_words

MAPPING_FILE = Path(__file__).parent.parent / "data" / "fuentes" / "plan_indicativo.yaml"
MAPPING_SHOWN = "storage/data/fuentes/plan_indicativo.yaml"
_PLAN_REQUIRED = ("codigo", "linea", "programa", "indicador", "meta_cuatrienio")
_HEADER_ROWS = 20
_YEAR = "{año}"


@dataclass
class Sheet:
    """A table found in a file: where, its titles (field → column) and data rows."""

    where: str
    columns: dict[str, int]
    titles: dict[str, str]  # field → the title as written
    years: dict[int, int] = field(default_factory=dict)  # year → column (follow-up)
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)

    def cell(self, cells: list[Any], name: str) -> Any:
        index = self.columns.get(name)
        return cells[index] if index is not None and index < len(cells) else None


def _mapping() -> dict[str, Any]:
    return dict(yaml.safe_load(MAPPING_FILE.read_text(encoding="utf-8")))


def _match(cells: list[Any], spellings: dict[str, list[str]]) -> tuple[dict[str, int],
                                                                       dict[int, int]]:
    """Return the fields a title row holds (field → column) and its year columns."""
    keys = [header_key(str(c)) if isinstance(c, str) and c.strip() else "" for c in cells]
    columns: dict[str, int] = {}
    years: dict[int, int] = {}
    for name, names in spellings.items():
        wanted = [header_key(n) for n in names if _YEAR not in n]
        patterns = [re.compile(re.escape(header_key(n.replace(_YEAR, "AAAA"))).replace(
            "aaaa", r"(\d{4})") + "$") for n in names if _YEAR in n]
        for index, key in enumerate(keys):
            if not key:
                continue
            if key in wanted and name not in columns:
                columns[name] = index
            for pattern in patterns:
                found = pattern.match(key)
                if found and int(found.group(1)) not in years:
                    years[int(found.group(1))] = index
    return columns, years


def _find(rows: list[list[Any]], where: str, spellings: dict[str, list[str]],
          needed: tuple[str, ...]) -> Sheet | None:
    for index, cells in enumerate(rows[:_HEADER_ROWS]):
        columns, years = _match(cells, spellings)
        if all(name in columns for name in needed):
            titles = {name: " ".join(str(cells[i]).split()) for name, i in columns.items()}
            sheet = Sheet(where, columns, titles, years)
            sheet.rows = [(index + 2 + n, r) for n, r in enumerate(rows[index + 1:])]
            return sheet
    return None


def _sheets(files: list[tuple[bytes, str]], mapping: dict[str, Any]) -> tuple[Sheet, Sheet]:
    plans: list[Sheet] = []
    follow_ups: list[Sheet] = []
    for data, filename in files:
        sheets = read_raw_sheets(data, filename)
        found = 0
        for name, rows in sheets:
            where = f"«{filename}»" if len(sheets) == 1 else f"«{filename}», hoja «{name}»"
            plan = _find(rows, where, mapping["plan"], _PLAN_REQUIRED)
            follow = _find(rows, where, mapping["seguimiento"], ("codigo",))
            if follow is not None and not ("avance_acumulado" in follow.columns or follow.years):
                follow = None
            if plan is not None:
                plans.append(plan)
            if follow is not None:
                follow_ups.append(follow)
            found += plan is not None or follow is not None
        if not found:
            raise ImportFailed(
                f"En «{filename}» no encontré el plan indicativo del KPT (títulos como "
                "codigo_indicador_producto, linea_estrategica, programa_mga, "
                "indicador_producto_mga, meta_cuatrienio) ni una hoja de seguimiento "
                f"(codigo y avance_acumulado o avance_2025…). Los títulos aceptados están en "
                f"{MAPPING_SHOWN}.")
    if not plans:
        raise ImportFailed(
            "Falta el plan indicativo del KPT (la hoja con codigo_indicador_producto, "
            "linea_estrategica, programa_mga, indicador_producto_mga y meta_cuatrienio).")
    if not follow_ups:
        raise ImportFailed(
            "Falta la hoja de seguimiento con el avance de cada meta (codigo y "
            "avance_acumulado, o el avance de cada año: avance_2024, avance_2025…). El KPT "
            "solo trae las metas, no lo logrado: Cabildo no inventa el avance. En el servidor, "
            "«cabildo importar plan_indicativo plan.xlsx seguimiento.xlsx»; por Telegram, un "
            "solo libro con las dos hojas.")
    if len(plans) > 1 or len(follow_ups) > 1:
        where = ", ".join(s.where for s in (plans if len(plans) > 1 else follow_ups))
        raise ImportFailed(f"Hay más de una hoja del mismo tipo ({where}); envíe una sola.")
    return plans[0], follow_ups[0]


@dataclass
class _Progress:
    """A follow-up row: its number, the accumulated achievement if given, other fields."""

    row: int
    achieved: float | None  # None: add up (or take the latest of) the years' values
    values: dict[str, Any]


class _Reader:
    """Read both sheets into goals, collecting every row error."""

    def __init__(self, mapping: dict[str, Any], plan: Sheet, follow_up: Sheet) -> None:
        self.plan, self.follow_up = plan, follow_up
        kinds = mapping["acumulacion"]
        self.adds = {fold_words(v) for v in kinds.get("suma") or ()}
        self.latest = {fold_words(v) for v in kinds.get("ultimo") or ()}
        self.omitted = {fold_words(v) for v in kinds.get("omitir") or ()}
        self.errors: list[RowError] = []
        self.left_out = 0
        table = Goal.__table__  # type: ignore[attr-defined]
        self.lengths = {name: getattr(table.c[name].type, "length", None)
                        for name in ("codigo", "linea", "programa", "unidad", "responsable")}
        self._years: dict[str, dict[int, float]] = {}

    def error(self, sheet: Sheet, number: int, name: str | None, message: str) -> None:
        title = sheet.titles.get(name, name) if name else None
        self.errors.append(RowError(number, title, f"{message} ({sheet.where})"))

    def read_follow_up(self) -> dict[str, _Progress]:
        sheet = self.follow_up
        numbers = {name: number_style(((n, sheet.cell(c, name)) for n, c in sheet.rows),
                                      money=False)
                   for name in ("avance_acumulado", "linea_base")}
        years = {year: number_style(((n, c[i] if i < len(c) else None) for n, c in sheet.rows),
                                    money=False) for year, i in sheet.years.items()}
        dates = date_order((n, sheet.cell(c, "fecha_corte")) for n, c in sheet.rows)
        found: dict[str, _Progress] = {}
        for number, cells in sheet.rows:
            if is_blank_row(cells) or is_blank(sheet.cell(cells, "codigo")):
                continue
            code = " ".join(str(sheet.cell(cells, "codigo")).split())
            before = len(self.errors)
            values: dict[str, Any] = {}
            total: float | None = None
            raw = sheet.cell(cells, "avance_acumulado")
            try:
                if not is_blank(raw):
                    total = parse_non_negative(raw, numbers["avance_acumulado"])
                for name in ("linea_base",):
                    raw = sheet.cell(cells, name)
                    if not is_blank(raw):
                        values[name] = parse_float(raw, numbers[name])
            except CellError as exc:
                self.error(sheet, number, "avance_acumulado", str(exc))
            per_year: dict[int, float] = {}
            for year, index in sorted(sheet.years.items()):
                raw = cells[index] if index < len(cells) else None
                if is_blank(raw):
                    continue
                try:
                    per_year[year] = parse_non_negative(raw, years[year])
                except CellError as exc:
                    self.errors.append(RowError(number, f"año {year}", f"{exc} ({sheet.where})"))
            raw = sheet.cell(cells, "fecha_corte")
            if not is_blank(raw):
                try:
                    values["fecha_corte"] = parse_date(raw, dates)
                except CellError as exc:
                    self.error(sheet, number, "fecha_corte", str(exc))
            raw = sheet.cell(cells, "responsable")
            if not is_blank(raw):
                try:
                    values["responsable"] = parse_text(raw, max_length=self.lengths["responsable"])
                except CellError as exc:
                    self.error(sheet, number, "responsable", str(exc))
            if total is None and not per_year and len(self.errors) == before:
                self.error(sheet, number, "avance_acumulado",
                           f"la meta {shown(code)} no tiene avance: escriba lo logrado (0 si "
                           "aún no hay nada).")
            if code in found:
                self.error(sheet, number, "codigo",
                           f"repite {shown(code)}, que ya está en la fila {found[code].row}.")
            if len(self.errors) > before:
                continue
            found[code] = _Progress(number, total, values)
            self._years[code] = per_year
        return found

    def achieved(self, progress: _Progress, code: str, kind: str, row: int) -> float | None:
        if progress.achieved is not None:
            return progress.achieved
        per_year = self._years[code]
        folded = fold_words(kind)
        if folded in self.adds:
            return sum(per_year.values())
        if folded in self.latest:
            return per_year[max(per_year)]
        self.error(self.plan, row, "tipo_acumulacion",
                   f"{shown(kind or '(vacío)')} no es un tipo de acumulación conocido, y hace "
                   "falta para sumar los años del seguimiento. Agréguelo en «acumulacion» de "
                   f"{MAPPING_SHOWN}, o dé el avance_acumulado.")
        return None

    def goals(self) -> list[ParsedRow]:
        progress = self.read_follow_up()
        sheet = self.plan
        targets = number_style(((n, sheet.cell(c, "meta_cuatrienio")) for n, c in sheet.rows),
                               money=False)
        rows: list[tuple[int, dict[str, Any], str]] = []
        mga_codes: dict[str, list[str]] = {}
        for number, cells in sheet.rows:
            if is_blank_row(cells) or is_blank(sheet.cell(cells, "codigo")):
                continue
            before = len(self.errors)
            values: dict[str, Any] = {}
            for name in ("codigo", "linea", "programa", "indicador", "unidad", "producto",
                         "personalizacion", "codigo_mga", "tipo_acumulacion"):
                raw = sheet.cell(cells, name)
                if is_blank(raw):
                    if name in _PLAN_REQUIRED:
                        self.error(sheet, number, name, "está vacía y es obligatoria.")
                    continue
                try:
                    values[name] = parse_text(raw, max_length=self.lengths.get(name))
                except CellError as exc:
                    self.error(sheet, number, name, str(exc))
            raw = sheet.cell(cells, "meta_cuatrienio")
            if not is_blank(raw):
                try:
                    values["meta_cuatrienio"] = parse_positive(raw, targets)
                except CellError as exc:
                    self.error(sheet, number, "meta_cuatrienio", str(exc))
            if len(self.errors) > before:
                continue
            if fold_words(values.get("tipo_acumulacion", "")) in self.omitted:
                self.left_out += 1
                progress.pop(values["codigo"], None)
                continue
            rows.append((number, values, values["codigo"]))
            if values.get("codigo_mga"):
                mga_codes.setdefault(values["codigo_mga"], []).append(values["codigo"])
        by_code = {code: (number, values) for number, values, code in rows}
        for code in list(progress):  # a follow-up naming the MGA indicator of one goal
            if code in by_code:
                continue
            goals = mga_codes.get(code, [])
            if len(goals) == 1 and goals[0] not in progress:
                progress[goals[0]] = progress.pop(code)
                self._years[goals[0]] = self._years.pop(code)
            else:
                what = (f"es el indicador MGA de {len(goals)} metas ({', '.join(goals)}); use "
                        "el código de la meta (codigo_indicador_producto)") if goals else (
                        "no es una meta del plan indicativo")
                self.error(self.follow_up, progress[code].row, "codigo",
                           f"{shown(code)} {what}.")
                del progress[code]
        parsed: list[ParsedRow] = []
        seen: dict[str, int] = {}
        for number, values, code in rows:
            if code in seen:
                self.error(sheet, number, "codigo",
                           f"repite {shown(code)}, que ya está en la fila {seen[code]}.")
                continue
            seen[code] = number
            found = progress.get(code)
            if found is None:
                self.error(sheet, number, "codigo",
                           f"la meta {shown(code)} no está en la hoja de seguimiento "
                           f"({self.follow_up.where}). Agréguela con lo logrado (0 si aún no "
                           "hay nada): Cabildo no inventa el avance.")
                continue
            achieved = self.achieved(found, code, values.get("tipo_acumulacion", ""), number)
            if achieved is None:
                continue
            wording = values.get("personalizacion") or values.get("producto") or values[
                "indicador"]
            goal = {
                "codigo": code, "linea": values["linea"], "programa": values["programa"],
                "meta": wording, "indicador": values["indicador"],
                "unidad": values.get("unidad"), "meta_cuatrienio": values["meta_cuatrienio"],
                "avance": achieved, "linea_base": found.values.get("linea_base"),
                "fecha_corte": found.values.get("fecha_corte"),
                "responsable": found.values.get("responsable"),
            }
            parsed.append(ParsedRow(number, goal, (code,)))
        return parsed


async def import_plan(
    session: AsyncSession, files: list[tuple[bytes, str]], *, tz: ZoneInfo
) -> ImportResult:
    """Import the KPT plan indicativo with its follow-up sheet as plan goals, or nothing."""
    del tz  # dates here are days, not moments
    mapping = _mapping()
    plan, follow_up = _sheets(files, mapping)
    reader = _Reader(mapping, plan, follow_up)
    rows = reader.goals()
    if reader.errors:
        raise ImportFailed(errors=sorted(reader.errors, key=lambda e: e.row))
    if not rows:
        raise ImportFailed("El plan indicativo no tiene metas.")
    table = ParsedTable(replace(KINDS["metas"], name="plan_indicativo", source="KPT"), rows)
    if reader.left_out:
        table.warnings.append(
            f"Metas de reducción dejadas de lado: {reader.left_out}. Cabildo mide el avance "
            "como logrado ÷ meta, y en ellas eso no dice cuánto se ha avanzado.")
    cut = {row.values["fecha_corte"] for row in rows} - {None}
    if not cut:
        table.warnings.append("La hoja de seguimiento no trae fecha de corte (columna "
                              "«fecha_corte»): las metas se muestran sin ella.")
    return await store(session, table)

