"""`cabildo sincronizar secop --nit N` and its daily run: read, import, alert, report.

Every dataset of the source is read from datos.gov.co first; only then are they imported,
all in one transaction (a dataset that fails to import leaves the others unstored too),
each written to the audit log as an import (so the weekly summary sees its changes); then
the watched changes are queued as follower alerts — one message per chat.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from bot.config import Settings
from bot.formatting import plural
from handlers.alerts import describe_changes, queue_change_alerts
from storage.audit import add_entry
from storage.db import Database
from storage.importers import ImportFailed, ImportResult
from storage.importers.kinds import data_kind
from storage.socrata import SocrataClient
from storage.sync import Source, Synced, fetch, import_fetched, source_named

NOT_IMPORTED = (
    "El conjunto {dataset} no se pudo importar. Los conjuntos de {source} se importan todos "
    "juntos o ninguno: no se guardó nada de ninguno de ellos."
)
MAX_LISTED = 30  # changed items a report lists one by one
MAX_NEW_LISTED = 10
NOTHING_FOUND = (
    "datos.gov.co no tiene filas de {source} para el NIT {nit} con ese filtro ({datasets}). "
    "Revise el NIT: va sin puntos ni dígito de verificación, como 890201222."
)


@dataclass
class SyncReport:
    """What a sync did, per dataset, and how many alerts it queued."""

    source: Source
    nit: str
    synced: list[Synced] = field(default_factory=list)
    alerts: int = 0

    @property
    def changed(self) -> int:
        """Return how many items were created or changed."""
        return sum(s.result.created + s.result.updated for s in self.synced if s.result)

    def text(self, locale: str) -> str:
        """Write the report in Spanish, as plain text: counts, then each change."""
        lines = [f"Sincronización con {self.source.name} (NIT {self.nit}), datos.gov.co:"]
        for synced in self.synced:
            lines += _dataset_lines(synced, locale)
        if self.alerts:
            lines.append(f"{plural(self.alerts, 'alerta', 'alertas')} de cambios en cola "
                         "para quienes siguen estas obras (las envía el bot en marcha).")
        elif not self.changed:
            lines.append("No hubo cambios: no se envía ninguna alerta.")
        return "\n".join(lines)


def _dataset_lines(synced: Synced, locale: str) -> list[str]:
    dataset, result = synced.dataset, synced.result
    read = (f"{dataset.dataset}: {plural(synced.rows, 'fila leída', 'filas leídas')} en "
            f"{plural(synced.pages, 'página', 'páginas')}")
    if result is None:
        return [f"{read}; no hay nada que importar."]
    table = data_kind(dataset.kind)
    lines = [
        f"{read} → {table}: {result.created} {'nueva' if result.created == 1 else 'nuevas'}, "
        f"{result.updated} con cambios, {result.unchanged} sin cambios."
    ]
    per_item: dict[str, list[tuple[str, object, object]]] = {}
    for change in result.changes:
        per_item.setdefault(change.key, []).append((change.field, change.old, change.new))
    if per_item:
        lines.append("Cambios:")
        for key, changes in list(per_item.items())[:MAX_LISTED]:
            lines.append(f"• {_named(key, synced)}: "
                         f"{html.unescape(describe_changes(changes, locale))}")
        if len(per_item) > MAX_LISTED:
            lines.append(f"• … y {len(per_item) - MAX_LISTED} más (todas en «cabildo audit»).")
    if result.created_keys:
        lines.append("Nuevas:")
        lines += [f"• {_named(k, synced)}" for k in result.created_keys[:MAX_NEW_LISTED]]
        if len(result.created_keys) > MAX_NEW_LISTED:
            lines.append(f"• … y {len(result.created_keys) - MAX_NEW_LISTED} más.")
    lines += [f"Aviso: {warning}" for warning in result.warnings]
    if result.skipped:
        lines.append(f"Filas de la fuente con errores, que no se importaron "
                     f"({len(result.skipped.rows)}):")
        lines += [f"  {error}" for error in result.skipped.errors[:20]]
    return lines


def _named(key: str, synced: Synced) -> str:
    name = synced.names.get(key)
    if not name:
        return key
    short = name if len(name) <= 70 else name[:69] + "…"
    return f"{key} «{short}»"


def client_for(settings: Settings) -> SocrataClient:
    """Return the datos.gov.co client the settings describe."""
    return SocrataClient(settings.datos_gov_url, app_token=settings.datos_gov_app_token,
                         timeout=settings.datos_gov_timeout)


async def run_sync(
    db: Database, settings: Settings, source_key: str, nit: str, *,
    client: SocrataClient | None = None, skip_bad_rows: bool = False, actor_id: int | None = None,
) -> SyncReport:
    """Sync `source_key` for the entity `nit`; raise ImportFailed (in Spanish) on failure.

    Nothing is imported unless every dataset was read whole; then every dataset is
    imported, each recorded in the audit log, in one transaction: if one fails, none is
    stored (the error names it). Only then are the changes queued as alerts.
    """
    source = source_named(source_key)
    fetched = await fetch(client or client_for(settings), source, nit)
    if not any(f.rows for f in fetched):
        raise ImportFailed(NOTHING_FOUND.format(
            source=source.name, nit=nit, datasets=", ".join(d.dataset for d in source.datasets)))
    report = SyncReport(source, nit)
    imported: list[tuple[ImportResult, int]] = []  # each import and its audit entry
    async with db.session() as session:
        # One transaction for every dataset: a failure in any stores none of them.
        for dataset, rows in zip(source.datasets, fetched, strict=True):
            try:
                synced = await import_fetched(session, dataset, rows, tz=settings.tz,
                                              skip_bad_rows=skip_bad_rows)
            except ImportFailed as exc:
                await session.rollback()
                raise exc.led_by(NOT_IMPORTED.format(
                    dataset=dataset.dataset, source=source.name)) from None
            report.synced.append(synced)
            if synced.result is None:
                continue
            detail = synced.result.audit_detail(f"datos.gov.co {dataset.dataset}")
            detail["sincronizacion"] = {"fuente": source.key, "nit": nit, "filas": synced.rows,
                                        "paginas": synced.pages}
            entry = add_entry(session, actor_id=actor_id, action="importar", detail=detail)
            await session.flush()
            imported.append((synced.result, entry.id or 0))
        await session.commit()
    for result, entry_id in imported:
        report.alerts += await queue_change_alerts(
            db, settings, result, import_ref=f"auditoria-{entry_id}"
        )
    return report
