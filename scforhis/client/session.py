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

Retry-After (on 429 and 5xx) is honoured in full; when it asks for longer than
`RetryPolicy.max_wait`, or retries have run out, `RetryLaterError` says when to try again.

Bounded work (`scforhis.reading`): each attempt reads at most 64 KiB of reply (after
decompression) and ends by one overall deadline, the `timeout` setting; a larger 2xx reply is a
`ProtocolError` (an `OutcomeUnknownError` for Save).

Logging (`logging.getLogger("scforhis")`, with a `NullHandler`): one INFO line per call with the
operation, HTTP status, elapsed time and MSG_CODE (WARNING when the call failed, with the status
it got); retries and validation warnings at DEBUG. Nothing logged carries the account, password or
token, nor a patient's ID; the transport's own loggers (httpx, httpcore) are filtered as
`scforhis.transport` describes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar, Unpack

import httpx

from scforhis.errors import (
    ConfigurationError,
    ConnectionFailedError,
    HTTPStatusError,
    OutcomeUnknownError,
    ProtocolError,
    RejectedError,
    RequestTimeoutError,
    RetryLaterError,
    ScForHisError,
    TransportError,
    UnencodableError,
    ValidationError,
)
from scforhis.redaction import redact, secret_patterns
from scforhis.validation.issues import Issue

from .reading import (
    ACCEPT_ENCODING,
    MAX_REPLY_BYTES,
    BodyReader,
    Reply,
    ReplyError,
    decode_text,
)
from .replies import (
    ApiResult,
    Eligibility,
    EligibilityResult,
    Token,
    read_eligibility,
    read_result,
    read_token,
)
from .settings import Settings, SettingsOptions, load_settings, parse_retry_after
from .transport import (
    ATTEMPT_DEADLINE,
    DeadlinePassed,
    async_direct_mounts,
    direct_mounts,
    install_log_filter,
    refuse_plain_http_proxy,
    remaining,
    trace_streams,
    watch_transport_logs,
)
from .wire import OperationSpec, build_payload, is_record

log = logging.getLogger("scforhis")
# Applications that configure no logging get no stray lines from the library.
log.addHandler(logging.NullHandler())

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
_HEADERS = {
    "Accept": "application/json, text/plain",
    "Accept-Encoding": ACCEPT_ENCODING,
    "User-Agent": "scforhis-python",
}
_JSON = {"Content-Type": "application/json; charset=utf-8"}
_T = TypeVar("_T")
# Idempotent calls share a pool of kept-alive connections. A Save always goes on a new one: a
# pooled connection the server closed while idle (IIS does, after its idle timeout) fails the
# request only after it was written, when a Save can no longer be resent.
_POOLED = httpx.Limits(max_connections=100, max_keepalive_connections=20)
_NOT_POOLED = httpx.Limits(max_connections=100, max_keepalive_connections=0)


def _one_of(transport: object, http_client: object) -> None:
    """A client takes a transport or a ready httpx client, not both."""
    if transport is not None and http_client is not None:
        raise ConfigurationError(
            "transport 與 http_client 擇一 / pass transport or http_client, not both"
        )


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


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_transport_error(error: Exception, request: httpx.Request) -> httpx.RequestError:
    """The attempt's own failures as the httpx errors the retry decisions know."""
    if isinstance(error, DeadlinePassed | TimeoutError):
        return httpx.ReadTimeout("the attempt's overall deadline passed", request=request)
    return httpx.DecodingError(str(error), request=request)


def _reader(response: httpx.Response) -> tuple[BodyReader, tuple[bytes, ...]]:
    """A reader for the reply's body, and the body itself when the transport gave it whole.

    A transport that builds its reply in memory (`httpx.MockTransport`, tests) hands it over
    already read and decoded; a network transport streams it, still encoded.
    """
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return BodyReader(response.headers.get("content-encoding")), ()
    return BodyReader(None), (content,)


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
        watch_transport_logs(self, self._base_urls())
        if self.settings.verify is False:
            log.warning("TLS verification is off (verify=False); use it only against a sandbox")

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"<{type(self).__name__} query_url={s.query_url!r} upload_url={s.upload_url!r} "
            f"hosp_id={s.hosp_id!r} hosp_seq_no={s.hosp_seq_no!r}>"
        )

    def _base_urls(self) -> tuple[str, ...]:
        return tuple(self.settings.base_url(service) for service in ("query", "upload"))

    def log_secrets(self) -> tuple[str | None, ...]:
        """The secrets the transport's log filter hides for this client."""
        token = self._token.value if self._token is not None else None
        return (self.settings.account, self.settings.password, token)

    def log_patterns(self) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
        """The secret-field patterns of this client's spec, for the transport's log filter."""
        return self._patterns

    def _http_keywords(self, verify: ssl.SSLContext, limits: httpx.Limits) -> dict[str, Any]:
        """What the sync and async httpx clients are made with, beside their transports."""
        return {
            "verify": verify,
            "timeout": self.settings.timeout,
            "limits": limits,
            "follow_redirects": False,
            "headers": _HEADERS,
        }

    def _ssl_context(self) -> ssl.SSLContext:
        """One TLS context for all the client's transports (loading the CAs once)."""
        verify = self.settings.ssl_verify()
        if isinstance(verify, ssl.SSLContext):
            return verify
        return httpx.create_ssl_context(verify=verify)

    def _timeout(self, configured: httpx.Timeout) -> httpx.Timeout:
        """The transport's timeouts, none longer than the attempt's deadline."""
        limit = self.settings.timeout

        def bounded(value: float | None) -> float:
            return limit if value is None else min(value, limit)

        return httpx.Timeout(
            connect=bounded(configured.connect),
            read=bounded(configured.read),
            write=bounded(configured.write),
            pool=bounded(configured.pool),
        )

    def _reply(self, response: httpx.Response, reader: BodyReader) -> Reply:
        headers = {name.lower(): value for name, value in response.headers.items()}
        text = decode_text(reader.body(), headers.get("content-type"))
        return Reply(response.status_code, response.reason_phrase, headers, text, reader.oversize)

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
        for name, value in payload.items():
            if isinstance(value, str) and not _encodable(value):
                raise UnencodableError(op.name, name)
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

    def _after_response(self, prepared: Prepared, reply: Reply, attempt: int) -> float | None:
        """None to read the answer, a delay to try again; raises for an answer not worth reading."""
        op, status = prepared.operation, reply.status_code
        if 200 <= status < 300 or (op.needs_token and status in _TOKEN_STATUSES):
            return None
        excerpt = self._redact(reply.text, prepared.secrets)
        message = (
            f"{op.name}: HTTP {status} {self._redact(reply.reason_phrase)}"
            + (" (redirects are not followed)" if 300 <= status < 400 else "")
            + (f": {excerpt!r}" if excerpt else "")
        )
        error = HTTPStatusError(message, op.name, status_code=status)
        if status >= 500 and not op.idempotent:
            raise OutcomeUnknownError(op.name, error)
        if status < 500 and status != 429:
            raise error
        retry = self.settings.retry
        asked = parse_retry_after(reply.header("Retry-After"))
        if asked is not None and (asked > retry.max_wait or attempt > retry.retries):
            retry_at = datetime.now(UTC) + timedelta(seconds=asked)
            raise RetryLaterError(
                f"{message}; 服務要求 {asked:.0f} 秒後再試（{retry_at:%Y-%m-%d %H:%M:%S} UTC 以後），"
                f"未提前重試 / the service asks to retry after {asked:.0f} s (at "
                f"{retry_at:%Y-%m-%d %H:%M:%S} UTC or later); not retried early",
                op.name,
                status_code=status,
                retry_after=asked,
                retry_at=retry_at,
            )
        if attempt > retry.retries:
            raise error
        delay = asked if asked is not None else retry.delay(attempt)
        log.debug("%s: HTTP %d on attempt %d; retrying in %.2fs", op.name, status, attempt, delay)
        return delay

    # -- reading ------------------------------------------------------------------------------

    def _read(self, prepared: Prepared, reply: Reply, sent_before: bool) -> object:
        """The result of an answer, or `_RENEW` when it refused the token.

        `sent_before`: an earlier attempt may have reached the service (its N may be the echo of
        a first attempt that succeeded).
        """
        op = prepared.operation

        def redact_text(text: str) -> str:
            return self._redact(text, prepared.secrets)

        shape = op.response
        try:
            if op.needs_token and reply.status_code in _TOKEN_STATUSES:
                return _RENEW
            if reply.oversize:
                raise ProtocolError(
                    f"{op.name} 的回應超過 {MAX_REPLY_BYTES // 1024} KiB，未讀完 / the {op.name} "
                    f"answer is larger than {MAX_REPLY_BYTES // 1024} KiB and was not read",
                    op.name,
                )
            if shape.token is not None:
                token = read_token(op.name, shape, reply.text, redact_text, self._clock())
                self._token = token
                return token
            if shape.kind == "text":
                result = read_eligibility(
                    op.name, shape, reply.text, redact_text, prepared.warnings
                )
                if op.needs_token and result.outcome is Eligibility.TOKEN_REFUSED:
                    return _RENEW
                return result
            outcome = read_result(op.name, shape, reply.text, redact_text, prepared.warnings)
            if sent_before and not outcome.ok:
                outcome = dataclasses.replace(outcome, may_have_succeeded_earlier=True)
            return outcome
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
            more = f" outcome={outcome.outcome.value} reserved={outcome.reserved}"
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
        if status is None:
            status = getattr(error, "status_code", None)
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
        _one_of(transport, http_client)
        self._lock = threading.Lock()
        self._owns_http = http_client is None
        if http_client is not None:
            refuse_plain_http_proxy(self._base_urls(), http_client.trust_env)
            self._http = self._fresh = http_client
        else:
            verify = self._ssl_context()

            def client(limits: httpx.Limits) -> httpx.Client:
                return httpx.Client(
                    transport=transport,
                    mounts=direct_mounts(self._base_urls(), transport, verify, limits),
                    **self._http_keywords(verify, limits),
                )

            self._http, self._fresh = client(_POOLED), client(_NOT_POOLED)

    def close(self) -> None:
        """Close the httpx clients if the client created them."""
        if self._owns_http:
            self._http.close()
            self._fresh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _attempt(self, arguments: dict[str, Any], fresh: bool) -> Reply:
        """One request and at most `MAX_REPLY_BYTES` of its reply, within the attempt's deadline.

        `fresh`: on a new connection (see `_NOT_POOLED`).
        """
        deadline = time.monotonic() + self.settings.timeout
        install_log_filter()
        http = self._fresh if fresh else self._http
        request = http.build_request(**arguments, timeout=self._timeout(http.timeout))
        request.extensions["trace"] = trace_streams
        bound = ATTEMPT_DEADLINE.set(deadline)
        try:
            response = http.send(request, stream=True, follow_redirects=False)
            try:
                reader, held = _reader(response)
                for chunk in held or response.iter_raw():
                    if not reader.feed(chunk):
                        break  # the rest is never read: closing drops the connection
                    remaining(deadline)
                return self._reply(response, reader)
            finally:
                response.close()
        except (DeadlinePassed, ReplyError) as error:
            raise _as_transport_error(error, request) from None
        finally:
            ATTEMPT_DEADLINE.reset(bound)

    def _send(self, prepared: Prepared, token: Token | None) -> tuple[Reply, bool]:
        """The reply worth reading, and whether an earlier attempt may have reached the service."""
        arguments = self._request(prepared, token)
        attempt, sent_before = 0, False
        while True:
            attempt += 1
            try:
                reply = self._attempt(arguments, not prepared.operation.idempotent)
            except httpx.RequestError as error:
                time.sleep(self._after_error(prepared, error, attempt))
                sent_before = sent_before or not isinstance(error, _NOT_SENT)
                continue
            delay = self._after_response(prepared, reply, attempt)
            if delay is None:
                return reply, sent_before
            sent_before = sent_before or reply.status_code >= 500
            time.sleep(delay)

    def _call(self, op: OperationSpec, records: tuple[object, ...], validate: bool) -> object:
        started, status = self._clock(), None
        try:
            prepared = self._prepare(op, records, validate)
            stale: Token | None = None
            for _ in range(2 if op.needs_token else 1):
                token = self._ensure_token(stale) if op.needs_token else None
                reply, sent_before = self._send(prepared, token)
                status = reply.status_code
                outcome = self._read(prepared, reply, sent_before)
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
        _one_of(transport, http_client)
        self._lock = asyncio.Lock()
        self._owns_http = http_client is None
        if http_client is not None:
            refuse_plain_http_proxy(self._base_urls(), http_client.trust_env)
            self._http = self._fresh = http_client
        else:
            verify = self._ssl_context()

            def client(limits: httpx.Limits) -> httpx.AsyncClient:
                return httpx.AsyncClient(
                    transport=transport,
                    mounts=async_direct_mounts(self._base_urls(), transport, verify, limits),
                    **self._http_keywords(verify, limits),
                )

            self._http, self._fresh = client(_POOLED), client(_NOT_POOLED)

    async def aclose(self) -> None:
        """Close the httpx clients if the client created them."""
        if self._owns_http:
            await self._http.aclose()
            await self._fresh.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _attempt(self, arguments: dict[str, Any], fresh: bool) -> Reply:
        """One request and at most `MAX_REPLY_BYTES` of its reply, within the attempt's deadline.

        `fresh`: on a new connection (see `_NOT_POOLED`).
        """
        install_log_filter()
        http = self._fresh if fresh else self._http
        request = http.build_request(**arguments, timeout=self._timeout(http.timeout))
        try:
            async with asyncio.timeout(self.settings.timeout):
                response = await http.send(request, stream=True, follow_redirects=False)
                try:
                    reader, held = _reader(response)
                    if held:
                        reader.feed(held[0])
                    else:
                        async for chunk in response.aiter_raw():
                            if not reader.feed(chunk):
                                break  # the rest is never read: closing drops the connection
                    return self._reply(response, reader)
                finally:
                    await response.aclose()
        except (TimeoutError, ReplyError) as error:
            raise _as_transport_error(error, request) from None

    async def _send(self, prepared: Prepared, token: Token | None) -> tuple[Reply, bool]:
        """The reply worth reading, and whether an earlier attempt may have reached the service."""
        arguments = self._request(prepared, token)
        attempt, sent_before = 0, False
        while True:
            attempt += 1
            try:
                reply = await self._attempt(arguments, not prepared.operation.idempotent)
            except httpx.RequestError as error:
                await asyncio.sleep(self._after_error(prepared, error, attempt))
                sent_before = sent_before or not isinstance(error, _NOT_SENT)
                continue
            delay = self._after_response(prepared, reply, attempt)
            if delay is None:
                return reply, sent_before
            sent_before = sent_before or reply.status_code >= 500
            await asyncio.sleep(delay)

    async def _call(self, op: OperationSpec, records: tuple[object, ...], validate: bool) -> object:
        started, status = self._clock(), None
        try:
            prepared = self._prepare(op, records, validate)
            stale: Token | None = None
            for _ in range(2 if op.needs_token else 1):
                token = await self._ensure_token(stale) if op.needs_token else None
                reply, sent_before = await self._send(prepared, token)
                status = reply.status_code
                outcome = self._read(prepared, reply, sent_before)
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
