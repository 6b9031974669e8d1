"""The kinds whose files are not one table of rows, by name.

Each is read whole, checked and stored all-or-nothing by its own module;
`storage.importers.files` picks that module by these names, and the list of kinds
(`storage.importers.parsing.ALL_KINDS`) names them too.
"""

OTHER_KINDS = (
    "encuesta",  # JSON or YAML survey definition (`storage.importers.surveys`)
    "presupuesto_participativo",  # CSV/XLSX: projects per comuna and budget (`.participatory`)
)
# Published reports that come in several files (or sheets of one workbook) read together:
# each gets every file of the import, [(bytes, name)…].
BUNDLE_KINDS = (
    "cuipo",  # CHIP: C_PROGRAMACION_DE_GASTOS + D_EJECUCION_DE_GASTOS
    "plan_indicativo",  # DNP's planning kit + the follow-up sheet
)
