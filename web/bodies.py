"""Bounded request bodies: refuse by Content-Length, read the rest in chunks with a cap.

Starlette's `request.body()` reads everything the client sends before any check, so one
POST of hundreds of megabytes would sit in memory. `read_capped` refuses a declared length
over the cap before reading a byte, and otherwise stops pulling from the stream as soon as
the bytes read pass the cap.
"""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    """The body is (or says it is) larger than allowed: answer 413."""


class BadLength(Exception):
    """The Content-Length header is not a number: answer 400."""


async def read_capped(request: Request, limit: int) -> bytes:
    """Return the request's body, or raise BodyTooLarge once it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BadLength(declared) from None
        if length < 0:
            raise BadLength(declared)
        if length > limit:
            raise BodyTooLarge(length)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(len(body))
    return bytes(body)
