"""Sending chart images: each distinct PNG is uploaded once, then sent again by its file_id.

The budget chart is the same picture for everyone until the next import; uploading it for
every person would send the same bytes to Telegram again and again. Telegram gives every
uploaded photo a `file_id` that can be sent to anyone, so this process remembers the ids of
the last pictures it uploaded (by the PNG's hash). Should Telegram not know an id any more,
the picture is uploaded again.
"""

from __future__ import annotations

import hashlib

from telegram.error import BadRequest

from bot.context import CabildoContext

REMEMBERED = 64


async def send_png(context: CabildoContext, chat_id: int, png: bytes, *, caption: str) -> None:
    """Send a PNG to a chat, reusing Telegram's copy when this picture was sent before."""
    known = context.bot_data.uploaded_photos
    key = hashlib.sha256(png).hexdigest()
    file_id = known.get(key)
    if file_id is not None:
        try:
            await context.bot.send_photo(chat_id, photo=file_id, caption=caption)
        except BadRequest:
            known.pop(key, None)  # Telegram no longer has it (or it was never valid): upload
        else:
            known.move_to_end(key)
            return
    message = await context.bot.send_photo(chat_id, photo=png, caption=caption)
    if message.photo:
        known[key] = message.photo[-1].file_id
        while len(known) > REMEMBERED:
            known.popitem(last=False)
