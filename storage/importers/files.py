"""The way in for every import: pick the importer of a kind and run it on the files.

One-table kinds go through `storage.importers.core`; the kinds named in
`storage.importers.other` have their own modules, mapped here by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.bulk import collector_paused
from storage.importers.core import ImportResult, import_table
from storage.importers.cuipo import import_cuipo
from storage.importers.errors import ImportFailed
from storage.importers.parsing import get_spec
from storage.importers.participatory import import_pb_bytes
from storage.importers.plan import import_plan
from storage.importers.surveys import import_survey_bytes

Importer = Callable[..., Awaitable[ImportResult]]
# Read from one file: (session, bytes, name, *, tz).
OTHER: dict[str, Importer] = {
    "encuesta": import_survey_bytes,
    "presupuesto_participativo": import_pb_bytes,
}
# Read from every file of the import together: (session, [(bytes, name)…], *, tz).
BUNDLES: dict[str, Importer] = {
    "cuipo": import_cuipo,
    "plan_indicativo": import_plan,
}


async def import_file(

    session: AsyncSession, kind: str, path: str | Path, *, tz: ZoneInfo,
    skip_bad_rows: bool = False,
) -> ImportResult:
    """Import a CSV or XLSX file from disk; see `import_bytes`."""
    path = Path(path)
    return await import_bytes(
        session, kind, path.read_bytes(), path.name, tz=tz, skip_bad_rows=skip_bad_rows
    )


async def import_files(
    session: AsyncSession, kind: str, paths: list[str | Path], *, tz: ZoneInfo,
    skip_bad_rows: bool = False,
) -> ImportResult:
    """Import one file, or the several files a published report comes in (`cuipo`)."""
    bundle = BUNDLES.get(kind.strip().lower())
    if bundle is not None:
        files = [(Path(p).read_bytes(), Path(p).name) for p in paths]
        return await bundle(session, files, tz=tz)
    if len(paths) != 1:
        if kind.strip().lower() not in OTHER:
            get_spec(kind)  # an unknown kind is said first, with the nearest and the list
        names = [f"«{name}»" for name in BUNDLES]
        kinds = ", ".join(names[:-1]) + " y " + names[-1] if len(names) > 1 else names[0]
        raise ImportFailed(f"El tipo «{kind}» se importa de un archivo a la vez; solo {kinds} "
                           "reciben varios.")
    return await import_file(session, kind, paths[0], tz=tz, skip_bad_rows=skip_bad_rows)


async def import_bytes(
    session: AsyncSession, kind: str, data: bytes, filename: str, *, tz: ZoneInfo,
    skip_bad_rows: bool = False,
) -> ImportResult:
    """Import a whole file of `kind`, or change nothing and raise `ImportFailed`.

    With `skip_bad_rows`, the rows with errors are left out instead (`result.skipped`
    holds them, with a CSV to fix and import again) and the good ones are imported; a
    problem of the file itself (a missing column) still changes nothing. The caller
    commits, so several files of one-table kinds can go in one transaction (a sync's
    datasets); a failure rolls back the whole session.
    """
    other = OTHER.get(kind.strip().lower())
    bundle = BUNDLES.get(kind.strip().lower())
    with collector_paused():  # every kind, bundles and the other formats too (storage.bulk)
        if other is not None:
            result = await other(session, data, filename, tz=tz)
        elif bundle is not None:
            result = await bundle(session, [(data, filename)], tz=tz)
        else:
            result = await import_table(session, kind, data, filename, tz=tz,
                                        skip_bad_rows=skip_bad_rows)
    await asyncio.sleep(0)  # the collector's pass due after the pause, and the caller's next
    # step (freeing a big result), in separate turns of the loop
    return result
