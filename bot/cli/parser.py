"""The `cabildo` command's arguments: every subcommand and flag, help and errors in Spanish."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

KINDS_HELP = (
    "metas, presupuesto, obras, eventos, contratacion, informes, comunas, plan, ubicaciones "
    "(la comuna de las obras sin ubicar), encuesta, presupuesto_participativo; y las fuentes "
    "como se descargan: secop_contratos, secop_procesos, secop_ejecucion (SECOP II), cuipo "
    "(CHIP: programación y ejecución de gastos), plan_indicativo (KPT y seguimiento)"
)
HELP_HELP = "mostrar esta ayuda y salir"
# argparse's own messages, said in Spanish (its English text is matched, then replaced).
_ARGPARSE_ES = (
    (re.compile(r"the following arguments are required: (.+)"), r"faltan estos datos: \1"),
    (re.compile(r"argument (\S+): invalid int value: '(.*)'"),
     r"\1: «\2» no es un número entero"),
    (re.compile(r"argument (\S+): invalid choice: '?([^' ]*)'? \(choose from (.+)\)"),
     r"\1: «\2» no es una opción; elija entre \3"),
    (re.compile(r"unrecognized arguments: (.+)"), r"no entendí estos argumentos: \1"),
    (re.compile(r"argument (\S+): expected one argument"), r"\1: falta su valor"),
    (re.compile(r"argument (\S+): (.+)"), r"\1: \2"),
)


class _Formatter(argparse.HelpFormatter):
    """Help text with a Spanish «uso:» line."""

    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup],
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors are in Spanish."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "argumentos"
        self._optionals.title = "opciones"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help=HELP_HELP)

    def error(self, message: str) -> NoReturn:
        """Print the usage and the error in Spanish, then exit with status 2."""
        for pattern, spanish in _ARGPARSE_ES:
            if pattern.search(message):
                message = pattern.sub(spanish, message)
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _limit(text: str) -> int:
    """Parse `--limite`: a whole number ≥ 0 (0 means every entry)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» no es un número entero") from None
    if value < 0:
        raise argparse.ArgumentTypeError("debe ser 0 (todas) o un número positivo")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cabildo", description="Cabildo: rendición de cuentas y diálogo ciudadano en Telegram."
    )
    sub = parser.add_subparsers(dest="command", required=True, title="comandos",
                                metavar="COMANDO", parser_class=_Parser,
                                help="uno de estos (cabildo COMANDO -h explica cada uno):")
    run_help = "ejecutar el bot (sin token abre el chat local)"
    sub.add_parser("run", help=run_help, description=run_help.capitalize() + ".")
    chat_help = "conversar con el bot en la terminal, sin Telegram"
    chat = sub.add_parser("chat", help=chat_help, description=chat_help.capitalize() + ".")
    chat.add_argument("--user-id", type=int, default=1, help="id de Telegram simulado (1)")
    chat.add_argument("--name", default="Ana", help="nombre de la persona simulada (Ana)")
    db = sub.add_parser("db", help="esquema de la base de datos",
                        description="Crear, actualizar, consultar o copiar la base de datos.")
    db_sub = db.add_subparsers(dest="db_command", required=True, title="comandos",
                               metavar="COMANDO", parser_class=_Parser, help="uno de estos:")
    up = db_sub.add_parser("upgrade", help="crear o actualizar las tablas",
                           description="Crear o actualizar las tablas.")
    up.add_argument("revision", nargs="?", default="head", metavar="revisión",
                    help="revisión de destino (por omisión, head: la más reciente)")
    down = db_sub.add_parser("downgrade", help="volver a una versión anterior",
                             description="Volver a una versión anterior del esquema.")
    down.add_argument("revision", metavar="revisión",
                      help="revisión de destino, por ejemplo 0002, o base (sin tablas)")
    db_sub.add_parser("current", help="mostrar la versión actual",
                      description="Mostrar la versión actual del esquema.")
    backup = db_sub.add_parser(
        "backup", help="copia de seguridad de la base SQLite (se puede hacer con el bot en marcha)",
        description="Copia de seguridad de la base SQLite (se puede hacer con el bot en marcha).",
    )
    backup.add_argument(
        "destino", nargs="?",
        help="archivo o carpeta (por omisión, <base>-AAAAMMDD-HHMMSS.db en la carpeta actual)",
    )
    imp = sub.add_parser("import", aliases=["importar"], help="cargar datos desde un CSV o XLSX",
                         description="Cargar datos desde un CSV, XLSX, YAML o JSON: todo o nada.")
    imp.add_argument("kind", metavar="tipo", help=KINDS_HELP)
    imp.add_argument("path", metavar="archivo",
                     help="ruta del archivo (hasta MAX_UPLOAD_MB, como por Telegram)")
    imp.add_argument("more", nargs="*", metavar="otro_archivo",
                     help="los demás archivos de un informe que viene en varios: cuipo "
                          "(programación y ejecución), plan_indicativo (plan y seguimiento)")
    imp.add_argument("--omitir-filas-con-error", action="store_true", dest="skip_bad_rows",
                     help="importar las filas buenas y dejar las que tienen errores en "
                          "<archivo>-filas-con-error.csv, para corregirlas e importarlas después")
    sync_help = "traer los datos de una fuente publicada (datos.gov.co) e importarlos"
    sync = sub.add_parser("sincronizar", help=sync_help,
                          description=sync_help.capitalize() + ": todo o nada, y dice qué "
                          "cambió. Configure DATOS_GOV_URL, DATOS_GOV_APP_TOKEN y "
                          "DATOS_GOV_TIMEOUT en .env.")
    sync.add_argument("source", metavar="fuente", help="la fuente: secop (SECOP II)")
    sync.add_argument("--nit", help="NIT de la entidad, sin puntos ni dígito de verificación "
                                    "(por omisión, SECOP_NIT)")
    sync.add_argument("--omitir-filas-con-error", action="store_true", dest="skip_bad_rows",
                      help="importar las filas buenas y decir cuáles de la fuente tienen errores")
    rol = sub.add_parser("rol", help="dar un rol a una persona (como administrador)",
                         description="Dar un rol a una persona (como administrador).")
    rol.add_argument("telegram_id", type=int, metavar="id",
                     help="id numérico de Telegram de la persona")
    rol.add_argument("role", metavar="rol", help="ciudadano, lider, staff o admin")
    rol.add_argument("comuna", nargs="?",
                     help="comuna del líder, por número o nombre (4, Occidental)")
    audit = sub.add_parser("audit", help="ver el registro de acciones de funcionarios",
                           description="Ver el registro de acciones de funcionarios, "
                                       "las más recientes primero.")
    audit.add_argument("--limite", type=_limit, default=50,
                       help="cuántas entradas (50; 0 = todas)")
    web = sub.add_parser("web", help="servir solo el sitio web (mapa, transparencia, datos)",
                         description="Servir solo el sitio web (mapa, transparencia, datos).")
    web.add_argument("--host", help="dirección donde escuchar (WEB_HOST)")
    web.add_argument("--port", type=int, help="puerto (WEB_PORT; 0 = uno libre)")
    web.add_argument("--demo", action="store_true", help="cargar los datos de ejemplo si falta")
    estado_help = "ver si el bot envía, si las tareas programadas corren y a quién llega"
    sub.add_parser("estado", help=estado_help, description=estado_help.capitalize() + ".")
    demo = sub.add_parser("demo", help="cargar los datos de ejemplo en una base vacía",
                          description="Cargar los datos de ejemplo en una base vacía.")
    demo.add_argument("--if-empty", action="store_true", help="no fallar si ya hay datos")
    return parser

