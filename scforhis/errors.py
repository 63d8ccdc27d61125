"""The client's exceptions: one small tree, every message safe to log.

    ScForHisError                    anything the client raises on purpose
    ├── ConfigurationError           a setting is missing or unsafe (also a ValueError)
    ├── ValidationError              the record is invalid; nothing was sent (`.result`)
    ├── UnencodableError             a value cannot be sent as UTF-8 (a lone surrogate);
    │                                nothing was sent (`.field`; also a ValueError)
    ├── TransportError               no usable answer arrived (`.sent`: may it have arrived?)
    │   ├── RequestTimeoutError      connect, write or read timeout, or the attempt's deadline
    │   └── ConnectionFailedError    refused, reset, dropped, TLS failure
    ├── HTTPStatusError              the service answered 3xx, 4xx or 5xx (`.status_code`)
    │   └── RetryLaterError          it asked to wait longer than the client waits
    │                                (`.retry_after` seconds, `.retry_at`); not retried early
    ├── ProtocolError                an answer that cannot be read (`.text`, redacted), or
    │                                larger than the client reads (64 KiB)
    ├── RejectedError                the service said no: MSG_CODE N from `raise_for_code()`,
    │                                a failed login, a token refused even when fresh
    └── OutcomeUnknownError          a Save may or may not have been stored (`.cause`)

A business failure (`MSG_CODE` N on Save, Update or Delete) is not an exception: the methods return
an `ApiResult` with `ok=False`, and `result.raise_for_code()` turns it into a `RejectedError`, as
httpx's `response.raise_for_status()` does for HTTP statuses.

Idempotent operations (GetTokenID, GetSCDataB: GET; Update: PUT; Delete: DELETE) are retried with
backoff on connection failures, timeouts and 5xx answers before any of these is raised. Save (POST)
is retried only when the request certainly never left (the connection could not be opened). When a
Save may have reached the service (a read timeout, a connection dropped after sending, a 5xx
answer, an answer that cannot be read), the client raises `OutcomeUnknownError` and never resends
it by itself, since a second Save could store the visit twice.

Resolving an unknown outcome (處理結果不明時):
  1. Call `client.update(record)` with the same record. Update is idempotent: if it answers
     MSG_CODE Y, the visit is stored and now holds exactly your values; stop there.
  2. If Update answers N because no such visit exists, the Save was not stored: call
     `client.save(record)` again.
  3. If the service cannot be reached, keep the record queued and repeat from step 1 later; if in
     doubt, look the visit up in the smoking-cessation VPN system (戒菸 VPN 系統) before saving.

Messages never contain the account, the password or a token, and show national IDs masked
(`A12****789`); texts quoted from the service are redacted the same way.
"""

from __future__ import annotations

from datetime import datetime

from scforhis.validation.issues import ValidationResult


class ScForHisError(Exception):
    """Base of every exception the client raises on purpose; `.operation` names the call."""

    def __init__(self, message: str, operation: str = "") -> None:
        super().__init__(message)
        self.operation = operation


class ConfigurationError(ScForHisError, ValueError):
    """A setting is missing, malformed or unsafe (credentials over plain HTTP to another host)."""


class ValidationError(ScForHisError):
    """The record failed validation, so it was not sent; `.result` lists every problem."""

    def __init__(self, result: ValidationResult) -> None:
        count = len(result.errors)
        message = f"{result.operation} 的資料有 {count} 個錯誤，未送出 / {result.operation} request has {count} error(s); nothing was sent\n{result}"
        super().__init__(message, result.operation)
        self.result = result


class UnencodableError(ScForHisError, ValueError):
    """A value holds a character that cannot be sent as UTF-8 (a lone surrogate such as
    `"\\ud800"`); nothing was sent. `.field` names the field (its value is not shown)."""

    def __init__(self, operation: str, field: str) -> None:
        super().__init__(
            f"{operation} 的欄位 {field} 含無法以 UTF-8 傳送的字元（單獨的代理字元），未送出 / "
            f"{operation}: field {field} holds a character that cannot be sent as UTF-8 "
            "(a lone surrogate); nothing was sent",
            operation,
        )
        self.field = field


class TransportError(ScForHisError):
    """No usable answer arrived. `.sent` is False when the request certainly never left."""

    def __init__(self, message: str, operation: str = "", *, sent: bool = True) -> None:
        super().__init__(message, operation)
        self.sent = sent


class RequestTimeoutError(TransportError):
    """The connection, the upload or the answer took longer than the timeout."""


class ConnectionFailedError(TransportError):
    """The connection was refused, reset, dropped, or its TLS handshake failed."""


class HTTPStatusError(ScForHisError):
    """The service answered with an HTTP status other than 2xx (redirects are not followed)."""

    def __init__(self, message: str, operation: str = "", *, status_code: int) -> None:
        super().__init__(message, operation)
        self.status_code = status_code


class RetryLaterError(HTTPStatusError):
    """The service answered 429 or 5xx with a `Retry-After` longer than the client waits by itself
    (`RetryPolicy.max_wait`), or retries ran out: try again no earlier than `.retry_at` (UTC),
    `.retry_after` seconds after the answer."""

    def __init__(
        self,
        message: str,
        operation: str = "",
        *,
        status_code: int,
        retry_after: float,
        retry_at: datetime,
    ) -> None:
        super().__init__(message, operation, status_code=status_code)
        self.retry_after = retry_after
        self.retry_at = retry_at


class ProtocolError(ScForHisError):
    """The answer could not be read; `.text` is an excerpt of it with secrets and IDs redacted."""

    def __init__(self, message: str, operation: str = "", *, text: str = "") -> None:
        super().__init__(message, operation)
        self.text = text


class RejectedError(ScForHisError):
    """The service refused: MSG_CODE N (`.code`, `.info`), a failed login, or a refused token."""

    def __init__(
        self, message: str, operation: str = "", *, code: str = "", info: str = ""
    ) -> None:
        super().__init__(message, operation)
        self.code = code
        self.info = info


class OutcomeUnknownError(ScForHisError):
    """A Save may have reached the service, but no readable answer came back.

    It is never retried automatically. `.cause` is the underlying error (a `TransportError`,
    `HTTPStatusError` or `ProtocolError`); the module docstring says how to resolve the outcome.
    """

    HOW_TO_RESOLVE = (
        "以同一筆資料呼叫 update()：回 Y 表示已儲存；回 N（查無資料）才再呼叫 save() / "
        "call update() with the same record: Y means it is stored; only if it answers N "
        "(no such visit) call save() again"
    )

    def __init__(self, operation: str, cause: ScForHisError) -> None:
        message = (
            f"{operation} 的處理結果不明，未自動重送 / outcome of {operation} is unknown and it was "
            f"not resent: {cause}. {self.HOW_TO_RESOLVE}"
        )
        super().__init__(message, operation)
        self.cause = cause
        self.status_code = cause.status_code if isinstance(cause, HTTPStatusError) else None
