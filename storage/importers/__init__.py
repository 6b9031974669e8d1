"""Load CSV/XLSX files of plan goals, budget, works, events, contracting, reports, comunas
and the accountability plan into the database.

An import is all-or-nothing: every row is parsed and checked first (synchronously, without
the database: `parse_table`), and only a file without errors is upserted by key in one
transaction. Numbers follow one documented rule for `.` and `,` (see
`storage.importers.numbers`); dates are `YYYY-MM-DD` or `DD/MM/YYYY`; event times are local
to the installation's time zone and stored in UTC.
"""

from storage.importers.core import Change, ImportResult, store
from storage.importers.errors import ImportFailed, RowError
from storage.importers.files import import_bytes, import_file, import_files
from storage.importers.kinds import KINDS, ColumnSpec, KindSpec
from storage.importers.parsing import (
    ALL_KINDS,
    ParsedRow,
    ParsedTable,
    parse_table,
    raise_for_errors,
    resolve_comunas,
)
from storage.importers.reading import read_table

__all__ = [
    "ALL_KINDS",
    "KINDS",
    "Change",
    "ColumnSpec",
    "ImportFailed",
    "ImportResult",
    "KindSpec",
    "ParsedRow",
    "ParsedTable",
    "RowError",
    "import_bytes",
    "import_file",
    "import_files",
    "parse_table",
    "raise_for_errors",
    "read_table",
    "resolve_comunas",
    "store",
]
