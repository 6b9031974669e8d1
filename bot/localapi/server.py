"""The transports to a LocalBotAPI: in-process for PTB (`LocalRequest`), and real HTTP on
127.0.0.1 (`LocalBotAPIServer`)."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import json
from email.parser import HeaderParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.localapi.calls import SimulatedConnectError, SimulatedTimeout, decode_params
from bot.localapi.methods import LocalBotAPI
from web.serving import serving


class LocalRequest(BaseRequest):
    """A PTB request class that answers from a LocalBotAPI in-process: no network at all."""

    def __init__(self, api: LocalBotAPI) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        """Return the default read timeout (none is needed in-process)."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Route the call to the in-memory API and return its status and JSON body."""
        path = urlsplit(url).path
        if "/file/bot" in path:
            file_path = path.split("/file/bot", 1)[1].split("/", 1)[1]
            content = self.api.file_by_path(file_path)
            return (200, content) if content is not None else (404, b"Not Found")
        token, api_method = path.rsplit("/bot", 1)[1].split("/", 1)
        params = decode_params(request_data.json_parameters if request_data else {})
        files: dict[str, tuple[str, bytes]] = {}
        if request_data is not None and request_data.contains_files:
            for name, (filename, part, *_) in request_data.multipart_data.items():
                data = part if isinstance(part, bytes) else part.read()
                files[name] = (filename or name, data)
        try:
            status, body = await self.api.handle(token, api_method, params, files)
        except SimulatedTimeout as exc:
            # As PTB's HTTPXRequest says it: the request was written, no answer came in time.
            raise TimedOut("Timed out (simulated)") from httpx.ReadTimeout(
                "simulated: accepted, answered late" if exc.accepted else "simulated"
            )
        except SimulatedConnectError:
            error = httpx.ConnectError("simulated: connection refused")
            raise NetworkError(f"httpx.ConnectError: {error}") from error
        return status, json.dumps(body).encode()


class LocalBotAPIServer:
    """The same LocalBotAPI over real HTTP on 127.0.0.1 (Starlette under uvicorn, in the
    running loop, as the site is served)."""

    def __init__(self, api: LocalBotAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        self.port = port
        self.url = ""
        self._serving: contextlib.AsyncExitStack | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> str:
        """Start serving and return the root URL, e.g. http://127.0.0.1:PORT."""
        app = Starlette(routes=[
            Route("/file/bot{token}/{path:path}", self._file),
            Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
        ])
        self._stopping.clear()
        async with contextlib.AsyncExitStack() as stack:
            # Idle connections are kept 75 s, as Telegram's servers (nginx) keep them: longer
            # than the bot's client keeps them (httpx, 5 s), so the server never closes one
            # just as the client sends on it. uvicorn's own 5 s matched the client's, and on
            # a starved machine a send then and there broke off unanswered (`incierto`).
            served = serving(app, self.host, self.port, quiet=True, timeout_keep_alive=75)
            sock = await stack.enter_async_context(served)
            self._serving = stack.pop_all()
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        return self.url

    async def stop(self) -> None:
        """Stop serving: end long polls and late answers, close open connections."""
        self.api.close()
        self._stopping.set()
        if self._serving is not None:
            await self._serving.aclose()
            self._serving = None

    async def __aenter__(self) -> LocalBotAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _method(self, request: Request) -> Response:
        """Answer one Bot API call, its parameters in JSON, a form or a multipart body."""
        token, method = request.path_params["token"], request.path_params["method"]
        params, files = await _parameters(request)
        try:
            status, body = await self.api.handle(token, method, params, files)
        except SimulatedTimeout as exc:
            if exc.accepted:
                await self._pause(self.api.slow_accept_delay)
                status, body = exc.status, exc.body
            else:
                await self._pause(self.api.timeout_delay)
                status = 504
                body = {"ok": False, "error_code": 504, "description": "Gateway Timeout"}
        except SimulatedConnectError:
            status = 503
            body = {"ok": False, "error_code": 503, "description": "Service Unavailable"}
        return Response(json.dumps(body), status, media_type="application/json")

    async def _file(self, request: Request) -> Response:
        """Send a file the bot uploaded, as Telegram's file server does."""
        content = self.api.file_by_path(request.path_params["path"])
        if content is None:
            return PlainTextResponse("Not Found", 404)
        return Response(content, media_type="application/octet-stream")

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` before a late answer, or less if the server stops meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()


async def _parameters(request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Return a call's parameters (decoded like Telegram decodes them) and its files."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json") and body:
        return json.loads(body), {}
    raw: dict[str, Any] = dict(request.query_params)
    files: dict[str, tuple[str, bytes]] = {}
    if content_type.startswith("multipart/form-data"):
        fields, files = _multipart(body, content_type)
        raw.update(fields)
    elif body:
        raw.update(parse_qsl(body.decode(), keep_blank_values=True))
    return decode_params(raw), files


def _multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Split a multipart/form-data body into its plain fields and its files."""
    parse = HeaderParser(policy=email.policy.HTTP).parsestr
    boundary = parse(f"Content-Type: {content_type}\r\n\r\n").get_param("boundary")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in body.split(b"--" + str(boundary).encode())[1:-1]:
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = parse(head.decode() + "\r\n\r\n")
        name = str(headers.get_param("name", header="content-disposition"))
        filename = headers.get_filename()
        if filename is None:
            fields[name] = content.decode()
        else:
            files[name] = (filename, content)
    return fields, files
