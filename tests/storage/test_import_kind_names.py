"""The kind named for an import: unknown kinds are listed, near misses suggested."""

from __future__ import annotations

import pytest

from storage.db import Database
from storage.importers import KINDS, ImportFailed, files, import_bytes
from storage.importers.other import BUNDLE_KINDS, OTHER_KINDS
from tests.storage.helpers import TZ
from tests.storage.importer_support import expect_failure


async def test_unknown_kind_lists_the_kinds(db: Database) -> None:
    failure = await expect_failure(db, "proyectos", b"a,b\n1,2\n", "x.csv")
    assert str(failure) == (
        "No conozco el tipo «proyectos». Los tipos son: metas, presupuesto, obras, eventos, "
        "contratacion, informes, comunas, plan, ubicaciones, secop_contratos, secop_procesos, "
        "secop_ejecucion, cuipo, plan_indicativo, encuesta, presupuesto_participativo."
    )
    assert set(KINDS) == {
        "metas", "presupuesto", "obras", "eventos", "contratacion", "informes", "comunas", "plan",
        "ubicaciones",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("written", "meant"),
    [("secop_proceso", "secop_procesos"), ("secop ejecución", None), ("cuipos", "cuipo"),
     ("plan_indicatvo", "plan_indicativo"), ("ubicacion", "ubicaciones")],
)
async def test_the_source_kinds_are_suggested_too(
    db: Database, written: str, meant: str | None
) -> None:
    if meant is None:  # spelt with a space and an accent: it is the kind itself
        async with db.session() as session:
            with pytest.raises(ImportFailed) as caught:
                await import_bytes(session, written, b"a,b\n1,2\n", "x.csv", tz=TZ)
        assert "faltan las columnas obligatorias «identificadorcontrato»" in str(caught.value)
        return
    failure = await expect_failure(db, written, b"a,b\n1,2\n", "x.csv")
    assert str(failure).startswith(f"No conozco el tipo «{written}». ¿Quiso decir «{meant}»?")


async def test_a_kind_written_almost_right_is_suggested(db: Database) -> None:
    failure = await expect_failure(db, "obra", b"a,b\n1,2\n", "x.csv")
    assert str(failure).startswith("No conozco el tipo «obra». ¿Quiso decir «obras»? Los tipos")

def test_every_kind_named_apart_has_its_importer() -> None:
    """The names the list of kinds shows are the ones `import_bytes` can pick an importer by."""
    assert tuple(files.OTHER) == OTHER_KINDS
    assert tuple(files.BUNDLES) == BUNDLE_KINDS
