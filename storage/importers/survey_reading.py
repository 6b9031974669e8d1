"""Read a survey definition file (JSON or YAML) safely and check every field of it.

YAML is read with PyYAML's safe loader minus two YAML 1.1 surprises: `No`/`Sí`/`on`/`off`
stay text (only `true`/`false` are booleans), and dates stay text (we parse them ourselves).
Sizes, nesting and numbers are bounded before anything is built. Every problem found is
named at once (`parse_definition`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from storage.importers.errors import CellError, ImportFailed
from storage.survey_defs import (
    DEFAULT_TEXT_CHARS,
    END,
    FALSE_WORDS,
    KINDS,
    MAX_DESCRIPTION_CHARS,
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    QUESTION_FIELDS,
    SCALE,
    SLUG,
    TOP_FIELDS,
    TRUE_WORDS,
    QuestionDef,
    SurveyDef,
)

MAX_BYTES = 200_000
MAX_DEPTH = 8  # survey → preguntas → question → saltar needs 4
MAX_NODES = 20_000  # values (and lists, and maps) in a whole definition
MAX_DIGITS = 30  # a number with more digits is refused (PyYAML would build a 5,000-digit int)
# What PyYAML may read as a number when unquoted: 12, -3_000, 0x1F, 1.5e3, 190:20:30.
_YAML_NUMBER = re.compile(
    r"[-+]?(?:0[xob][0-9a-fA-F_]+|[0-9_.,:]*[0-9][0-9_.,:]*(?:[eE][-+]?[0-9]+)?)"
)


class _PyLoader(yaml.SafeLoader):
    """PyYAML's safe loader without the yes/no/on/off booleans and implicit dates."""


_PyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Loader(getattr(yaml, "CSafeLoader", _PyLoader)):  # type: ignore[misc]
    """The same, on libyaml's parser where PyYAML was built with it (its wheels are): the
    pure-Python parser took two thirds of loading the sample data."""

    yaml_implicit_resolvers = _PyLoader.yaml_implicit_resolvers


def _read(data: bytes, filename: str) -> Any:
    if len(data) > MAX_BYTES:
        raise ImportFailed(
            f"El archivo pesa {len(data) // 1000} kB; una encuesta puede pesar hasta "
            f"{MAX_BYTES // 1000} kB."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed("El archivo no está en UTF-8. Guárdelo como UTF-8 y envíelo de nuevo.") \
            from exc
    if filename.lower().endswith(".json"):
        _check_json_depth(text)
        try:
            return json.loads(text, parse_int=_json_int, parse_float=_json_float)
        except json.JSONDecodeError as exc:
            raise ImportFailed(
                f"El JSON no se puede leer: línea {exc.lineno}, columna {exc.colno}: {exc.msg}."
            ) from exc
    try:
        _check_yaml_shape(text)
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (línea {mark.line + 1}, columna {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "formato inválido"
        raise ImportFailed(f"El YAML no se puede leer{where}: {problem}.") from exc


def _too_deep(line: int) -> ImportFailed:
    return ImportFailed(
        f"La encuesta tiene más de {MAX_DEPTH} niveles de listas o campos anidados (línea "
        f"{line}). Revise la sangría o los corchetes."
    )


def _too_many_nodes() -> ImportFailed:
    return ImportFailed(
        f"La encuesta tiene más de {MAX_NODES:,} valores; ".replace(",", ".")
        + f"una encuesta tiene a lo sumo {MAX_QUESTIONS} preguntas."
    )


def _huge_number(line: int) -> ImportFailed:
    return ImportFailed(
        f"La línea {line} tiene un número de más de {MAX_DIGITS} cifras. Si es un texto, "
        "escríbalo entre comillas."
    )


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _check_yaml_shape(text: str) -> None:
    """Refuse deep nesting, too many values, or huge numbers, before building anything.

    PyYAML's event parser keeps its own stack (it does not recurse), so it can walk any
    nesting; the loader that builds Python objects would recurse and overflow.
    """
    try:
        _walk_yaml_shape(text, _Loader)
    except yaml.YAMLError as exc:
        if _Loader is _PyLoader or "nesting depth" not in str(exc):
            raise
        # libyaml stops at its own limit (1,000 levels) while reading ahead; PyYAML's
        # parser reaches ours first and says on which line
        _walk_yaml_shape(text, _PyLoader)
        raise


def _walk_yaml_shape(text: str, loader: type[Any]) -> None:
    depth = nodes = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(event.start_mark.line + 1)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
            continue
        elif isinstance(event, yaml.ScalarEvent):
            if not event.style and _YAML_NUMBER.fullmatch(event.value) \
                    and _digits(event.value) > MAX_DIGITS:
                raise _huge_number(event.start_mark.line + 1)
        else:
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise _too_many_nodes()


def _check_json_depth(text: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH (json.loads would recurse and overflow)."""
    depth = 0
    in_string = escaped = False
    for index, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(text.count("\n", 0, index) + 1)
        elif ch in "]}":
            depth -= 1


def _json_number(text: str) -> None:
    if _digits(text.lower().split("e")[0]) > MAX_DIGITS:
        raise ImportFailed(
            f"El JSON tiene un número de más de {MAX_DIGITS} cifras. Si es un texto, "
            "escríbalo entre comillas."
        )


def _json_int(text: str) -> int:
    _json_number(text)
    return int(text)


def _json_float(text: str) -> float:
    _json_number(text)
    return float(text)


def _text(value: Any, limit: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellError(f"debe ser un texto ({what}).")
    text = str(value).strip()
    if not text:
        raise CellError(f"está vacío ({what}).")
    if len(text) > limit:
        raise CellError(f"tiene {len(text)} caracteres; el máximo es {limit}.")
    return text


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise CellError("debe ser true o false (sí o no).")


def _when(value: Any, tz: ZoneInfo, *, closing: bool) -> datetime:
    text = str(value).strip()
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if pattern == "%Y-%m-%d" and closing:  # a closing day counts whole
            parsed = datetime.combine(parsed.date(), time(23, 59, 59))
        return parsed.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))
    raise CellError(f"la fecha «{text[:40]}» debe escribirse AAAA-MM-DD o AAAA-MM-DD HH:MM.")


def _int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CellError(f"debe ser un número entero entre {low} y {high}.")
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise CellError(f"debe ser un número entero entre {low} y {high}.") from exc
    if not low <= number <= high:
        raise CellError(f"debe estar entre {low} y {high}.")
    return number


class _Errors:
    """Collect every problem of a definition, each naming where it is."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def _options(raw: Any, errors: _Errors, where: str) -> list[str]:
    if not isinstance(raw, list) or len(raw) < 2:
        errors.add(where, "hacen falta al menos 2 opciones, en una lista.")
        return []
    if len(raw) > MAX_OPTIONS:
        errors.add(where, f"tiene {len(raw)} opciones; el máximo es {MAX_OPTIONS}.")
        return []
    options: list[str] = []
    for number, item in enumerate(raw, start=1):
        try:
            option = _text(item, MAX_OPTION_CHARS, f"opción {number}")
        except CellError as exc:
            errors.add(where, f"la opción {number} {exc}")
            continue
        if option.lower() in (o.lower() for o in options):
            errors.add(where, f"la opción «{option}» está repetida.")
        options.append(option)
    return options


def _question(raw: Any, number: int, total: int, errors: _Errors) -> QuestionDef | None:
    where = f"Pregunta {number}"
    if not isinstance(raw, dict):
        errors.add(where, "debe tener campos como «tipo» y «texto».")
        return None
    kind = str(raw.get("tipo", "")).strip().lower()
    if kind not in KINDS:
        errors.add(f"{where}, campo «tipo»",
                   f"«{str(raw.get('tipo', ''))[:30]}» no es un tipo; use {', '.join(KINDS)}.")
        return None
    for name in sorted(set(raw) - QUESTION_FIELDS[kind]):
        errors.add(f"{where}, campo «{name}»", f"no existe para preguntas de tipo {kind}.")
    try:
        text = _text(raw.get("texto"), MAX_QUESTION_CHARS, "el enunciado")
    except CellError as exc:
        errors.add(f"{where}, campo «texto»", str(exc))
        text = ""
    options: list[str] = []
    max_choices = max_length = None
    if kind in ("unica", "multiple"):
        options = _options(raw.get("opciones"), errors, f"{where}, campo «opciones»")
    if kind == "multiple":
        try:
            max_choices = _int(raw.get("maximo", len(options) or 1), 1, max(len(options), 1))
        except CellError as exc:
            errors.add(f"{where}, campo «maximo»", str(exc))
    if kind == "escala" and "etiquetas" in raw:
        labels = raw["etiquetas"]
        if not isinstance(labels, list) or len(labels) != 2:
            errors.add(f"{where}, campo «etiquetas»",
                       "deben ser 2 textos: lo que significa 1 y lo que significa 5.")
        else:
            try:
                options = [_text(label, 30, "etiqueta") for label in labels]
            except CellError as exc:
                errors.add(f"{where}, campo «etiquetas»", str(exc))
    if kind == "texto":
        try:
            max_length = _int(raw.get("max_caracteres", DEFAULT_TEXT_CHARS), 10, MAX_TEXT_CHARS)
        except CellError as exc:
            errors.add(f"{where}, campo «max_caracteres»", str(exc))
    skips = _skips(raw.get("saltar"), kind, options, number, total, errors, where)
    return QuestionDef(number, kind, text, options, max_choices, max_length, skips)


def _skips(
    raw: Any, kind: str, options: list[str], number: int, total: int, errors: _Errors,
    where: str,
) -> dict[str, int]:
    if raw is None:
        return {}
    where = f"{where}, campo «saltar»"
    if not isinstance(raw, dict) or not raw:
        errors.add(where, "debe decir a qué pregunta saltar según la respuesta, "
                   "por ejemplo «No: 5» o «No: fin».")
        return {}
    answers = options if kind == "unica" else [str(v) for v in SCALE]
    rules: dict[str, int] = {}
    for answer, target in raw.items():
        key = str(answer).strip()
        found = next((a for a in answers if a.lower() == key.lower()), None)
        if found is None:
            errors.add(where, f"«{key[:40]}» no es una respuesta posible "
                       f"({', '.join(answers)}).")
            continue
        if str(target).strip().lower() == "fin":
            rules[found] = END
            continue
        try:
            goal = _int(target, number + 1, total)
        except CellError:
            errors.add(where, f"si responde «{found}» debe saltar hacia adelante: a una pregunta "
                       f"entre la {number + 1} y la {total}, o «fin».")
            continue
        if goal == number + 1:
            continue  # the next question anyway
        rules[found] = goal
    return rules


def parse_definition(data: bytes, filename: str, *, tz: ZoneInfo) -> SurveyDef:
    """Read and check a survey definition; raise `ImportFailed` naming every problem."""
    raw = _read(data, filename)
    if not isinstance(raw, dict):
        raise ImportFailed("La definición debe tener campos como «slug», «titulo» y «preguntas».")
    errors = _Errors()
    for name in sorted(set(raw) - TOP_FIELDS, key=str):
        errors.add(f"Campo «{name}»", "no existe; revise cómo se escribe.")
    slug = str(raw.get("slug", "")).strip()
    if not SLUG.match(slug):
        errors.add("Campo «slug»", "debe tener de 3 a 40 letras minúsculas sin tilde, números o "
                   "guiones, por ejemplo «percepcion-gestion».")
    titulo = descripcion = None
    try:
        titulo = _text(raw.get("titulo"), MAX_TITLE_CHARS, "el título")
    except CellError as exc:
        errors.add("Campo «titulo»", str(exc))
    if raw.get("descripcion") is not None:
        try:
            descripcion = _text(raw["descripcion"], MAX_DESCRIPTION_CHARS, "la descripción")
        except CellError as exc:
            errors.add("Campo «descripcion»", str(exc))
    anonima = False
    try:
        anonima = _bool(raw.get("anonima", False))
    except CellError as exc:
        errors.add("Campo «anonima»", str(exc))
    dates: dict[str, datetime | None] = {"abre": None, "cierra": None}
    for name in dates:
        if raw.get(name) not in (None, ""):
            try:
                dates[name] = _when(raw[name], tz, closing=name == "cierra")
            except CellError as exc:
                errors.add(f"Campo «{name}»", str(exc))
    if dates["abre"] and dates["cierra"] and dates["cierra"] <= dates["abre"]:
        errors.add("Campo «cierra»", "debe ser después de «abre».")
    comuna = raw.get("comuna")
    comuna_text = str(comuna).strip() if comuna not in (None, "") else None
    questions: list[QuestionDef] = []
    items = raw.get("preguntas")
    if not isinstance(items, list) or not items:
        errors.add("Campo «preguntas»", "hace falta una lista con al menos una pregunta.")
    elif len(items) > MAX_QUESTIONS:
        errors.add("Campo «preguntas»", f"tiene {len(items)} preguntas; el máximo es "
                   f"{MAX_QUESTIONS}.")
    else:
        for number, item in enumerate(items, start=1):
            question = _question(item, number, len(items), errors)
            if question is not None:
                questions.append(question)
    if errors.items:
        count = len(errors.items)
        noun = "error" if count == 1 else "errores"
        head = f"La definición de la encuesta tiene {count} {noun}. Corríjala y envíela de nuevo:"
        raise ImportFailed("\n".join([head, *errors.items[:30]]))
    assert titulo is not None
    return SurveyDef(slug, titulo, descripcion, anonima, dates["abre"], dates["cierra"],
                     comuna_text, questions)
