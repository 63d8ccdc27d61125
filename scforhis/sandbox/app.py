"""The sandbox server: a Starlette application that behaves like ScForHisWebApi, served by uvicorn.

One route per operation of the spec (`sandbox_routes.ENDPOINTS`: method and path), matched
ignoring case and a trailing slash as ASP.NET does. The route reads the request (query string, or
a JSON body checked for content type, size, encoding and syntax), runs `Sandbox.handle()` in the
thread pool (it blocks on SQLite), and writes the answer in the service's format: a JSON object
`{"msG_CODE": "Y"|"N", "msG_INFO": "..."}` (plus `tokenid` for GetTokenID), or plain text for
GetSCDataB. Bad input (malformed JSON, a wrong content type, a body over the limit, a wrong
method or path) gets the same format with a readable zh-TW message and a 4xx status; nothing
answers with a stack trace.

Fault injection (`SandboxConfig.faults`, off by default): added latency before every answer, a
share of requests answered 503 before any work, and a share of stored Saves whose connection is
closed before the answer is sent, so that the client cannot tell whether the visit was stored.

Text that UTF-8 cannot encode (a lone surrogate, `"\ud800"` in the JSON, in a name or a value)
is refused with 400 before any other check, as the service's JSON reader refuses it; nothing
is stored.

Careless clients (`sandbox_guard`, `SandboxConfig.limits`): at most `max_connections` open at
once (the longest-idle one is closed for a newcomer, or the newcomer answered 503), a request's
line and headers within `header_timeout`, its body within `body_timeout` (else 408), idle
keep-alive connections closed after `keep_alive`; the same warning or error is logged a few
times a minute at most, then counted.

Logging (`logging.getLogger("scforhis.sandbox")`): one line per request with the operation,
the status sent, MSG_CODE, time and a masked patient ID; never an account, password, token or
query string. uvicorn's own access log is off, since it would show query strings (GetTokenID's
holds the password).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Self

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from scforhis._generated.routes import ENDPOINTS
from scforhis.validation.dates import taiwan_today
from scforhis.validation.text import echo, holds_surrogate, surrogate_at

from .guard import ACCEPT_BURST, guarded_protocol, limit_repeats
from .service import Answer, Endpoint, Sandbox
from .settings import Limits, SandboxConfig
from .store import Store

log = logging.getLogger("scforhis.sandbox")

# Media types ASP.NET reads as JSON (and any `+json`); the body must be UTF-8.
_JSON_TYPES = frozenset({"application/json", "text/json"})
_UTF8 = frozenset({"utf-8", "utf8"})
# How much of a body over the limit is still read (and thrown away) so that the client, still
# sending, gets the answer instead of a reset connection.
_DRAIN_BYTES = 1024 * 1024
_JSON_KINDS = {
    dict: ("物件", "an object"),
    list: ("陣列", "an array"),
    str: ("字串", "a string"),
    int: ("數字", "a number"),
    float: ("數字", "a number"),
    bool: ("布林值", "a boolean"),
    type(None): ("null", "null"),
}


class BadRequest(Exception):
    """A request the sandbox cannot read: answered with `status` and a readable message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _DroppedResponse(Response):
    """Fault injection: the status line and headers go out, then the connection closes.

    The server closes a connection whose answer the application left incomplete, which is what
    a client sees when a gateway or network drops it mid-answer.
    """

    def __init__(self) -> None:
        super().__init__(b"", status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})


class _PathsIgnoringCase:
    """ASGI middleware: `/save`, `/SAVE` and `/Save/` reach the route `/Save`, as in ASP.NET."""

    def __init__(self, app: ASGIApp, paths: Iterable[str]) -> None:
        self.app = app
        self.paths = {path.lower(): path for path in paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            canonical = self.paths.get(path.rstrip("/").lower()) if len(path) > 1 else None
            if canonical is not None and canonical != path:
                scope = {**scope, "path": canonical, "raw_path": canonical.encode()}
        await self.app(scope, receive, send)


def _json_kind(value: object) -> tuple[str, str]:
    return _JSON_KINDS.get(type(value), ("其他", "something else"))


def _bound_names(endpoint: Endpoint) -> dict[str, str]:
    """The names the service binds for `endpoint`, lower-cased, to their wire names."""
    return {wire.lower(): wire for wire in endpoint.operation.aliases.values()}


def _check_bindable(wires: Mapping[str, str], data: dict[str, object]) -> None:
    """Refuse, as the service does, a field it binds whose JSON value is not a string.

    Every field of the API is a string property, and System.Text.Json cannot bind a number, a
    boolean, an array or an object to one: the service answers 400 before any of its own checks
    (domain-facts.md, wire names). null binds (as a missing value); unknown names are ignored.
    `wires` is the endpoint's `_bound_names`.
    """
    for name, value in data.items():
        if value is None or isinstance(value, str):
            continue
        wire = wires.get(name.lower())
        if wire is not None:
            kind, kind_en = _json_kind(value)
            raise BadRequest(
                400,
                f'欄位「{wire}」須為 JSON 字串（收到{kind}），數字也要加引號，例如 "1"'
                f"（the service cannot bind {kind_en} to the string field {wire}: "
                f'quote it, as in "1"）',
            )


def _shown(text: str, limit: int = 60) -> str:
    return echo(text, limit)


def _check_encodable(data: Mapping[str, object]) -> None:
    """Refuse, as the service does, text that UTF-8 cannot encode: a lone surrogate (`"\ud800"`
    in the JSON) in any name or value, nested ones too. System.Text.Json refuses to read such
    a string, so model binding fails with 400 before the action runs (spec: api.text_encoding)."""
    if not holds_surrogate(data):  # one walk over the whole request: the common case
        return
    for name, value in data.items():
        if surrogate_at(name) >= 0 or holds_surrogate(value):
            shown = _shown(name)
            raise BadRequest(
                400,
                f"欄位「{shown}」含無法以 UTF-8 編碼的字元（單獨的代理字元 U+D800–U+DFFF），"
                f"服務無法讀取（the field {shown!r} holds a lone surrogate, which UTF-8 cannot "
                "encode: the service cannot read it）",
            )


class SandboxApp:
    """The sandbox's Starlette application (`.app`) over the database at `db`.

    `clock` (Unix seconds) and `today` are injectable for tests; `endpoints` defaults to the
    spec's operations. With `bare_route`, `POST /_bare/Save` answers like a successful Save after
    reading and parsing the body but without validating or storing it: the benchmark's baseline
    for what routing alone costs. Call `close()` when done, or let the application's shutdown do it.
    """

    def __init__(
        self,
        config: SandboxConfig,
        db: str | Path,
        *,
        endpoints: Sequence[Endpoint] = ENDPOINTS,
        clock: Callable[[], float] = time.time,
        today: Callable[[], date] = taiwan_today,
        bare_route: bool = False,
    ) -> None:
        self.config = config
        self.store = Store(db)
        self.sandbox = Sandbox(config, self.store, clock=clock, today=today)
        self.endpoints = tuple(endpoints)
        self.faults = config.faults
        # Used only on the event loop's thread, so no lock is needed.
        self.random = random.Random(config.faults.seed)
        paths = ["/" + e.operation.path for e in self.endpoints]
        self._by_path = {"/" + e.operation.path: e for e in self.endpoints}
        self._bound = {e.operation.name: _bound_names(e) for e in self.endpoints}
        # Answers that belong to no operation (an unknown path) use the first JSON operation's format.
        self._fallback = next(e for e in self.endpoints if e.kind == "json")
        routes = [self._route(e) for e in self.endpoints]
        if bare_route:
            routes.append(self._bare_route(self._by_path.get("/Save", self._fallback)))
        self.app = Starlette(
            routes=routes,
            middleware=[Middleware(_PathsIgnoringCase, paths=paths)],
            exception_handlers={
                404: self._not_found,
                405: self._not_allowed,
                HTTPException: self._http_error,
                Exception: self._server_error,
            },
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        self.close()

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    # -- answers ----------------------------------------------------------------------------

    def render(self, endpoint: Endpoint, answer: Answer) -> Response:
        """An answer in the operation's format: a JSON object, or plain text."""
        if endpoint.kind == "text":
            return PlainTextResponse(answer.message, status_code=answer.status)
        assert endpoint.code is not None and endpoint.info is not None
        code = endpoint.success_code if answer.ok else endpoint.failure_code
        body: dict[str, object] = {endpoint.code: code, endpoint.info: answer.message}
        if answer.token is not None and endpoint.token is not None:
            body[endpoint.token] = answer.token
        return Response(
            json.dumps(body, ensure_ascii=False),
            status_code=answer.status,
            media_type="application/json; charset=utf-8",
        )

    def _log(self, name: str, answer: Answer, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        level = logging.INFO if answer.status < 500 else logging.WARNING
        log.log(
            level,
            "%s status=%d MSG_CODE=%s elapsed=%.1fms%s",
            name,
            answer.status,
            "Y" if answer.ok else "N",
            elapsed,
            f" {answer.note}" if answer.note else "",
        )

    # -- requests ---------------------------------------------------------------------------

    def _route(self, endpoint: Endpoint) -> Route:
        async def serve(request: Request) -> Response:
            return await self._serve(endpoint, request)

        operation = endpoint.operation
        return Route("/" + operation.path, serve, methods=[operation.method], name=operation.name)

    def _bare_route(self, endpoint: Endpoint) -> Route:
        """The same path through Starlette, the body reader and the answer's format as
        `endpoint`, with no validation and no storage."""

        async def serve(request: Request) -> Response:
            started = time.perf_counter()
            try:
                await self._payload(endpoint, request)
                answer = Answer(True, endpoint.success_message)
            except BadRequest as problem:
                answer = Answer(False, problem.message, status=problem.status)
            self._log("bare", answer, started)
            return self.render(endpoint, answer)

        return Route("/_bare/" + endpoint.operation.path, serve, methods=["POST"], name="bare")

    async def _serve(self, endpoint: Endpoint, request: Request) -> Response:
        started = time.perf_counter()
        name = endpoint.operation.name
        try:
            answer = await self._answer(endpoint, request)
        except Exception:  # a bug answers in the service's format, not with a trace
            log.exception("%s: internal error", name)
            answer = _internal_error()
        try:
            response = self.render(endpoint, answer)
        except Exception:  # an answer that cannot be written: the log says what was sent
            log.exception("%s: the answer could not be written", name)
            answer = _internal_error()
            response = self.render(endpoint, answer)
        self._log(name, answer, started)
        if (
            answer.created
            and self.faults.drop_rate
            and self.random.random() < self.faults.drop_rate
        ):
            log.warning("%s: fault injected: connection dropped after the record was stored", name)
            return _DroppedResponse()
        return response

    async def _answer(self, endpoint: Endpoint, request: Request) -> Answer:
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if self.faults.error_rate and self.random.random() < self.faults.error_rate:
            return Answer(
                False,
                "服務暫時無法使用，請稍後再試（模擬故障 simulated outage: HTTP 503）",
                status=503,
            )
        try:
            payload = await self._payload(endpoint, request)
        except BadRequest as problem:
            return Answer(False, problem.message, status=problem.status)
        except ClientDisconnect:
            return Answer(False, "用戶端中斷連線（the client disconnected）", status=400)
        return await run_in_threadpool(self.sandbox.handle, endpoint, payload)

    async def _payload(self, endpoint: Endpoint, request: Request) -> dict[str, object]:
        """The request's parameters: the query string, or the JSON object in the body."""
        if endpoint.operation.input == "query":
            # Of a name given twice, the last wins (as for JSON members).
            query: dict[str, object] = dict(request.query_params.multi_items())
            _check_encodable(query)
            return query
        content_type = request.headers.get("content-type", "")
        media, _, parameters = content_type.partition(";")
        media = media.strip().lower()
        if media not in _JSON_TYPES and not media.endswith("+json"):
            shown = _shown(content_type) if content_type else "無"
            raise BadRequest(
                415,
                f"Content-Type 須為 application/json（收到「{shown}」）"
                "（the body must be sent as Content-Type: application/json）",
            )
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8:
                raise BadRequest(
                    415,
                    f"僅接受 UTF-8 編碼（收到 charset={_shown(value.strip())}）（only UTF-8 is accepted）",
                )
        text = await self._text(request)
        if not text.strip():
            raise BadRequest(400, "缺少 JSON 本文（the body is empty; send the record as JSON）")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadRequest(
                400,
                f"JSON 格式錯誤：第 {error.lineno} 行第 {error.colno} 欄"
                f"（malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}）",
            ) from None
        except (ValueError, RecursionError):
            raise BadRequest(
                400,
                "JSON 無法解析：巢狀太深或數字太長（malformed JSON: too deep or a number too long）",
            ) from None
        if not isinstance(data, dict):
            kind, kind_en = _json_kind(data)
            raise BadRequest(
                400,
                f"本文須為 JSON 物件（收到{kind}）（the body must be a JSON object, not {kind_en}）",
            )
        _check_encodable(data)
        _check_bindable(self._bound[endpoint.operation.name], data)
        return data

    async def _text(self, request: Request) -> str:
        """The body as text, refusing one over the size limit, too slow, or not in UTF-8."""
        limit = self.config.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        seconds = self.config.limits.body_timeout
        try:
            async with asyncio.timeout(seconds):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size <= limit:
                        chunks.append(chunk)
                    elif size > limit + _DRAIN_BYTES:
                        break
        except TimeoutError:
            raise BadRequest(
                408,
                f"本文未在 {seconds:g} 秒內傳完（the body did not arrive within {seconds:g} s）",
            ) from None
        if size > limit:
            raise BadRequest(
                413,
                f"本文過大：上限 {limit} 位元組（the body is larger than the limit of {limit} bytes）",
            )
        try:
            return b"".join(chunks).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest(
                400, "本文不是 UTF-8 編碼的文字（the body is not UTF-8 text）"
            ) from None

    # -- errors outside the routes ----------------------------------------------------------

    async def _not_found(self, request: Request, error: Exception) -> Response:
        names = ", ".join(e.operation.path for e in self.endpoints)
        answer = Answer(
            False,
            f"找不到此路徑（{_shown(request.url.path)}）；可用的操作：{names}"
            f"（no such path; the operations are {names}）",
            status=404,
        )
        self._log("-", answer, time.perf_counter())
        return self.render(self._fallback, answer)

    async def _not_allowed(self, request: Request, error: Exception) -> Response:
        endpoint = self._by_path.get(request.url.path, self._fallback)
        operation = endpoint.operation
        method = _shown(request.method, 20)
        answer = Answer(
            False,
            f"{operation.path} 須以 {operation.method} 呼叫（收到 {method}）"
            f"（{operation.path} takes {operation.method}, not {method}）",
            status=405,
        )
        self._log(operation.name, answer, time.perf_counter())
        response = self.render(endpoint, answer)
        response.headers["Allow"] = operation.method
        return response

    async def _http_error(self, request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 400
        answer = Answer(
            False, f"無法處理此請求（the request cannot be handled: HTTP {status}）", status=status
        )
        return self.render(self._by_path.get(request.url.path, self._fallback), answer)

    async def _server_error(self, request: Request, error: Exception) -> Response:
        return self.render(self._by_path.get(request.url.path, self._fallback), _internal_error())


def _internal_error() -> Answer:
    return Answer(
        False, "沙盒內部錯誤，請查看伺服器記錄（internal error; see the server log）", status=500
    )


class _NoQueryStrings(logging.Filter):
    """Takes the query string out of uvicorn's access log lines.

    uvicorn writes an access line whenever its access logger has a handler, whatever
    `access_log=False` says (a handler added later, or a test's log capture, turns it on), and the
    line holds the query string: GetTokenID's carries the password, GetSCDataB's the token and the
    patient's ID.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, mark, _ = args[2].partition("?")
            if mark:
                record.args = (*args[:2], f"{path}?[redacted]", *args[3:])
        return True


def _hide_query_strings() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoQueryStrings) for f in logger.filters):
        logger.addFilter(_NoQueryStrings())


def server_config(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None
) -> uvicorn.Config:
    """uvicorn's settings for the sandbox: no access log (it would show query strings, and
    GetTokenID's holds the password; they are taken out should it be on), logging left to the
    caller, no server header; the connection limit, the deadline of a request's head and the
    keep-alive time of `limits`, and repeated log records counted (`sandbox_guard`)."""
    limits = limits or Limits()
    _hide_query_strings()
    limit_repeats()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        server_header=False,
        lifespan="on",
        http=guarded_protocol(limits),
        timeout_keep_alive=max(1, round(limits.keep_alive)),
        backlog=ACCEPT_BURST,
    )


def serve(sandbox: SandboxApp, host: str, port: int) -> None:
    """Run the sandbox until interrupted (Ctrl+C); the database is closed on the way out."""
    try:
        uvicorn.Server(server_config(sandbox.app, host, port, sandbox.config.limits)).run()
    finally:
        sandbox.close()


class ServerThread:
    """An ASGI application served by uvicorn on a free port of 127.0.0.1, in a background
    thread: for tests, demos and benchmarks.

        with ServerThread(app) as server:
            httpx.get(server.url + "/...")
    """

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        # IPPROTO_TCP said outright: asyncio sets TCP_NODELAY only on sockets that say it, and
        # without it each keep-alive answer waits ~40 ms for a delayed ACK (Nagle's algorithm).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.server = uvicorn.Server(server_config(app, "127.0.0.1", self.port, limits))
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self._socket]},
            name="scforhis-server",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """The base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> Self:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxThread(ServerThread):
    """The sandbox on a free port of 127.0.0.1, in a background thread: for tests and demos.

        with SandboxThread(SandboxConfig(), "sandbox.db") as sandbox:
            client = scforhis.Client(base_url=sandbox.url, ...)

    The database stays on disk after `stop()`; a new `SandboxThread` on the same file carries on.
    """

    def __init__(
        self,
        config: SandboxConfig,
        db: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        today: Callable[[], date] = taiwan_today,
        bare_route: bool = False,
    ) -> None:
        self.sandbox = SandboxApp(config, db, clock=clock, today=today, bare_route=bare_route)
        super().__init__(self.sandbox.app, config.limits)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving, wait for the thread, close the database."""
        super().stop(timeout)
        self.sandbox.close()
