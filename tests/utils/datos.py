"""A stand-in for datos.gov.co's resource API over real HTTP on 127.0.0.1 (Starlette, in loop).

It serves recorded rows of a dataset the way Socrata pages them — `$order` by one or
several fields or by the row id `:id`, `$limit`/`$offset` — and, when told, answers the
next requests with faults first: a 429 with `Retry-After`, a 503, a page cut in half.
Every request is recorded (path, SoQL parameters, headers) so tests can check what Cabildo
asked for. `recorded` reads a recorded answer of the fixtures (SECOP II's jbjy-vk9h
contracts, p6dx-8zbt processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from web.serving import serving


@dataclass(frozen=True)
class Fault:
    """One scripted answer given instead of a page: a status, headers and a raw body."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a source that hangs)


TOO_MANY = Fault(429, b'{"message": "Too many requests"}', {"Retry-After": "0"})
UNAVAILABLE = Fault(503, b"<html>Service Unavailable</html>")
CUT_PAGE = Fault(200, b'[{"id_contrato": "CO1.PCCNTR.4913416", "objeto_del_con',
                 {"Content-Type": "application/json"})


def recorded(name: str) -> list[dict[str, Any]]:
    """Return the rows of a recorded API answer under tests/storage/fixtures (JSON)."""
    path = Path(__file__).parents[1] / "storage" / "fixtures" / name
    rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return rows


@dataclass
class Request:
    """One request the server received."""

    path: str
    params: dict[str, str]
    headers: Mapping[str, str]  # names in any case, as HTTP's are


class FakeDatosGov:
    """Recorded datasets served as the Socrata resource API serves them."""

    def __init__(self) -> None:
        self.datasets: dict[str, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []  # given, in order, before any normal answer
        self.fault_on_offset: dict[int, Fault] = {}  # given once when that offset is asked
        self.requests: list[Request] = []
        self.url = ""
        self._serving = contextlib.AsyncExitStack()

    def answer(self, path: str, params: dict[str, str]) -> Fault:
        """Return the answer to one request: a scripted fault, or the page asked for."""
        if self.faults:
            return self.faults.pop(0)
        offset = int(params.get("$offset", "0"))
        if offset in self.fault_on_offset:
            return self.fault_on_offset.pop(offset)
        dataset = path.removeprefix("/resource/").removesuffix(".json")
        if dataset not in self.datasets:
            return Fault(404, b'{"message": "Not found"}')
        rows = self.datasets[dataset]
        # `$order` is one field or several («a, b DESC»); `:id` is the row's own id, here
        # its place in the recorded list. Sorting by the last field first keeps it stable.
        row_id = {id(r): n for n, r in enumerate(rows)}
        for part in reversed([p.split() for p in params.get("$order", "").split(",") if p]):
            name, descending = part[0], part[-1].upper() == "DESC"

            def key(row: dict[str, Any], name: str = name) -> str:
                return f"{row_id[id(row)]:08d}" if name == ":id" else str(row.get(name, ""))

            rows = sorted(rows, reverse=descending, key=key)
        limit = int(params.get("$limit", "1000"))
        page = rows[offset : offset + limit]
        if params.get("$select"):
            wanted = params["$select"].split(",")
            page = [{k: v for k, v in r.items() if k in wanted} for r in page]
        return Fault(200, json.dumps(page).encode(), {"Content-Type": "application/json"})

    async def __aenter__(self) -> FakeDatosGov:
        app = Starlette(routes=[Route("/resource/{dataset}.json", self._resource)])
        async with contextlib.AsyncExitStack() as stack:
            sock = await stack.enter_async_context(serving(app, "127.0.0.1", 0, quiet=True))
            self._serving = stack.pop_all()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._serving.aclose()

    async def _resource(self, request: StarletteRequest) -> Response:
        """Record one request and give its answer."""
        if not re.fullmatch(r"[a-z0-9-]+", request.path_params["dataset"]):
            return PlainTextResponse("Not Found", 404)
        params = {k: v.strip() for k, v in request.query_params.items()}
        self.requests.append(Request(request.url.path, params, request.headers))
        reply = self.answer(request.url.path, params)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return Response(reply.body, reply.status, reply.headers)


@contextmanager
def serving_in_thread(fake: FakeDatosGov) -> Iterator[FakeDatosGov]:
    """Serve `fake` from a thread of its own, for code that runs its own event loop (the CLI)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.__aenter__())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.__aexit__(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
