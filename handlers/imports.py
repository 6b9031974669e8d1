"""`/importar <tipo>` with a CSV or XLSX attached: staff load data from their phone."""

from __future__ import annotations

import io
from html import escape

from telegram import InputFile, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import CabildoContext
from bot.formatting import plural
from handlers.alerts import queue_change_alerts
from storage.audit import add_entry
from storage.importers import ALL_KINDS, ImportFailed, import_bytes

USAGE = (
    "Para cargar datos, envíe el archivo (CSV o XLSX; una encuesta en JSON o YAML) como "
    "documento y escriba en el comentario: <code>/importar &lt;tipo&gt;</code>\nTipos: {kinds}."
    "\nCUIPO y el plan indicativo vienen en dos archivos: envíe un solo libro XLSX con los "
    "dos, cada uno en su hoja."
)
TOO_BIG = "El archivo pesa {size} MB; el límite es {limit} MB. No se importó nada."
FAILED = "❌ No se importó nada.\n{error}"
SKIP_HINT = (
    "\n\nPara importar solo las filas buenas, envíe el archivo otra vez con el comentario "
    "<code>/importar {kind} omitir</code>: le devuelvo las filas con errores en un archivo "
    "para corregirlas y enviarlas de nuevo."
)
DONE = "✅ Importación completa: {summary}"
SKIPPED = (
    "Estas son las filas que no se importaron, con sus errores en la columna «error». "
    "Corríjalas y envíe este archivo con <code>/importar {kind}</code>."
)
SKIP_WORDS = ("omitir", "--omitir-filas-con-error")
WARNING = "⚠️ {warning}"
ALERTS = "🔔 {alerts} en cola para quienes siguen estos datos."
CAPTION_COMMAND = r"(?i)^/importar(@\w+)?(\s|$)"  # /Importar on a phone's keyboard too


def import_usage() -> str:
    """Return how to import: the caption to write and the kinds."""
    return USAGE.format(kinds=", ".join(ALL_KINDS))


async def import_command(update: Update, context: CabildoContext) -> None:
    """Explain how to attach a file when `/importar` comes without one."""
    if update.effective_message:
        await update.effective_message.reply_text(import_usage())


async def import_document(update: Update, context: CabildoContext) -> None:
    """Import the attached file into the kind named in its caption, all-or-nothing."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.document is None:
        return
    words = (message.caption or "").split()
    if len(words) < 2:
        await message.reply_text(import_usage())
        return
    kind = words[1].lower()
    skip_bad_rows = any(word.lower() in SKIP_WORDS for word in words[2:])
    document = message.document
    limit = context.settings.max_upload_mb
    if document.file_size and document.file_size > limit * 1024 * 1024:
        size = f"{document.file_size / 1024 / 1024:.1f}".replace(".", ",")
        await message.reply_text(TOO_BIG.format(size=size, limit=limit))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    if len(data) > limit * 1024 * 1024:
        await message.reply_text(TOO_BIG.format(size=len(data) // 1024 // 1024, limit=limit))
        return
    filename = document.file_name or "archivo"
    try:
        async with context.db.session() as session:
            result = await import_bytes(session, kind, data, filename, tz=context.settings.tz,
                                        skip_bad_rows=skip_bad_rows)
            entry = add_entry(
                session,
                actor_id=user.id,
                action="importar",
                detail=result.audit_detail(filename),
            )
            await session.commit()
        alerts = await queue_change_alerts(
            context.db, context.settings, result, import_ref=f"auditoria-{entry.id}"
        )
    except ImportFailed as exc:
        hint = SKIP_HINT.format(kind=escape(kind)) if exc.rows_only and not skip_bad_rows else ""
        text = FAILED.format(error=escape(str(exc)))
        await message.reply_text(text[: 4000 - len(hint)] + hint)
        return
    lines = [DONE.format(summary=escape(result.summary()))]
    if alerts:
        lines.append(ALERTS.format(
            alerts=plural(alerts, "alerta de cambios", "alertas de cambios")))
    lines += [WARNING.format(warning=escape(w)) for w in result.warnings[:10]]
    await message.reply_text("\n".join(lines))
    if result.skipped:
        stem = filename.rsplit(".", 1)[0] or "archivo"
        await message.reply_document(
            InputFile(io.BytesIO(result.skipped.csv), filename=f"{stem}-filas-con-error.csv"),
            caption=SKIPPED.format(kind=escape(kind)),
        )


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    MessageHandler(filters.Document.ALL & filters.CaptionRegex(CAPTION_COMMAND), import_document),
]
