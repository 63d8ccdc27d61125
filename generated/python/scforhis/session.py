# Copied by `make generate` from codegen/runtime/session.py; edit it there.
"""The clients' engine: request building, retries, the token, response reading and logging.

`ClientCore` holds everything the synchronous and asynchronous clients share: settings, request
building, the retry decisions, response reading, the token cache, redaction and logging.
`SyncClientBase` and `AsyncClientBase` add only the send (httpx.Client and time.sleep, or
httpx.AsyncClient and asyncio.sleep). The generated `Client` and `AsyncClient` subclass them with
one typed method per operation.

Retries (`Settings.retry`): a connection that could not be opened is retried for every operation,
since the request never left. Timeouts, dropped connections and 5xx answers are retried only for
the idempotent operations (GET, PUT, DELETE); for Save they raise `OutcomeUnknownError` at once.
429 is retried for all (the service refused before doing anything). Other statuses are not retried.

Token: GetSCDataB needs one. It is obtained with GetTokenID when first needed, kept, renewed when
older than `Settings.token_max_age`, and renewed once when the service refuses it (HTTP 401 or 403,
or an answer that blames the token); a fresh token refused again raises `RejectedError`. Save,
Update and Delete send the account and password in their body, as the manual shows, and no token.

Logging (`logging.getLogger("scforhis")`): one INFO line per call with the operation, HTTP status,
elapsed time and MSG_CODE (WARNING when the call failed); retries and validation warnings at DEBUG.
Nothing logged carries the account, password or token, nor a patient's ID. httpx logs each request
URL at INFO, query string included (GetTokenID's holds the password, GetSCDataB's the token and the
patient's ID): the clients add a filter to the `httpx` logger that drops the query string from
URLs of the configured services.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar, Unpack

import httpx

from .config import Settings, SettingsOptions, load_settings
from .errors import (
    ConfigurationError,
    ConnectionFailedError,
    HTTPStatusError,
    OutcomeUnknownError,
    ProtocolError,
    RejectedError,
    RequestTimeoutError,
    ScForHisError,
    TransportError,
    ValidationError,
)
from .issues import Issue
from .redaction import redact, secret_patterns
from .responses import (
    ApiResult,
    EligibilityResult,
    Token,
    read_eligibility,
    read_result,
    read_token,
    token_rejected,
)
from .wire import OperationSpec, build_payload, is_record

log = logging.getLogger("scforhis")

# Failures before the request could leave: safe to retry for every operation.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
# Failures worth another attempt (for Save only those in _NOT_SENT).
_RETRYABLE: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
_TOKEN_STATUSES = frozenset({401, 403})
# Stands for the token while a record is validated: the client supplies the token after that.
_TOKEN_PLACEHOLDER = "-"
_HEADERS = {"Accept": "application/json, text/plain", "User-Agent": "scforhis-python"}
_JSON = {"Content-Type": "application/json; charset=utf-8"}
_T = TypeVar("_T")


class _Renew:
    """Returned by `_read` when the service refused the token."""


_RENEW = _Renew()


@dataclass(frozen=True)
class Prepared:
    """A validated request before the token is added: canonical payload, warnings, secrets in it."""

    operation: OperationSpec
    payload: dict[str, object]
    warnings: tuple[Issue, ...]
    secrets: tuple[str, ...]


class _HttpxUrlFilter(logging.Filter):
    """Drops the query string from the URLs that httpx logs, for the services' base URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.bases: set[str] = set()

    def _watched(self, url: httpx.URL) -> bool:
        text = str(url)
        return bool(url.query) and any(text.startswith(base) for base in self.bases)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(
            isinstance(arg, httpx.URL) and self._watched(arg) for arg in args
        ):
            record.args = tuple(
                f"{arg.copy_with(query=None)}?[redacted]"
                if isinstance(arg, httpx.URL) and self._watched(arg)
                else arg
                for arg in args
            )
        return True


_URL_FILTER = _HttpxUrlFilter()


def _watch_httpx_urls(settings: Settings) -> None:
    for service in ("query", "upload"):
        _URL_FILTER.bases.add(str(httpx.URL(settings.base_url(service))).rstrip("/"))
    logger = logging.getLogger("httpx")
    if _URL_FILTER not in logger.filters:
        logger.addFilter(_URL_FILTER)


def _tls_failure(error: BaseException) -> bool:
    """A certificate that failed verification: retrying will not help."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "certificate verify failed" in str(error).lower()


def _expect(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind):  # pragma: no cover - the operation tables guarantee it
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


class ClientCore:
    """What the synchronous and asynchronous clients share; everything but the send."""

    # Set by the generated subclasses, from the spec.
    _service_env: ClassVar[Mapping[str, str]] = {}
    _secret_names: ClassVar[frozenset[str]] = frozenset()
    _token_operation: ClassVar[OperationSpec | None] = None

    def __init__(
        self,
        settings: Settings | None,
        env: Mapping[str, str] | None,
        options: SettingsOptions,
    ) -> None:
        if settings is not None and any(value is not None for value in options.values()):
            raise ConfigurationError(
                "請只用 settings 或關鍵字參數其一 / pass settings or keyword settings, not both"
            )
        self.settings = (
            settings if settings is not None else load_settings(self._service_env, env, **options)
        )
        self._token: Token | None = None
        self._clock: Callable[[], float] = time.monotonic
        self._patterns = secret_patterns(self._secret_names)
        _watch_httpx_urls(self.settings)
        if self.settings.verify is False:
            log.warning("TLS verification is off (verify=False); use it only against a sandbox")

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"<{type(self).__name__} query_url={s.query_url!r} upload_url={s.upload_url!r} "
            f"hosp_id={s.hosp_id!r} hosp_seq_no={s.hosp_seq_no!r}>"
        )

    # -- building ---------------------------------------------------------------------------

    def _redact(self, text: str, extra: Iterable[str] = ()) -> str:
        token = self._token.value if self._token is not None else None
        secrets = (self.settings.account, self.settings.password, token, *extra)
        return redact(text, secrets, self._patterns)

    def _prepare(self, op: OperationSpec, records: tuple[object, ...], validate: bool) -> Prepared:
        """Merge, convert, fill from settings and validate; raise `ValidationError` when invalid."""
        for record in records:
            if record is not None and not is_record(record):
                raise ValidationError(op.validator(record))
        known, unknown = build_payload(op, *records)
        for item in op.fields:
            if item.filled and item.filled != "token" and item.wire not in known:
                value = getattr(self.settings, item.filled, None)
                if value is not None:
                    known[item.wire] = value
        secrets = tuple(
            value
            for item in op.fields
            if item.sensitive == "secret" and isinstance(value := known.get(item.wire), str)
        )
        warnings: tuple[Issue, ...] = ()
        if validate:
            checked: dict[object, object] = dict(unknown)
            checked.update(known)
            for item in op.fields:
                if item.filled == "token":
                    checked[item.wire] = _TOKEN_PLACEHOLDER
            result = op.validator(checked)
            if self.settings.strict:
                result = result.strict()
            if not result.ok:
                raise ValidationError(result)
            warnings = result.warnings
            for issue in warnings:
                log.debug("%s: validation warning: %s", op.name, issue)
        payload = {item.wire: known[item.wire] for item in op.fields if item.wire in known}
        return Prepared(op, payload, warnings, secrets)

    def _request(self, prepared: Prepared, token: Token | None) -> dict[str, Any]:
        """The arguments of `httpx.Client.build_request` for one attempt."""
        op = prepared.operation
        payload = dict(prepared.payload)
        for item in op.fields:
            if item.filled == "token" and token is not None:
                payload[item.wire] = token.value
        payload = {item.wire: payload[item.wire] for item in op.fields if item.wire in payload}
        for item in op.fields:
            # The manual names the course year two ways; the service ignores the name it does
            # not bind, so the value goes under both and arrives whichever it binds.
            if item.also_as is not None and item.wire in payload:
                payload[item.also_as] = payload[item.wire]
        url = self.settings.url(op.service, op.path)
        if op.input == "query":
            params = {
                name: value if isinstance(value, str) else json.dumps(value, default=str)
                for name, value in payload.items()
            }
            return {"method": op.method, "url": url, "params": params}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
        return {"method": op.method, "url": url, "content": body.encode("utf-8"), "headers": _JSON}

    # -- retry decisions ----------------------------------------------------------------------

    def _map_error(
        self, prepared: Prepared, error: Exception, sent: bool, attempt: int
    ) -> ScForHisError:
        op, kind = prepared.operation, type(error).__name__
        detail = self._redact(str(error) or kind, prepared.secrets)
        where = f"after {attempt} attempt(s)" + ("" if sent else "; the request was not sent")
        if isinstance(error, httpx.DecodingError):
            return ProtocolError(
                f"{op.name} 的回應無法解碼 / the {op.name} answer cannot be decoded ({kind}: {detail})",
                op.name,
            )
        if isinstance(error, httpx.TimeoutException):
            return RequestTimeoutError(
                f"{op.name} 逾時 / {op.name} timed out ({kind}: {detail}) {where}",
                op.name,
                sent=sent,
            )
        if isinstance(error, httpx.NetworkError | httpx.RemoteProtocolError | httpx.ProxyError):
            return ConnectionFailedError(
                f"{op.name} 連線失敗 / {op.name} connection failed ({kind}: {detail}) {where}",
                op.name,
                sent=sent,
            )
        return TransportError(
            f"{op.name} 傳輸失敗 / {op.name} transport failed ({kind}: {detail}) {where}",
            op.name,
            sent=sent,
        )

    def _after_error(self, prepared: Prepared, error: httpx.RequestError, attempt: int) -> float:
        """The delay before the next attempt; raises when there is none."""
        op = prepared.operation
        sent = not isinstance(error, _NOT_SENT)
        mapped = self._map_error(prepared, error, sent, attempt)
        if sent and not op.idempotent:
            raise OutcomeUnknownError(op.name, mapped) from error
        retry = self.settings.retry
        if isinstance(error, _RETRYABLE) and not _tls_failure(error) and attempt <= retry.retries:
            delay = retry.delay(attempt)
            log.debug(
                "%s: %s on attempt %d; retrying in %.2fs",
                op.name,
                type(error).__name__,
                attempt,
                delay,
            )
            return delay
        raise mapped from error

    def _after_response(
        self, prepared: Prepared, response: httpx.Response, attempt: int
    ) -> float | None:
        """None to read the answer, a delay to try again; raises for an answer not worth reading."""
        op, status = prepared.operation, response.status_code
        if 200 <= status < 300 or (op.needs_token and status in _TOKEN_STATUSES):
            return None
        excerpt = self._redact(response.text, prepared.secrets)
        error = HTTPStatusError(
            f"{op.name}: HTTP {status} {response.reason_phrase}"
            + (" (redirects are not followed)" if 300 <= status < 400 else "")
            + (f": {excerpt!r}" if excerpt else ""),
            op.name,
            status_code=status,
        )
        if status >= 500 and not op.idempotent:
            raise OutcomeUnknownError(op.name, error)
        retry = self.settings.retry
        if (status >= 500 or status == 429) and attempt <= retry.retries:
            delay = retry.delay(attempt, response.headers.get("Retry-After"))
            log.debug(
                "%s: HTTP %d on attempt %d; retrying in %.2fs", op.name, status, attempt, delay
            )
            return delay
        raise error

    # -- reading ------------------------------------------------------------------------------

    def _read(self, prepared: Prepared, response: httpx.Response) -> object:
        """The result of an answer, or `_RENEW` when it refused the token."""
        op = prepared.operation

        def redact_text(text: str) -> str:
            return self._redact(text, prepared.secrets)

        shape = op.response
        try:
            if shape.token is not None:
                token = read_token(op.name, shape, response.text, redact_text, self._clock())
                self._token = token
                return token
            if shape.kind == "text":
                if op.needs_token and response.status_code in _TOKEN_STATUSES:
                    return _RENEW
                result = read_eligibility(
                    op.name, shape, response.text, redact_text, prepared.warnings
                )
                if op.needs_token and token_rejected(result.message):
                    return _RENEW
                return result
            return read_result(op.name, shape, response.text, redact_text, prepared.warnings)
        except ProtocolError as error:
            if not op.idempotent:
                raise OutcomeUnknownError(op.name, error) from None
            raise

    def _token_refused(self, op: OperationSpec, status: int | None) -> RejectedError:
        return RejectedError(
            f"{op.name}: 新取得的 TokenID 仍被拒絕 / the service refused a fresh token (HTTP {status})",
            op.name,
        )

    def _fresh_token(self) -> Token | None:
        token = self._token
        if token is not None and self._clock() - token.obtained_at < self.settings.token_max_age:
            return token
        return None

    def _token_op(self) -> OperationSpec:
        if self._token_operation is None:  # pragma: no cover - set by the generated clients
            raise ConfigurationError("no token operation")
        return self._token_operation

    # -- logging ------------------------------------------------------------------------------

    def _log_done(
        self, op: OperationSpec, started: float, status: int | None, outcome: object
    ) -> None:
        elapsed = self._clock() - started
        code, more = "-", ""
        if isinstance(outcome, ApiResult):
            code = outcome.code
        elif isinstance(outcome, Token):
            code = op.response.success
        elif isinstance(outcome, EligibilityResult):
            more = f" eligible={outcome.eligible} reserved={outcome.reserved}"
        log.info(
            "%s status=%s elapsed=%.3fs MSG_CODE=%s%s",
            op.name,
            status,
            elapsed,
            code,
            more,
            extra={
                "scforhis_operation": op.name,
                "scforhis_status": status,
                "scforhis_elapsed": elapsed,
                "scforhis_msg_code": code,
            },
        )

    def _log_failed(
        self, op: OperationSpec, started: float, status: int | None, error: ScForHisError
    ) -> None:
        elapsed = self._clock() - started
        code = (error.code or "-") if isinstance(error, RejectedError) else "-"
        log.warning(
            "%s failed status=%s elapsed=%.3fs MSG_CODE=%s error=%s",
            op.name,
            status if status is not None else "-",
            elapsed,
            code,
            type(error).__name__,
            extra={
                "scforhis_operation": op.name,
                "scforhis_status": status,
                "scforhis_elapsed": elapsed,
                "scforhis_msg_code": code,
                "scforhis_error": type(error).__name__,
            },
        )


class SyncClientBase(ClientCore):
    """The synchronous send: `httpx.Client`, `time.sleep` between attempts. Thread-safe.

    `transport` (e.g. `httpx.MockTransport`) or `http_client` (used as given, with its own timeout
    and TLS settings, and not closed by `close()`) replace the default httpx client. Keyword
    settings and `env` are described in `scforhis.config`.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        env: Mapping[str, str] | None = None,
        **options: Unpack[SettingsOptions],
    ) -> None:
        super().__init__(settings, env, options)
        if transport is not None and http_client is not None:
            raise ConfigurationError(
                "transport 與 http_client 擇一 / pass transport or http_client, not both"
            )
        self._lock = threading.Lock()
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport,
            verify=self.settings.ssl_verify(),
            timeout=self.settings.timeout,
            follow_redirects=False,
            headers=_HEADERS,
        )

    def close(self) -> None:
        """Close the httpx client if the client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, prepared: Prepared, token: Token | None) -> httpx.Response:
        arguments = self._request(prepared, token)
        attempt = 0
        while True:
            attempt += 1
            try:
                request = self._http.build_request(**arguments)
                response = self._http.send(request, follow_redirects=False)
            except httpx.RequestError as error:
                time.sleep(self._after_error(prepared, error, attempt))
                continue
            delay = self._after_response(prepared, response, attempt)
            if delay is None:
                return response
            time.sleep(delay)

    def _call(self, op: OperationSpec, records: tuple[object, ...], validate: bool) -> object:
        started, status = self._clock(), None
        try:
            prepared = self._prepare(op, records, validate)
            stale: Token | None = None
            for _ in range(2 if op.needs_token else 1):
                token = self._ensure_token(stale) if op.needs_token else None
                response = self._send(prepared, token)
                status = response.status_code
                outcome = self._read(prepared, response)
                if outcome is not _RENEW:
                    self._log_done(op, started, status, outcome)
                    return outcome
                stale = token
            raise self._token_refused(op, status)
        except ScForHisError as error:
            self._log_failed(op, started, status, error)
            raise

    def _ensure_token(self, stale: Token | None) -> Token:
        with self._lock:
            token = self._fresh_token()
            if token is None or token is stale:
                token = self._issue_token()
            return token

    def _issue_token(self) -> Token:
        return _expect(self._call(self._token_op(), (), True), Token)

    def _query(
        self, op: OperationSpec, records: tuple[object, ...], validate: bool
    ) -> EligibilityResult:
        return _expect(self._call(op, records, validate), EligibilityResult)

    def _submit(self, op: OperationSpec, record: object, validate: bool) -> ApiResult:
        return _expect(self._call(op, (record,), validate), ApiResult)


class AsyncClientBase(ClientCore):
    """The asynchronous send: `httpx.AsyncClient`, `asyncio.sleep` between attempts.

    `transport` (e.g. `httpx.MockTransport`) or `http_client` (used as given, and not closed by
    `aclose()`) replace the default httpx client.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
        **options: Unpack[SettingsOptions],
    ) -> None:
        super().__init__(settings, env, options)
        if transport is not None and http_client is not None:
            raise ConfigurationError(
                "transport 與 http_client 擇一 / pass transport or http_client, not both"
            )
        self._lock = asyncio.Lock()
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport,
            verify=self.settings.ssl_verify(),
            timeout=self.settings.timeout,
            follow_redirects=False,
            headers=_HEADERS,
        )

    async def aclose(self) -> None:
        """Close the httpx client if the client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, prepared: Prepared, token: Token | None) -> httpx.Response:
        arguments = self._request(prepared, token)
        attempt = 0
        while True:
            attempt += 1
            try:
                request = self._http.build_request(**arguments)
                response = await self._http.send(request, follow_redirects=False)
            except httpx.RequestError as error:
                await asyncio.sleep(self._after_error(prepared, error, attempt))
                continue
            delay = self._after_response(prepared, response, attempt)
            if delay is None:
                return response
            await asyncio.sleep(delay)

    async def _call(self, op: OperationSpec, records: tuple[object, ...], validate: bool) -> object:
        started, status = self._clock(), None
        try:
            prepared = self._prepare(op, records, validate)
            stale: Token | None = None
            for _ in range(2 if op.needs_token else 1):
                token = await self._ensure_token(stale) if op.needs_token else None
                response = await self._send(prepared, token)
                status = response.status_code
                outcome = self._read(prepared, response)
                if outcome is not _RENEW:
                    self._log_done(op, started, status, outcome)
                    return outcome
                stale = token
            raise self._token_refused(op, status)
        except ScForHisError as error:
            self._log_failed(op, started, status, error)
            raise

    async def _ensure_token(self, stale: Token | None) -> Token:
        async with self._lock:
            token = self._fresh_token()
            if token is None or token is stale:
                token = await self._issue_token()
            return token

    async def _issue_token(self) -> Token:
        return _expect(await self._call(self._token_op(), (), True), Token)

    async def _query(
        self, op: OperationSpec, records: tuple[object, ...], validate: bool
    ) -> EligibilityResult:
        return _expect(await self._call(op, records, validate), EligibilityResult)

    async def _submit(self, op: OperationSpec, record: object, validate: bool) -> ApiResult:
        return _expect(await self._call(op, (record,), validate), ApiResult)
