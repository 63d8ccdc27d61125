"""What the clients do around httpx: the attempt's deadline, transport logs, proxies.

Deadline. httpx's timeouts are per read: a reply that sends a byte just before each read timeout
never ends. The client gives each attempt one overall deadline. The asynchronous client wraps the
attempt in `asyncio.timeout`. The synchronous client cannot interrupt a blocked read from outside,
so it asks httpcore, through the documented `trace` request extension, for each network stream it
opens, and bounds that stream's reads by the deadline of the attempt using it (`ATTEMPT_DEADLINE`):
a read never waits past the deadline, whether it reads headers or body, on a new or a reused
connection. Any transport (a `MockTransport`, a caller's own) is also checked between pieces.

Transport logs. httpx logs each request's URL at INFO, and httpcore logs, at DEBUG, each reply's
headers: a redirect's `Location` can hold the account and password, or the token and a patient's
ID. `TransportLogFilter`, installed on the `httpx` logger and on every `httpcore` logger (a filter
acts only on records of the logger it is attached to, not on its children's), rewrites each record
before any handler sees it: header values other than a few harmless ones are dropped, query strings
of the services' URLs are dropped, and what is left is redacted with the secrets of every live
client (`scforhis.redaction`), in any encoding.

Proxies. HTTPS goes through the environment's proxy (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), as
hospital networks need. A loopback base URL (a local sandbox) is always reached directly, never
through a proxy; since plain `http://` is allowed only to loopback, credentials never travel in
plain HTTP through any proxy. A caller's own `http_client` that would send plain HTTP through an
environment proxy is refused.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import getproxies_environment

import httpx

from scforhis.errors import ConfigurationError
from scforhis.redaction import redact

from .settings import is_loopback

# The monotonic time by which the attempt running in this thread or task must end.
ATTEMPT_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "scforhis_attempt_deadline", default=None
)
# Loggers of the transport: httpx's own, and httpcore's (one per module, all children of it).
_TRANSPORT_LOGGERS = ("httpx", "httpcore")
# Reply headers whose values are harmless to log; every other value is dropped.
_SHOWN_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "date",
        "server",
        "retry-after",
        "x-powered-by",
        "x-aspnet-version",
        "cache-control",
        "vary",
    }
)
# A header as httpcore logs it: (b'name', b'value').
_HEADER = re.compile(r"\((b'|b\")([^'\"]*)(?:'|\"), b(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\)")
_LOG_LIMIT = 4000


class DeadlinePassed(Exception):
    """A read would have gone past the attempt's deadline."""


class _Secrets(Protocol):
    def log_secrets(self) -> Iterable[str | None]: ...

    def log_patterns(self) -> tuple[re.Pattern[str], re.Pattern[str]] | None: ...


class TransportLogFilter(logging.Filter):
    """Rewrites httpx's and httpcore's log records so that they show no secret (see above)."""

    def __init__(self) -> None:
        super().__init__()
        self.bases: set[str] = set()
        self.clients: weakref.WeakSet[Any] = weakref.WeakSet()

    def _safe_header(self, match: re.Match[str]) -> str:
        name = match.group(2)
        if name.lower() in _SHOWN_HEADERS:
            return match.group()
        return f"({match.group(1)}{name}{match.group(1)[-1]}, b'[redacted]')"

    def _plain_url(self, arg: object) -> object:
        if isinstance(arg, httpx.URL) and arg.query:
            text = str(arg)
            if any(text.startswith(base) for base in self.bases):
                return f"{arg.copy_with(query=None)}?[redacted]"
        return arg

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if isinstance(record.args, tuple):
                record.args = tuple(self._plain_url(arg) for arg in record.args)
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted: show nothing of it
            message = f"{record.name}: unformattable log record"
        message = _HEADER.sub(self._safe_header, message)
        secrets: list[str | None] = []
        patterns = None
        for client in list(self.clients):
            secrets += client.log_secrets()
            patterns = patterns or client.log_patterns()
        record.msg = redact(message, secrets, patterns, limit=_LOG_LIMIT)
        record.args = ()
        if record.exc_info or record.exc_text:
            # A traceback's text would be written unredacted by the handler: keep its last line.
            error = record.exc_info[1] if record.exc_info else None
            if error is not None:
                record.msg += f" ({redact(f'{type(error).__name__}: {error}', secrets, patterns)})"
            record.exc_info, record.exc_text = None, None
        return True


LOG_FILTER = TransportLogFilter()
_filtered: set[str] = set()
_logger_count = -1


def watch_transport_logs(client: _Secrets, bases: Iterable[str]) -> None:
    """Install `LOG_FILTER` on the transport's loggers, and have it hide `client`'s secrets.

    Called when a client is made and before each attempt: a logger httpcore creates later (its
    HTTP/2 or proxy module, imported on first use) is filtered as soon as it exists.
    """
    LOG_FILTER.clients.add(client)
    for base in bases:
        LOG_FILTER.bases.add(str(httpx.URL(base)).rstrip("/"))
    install_log_filter()


def install_log_filter() -> None:
    """Add `LOG_FILTER` to every transport logger that exists and does not have it yet."""
    global _logger_count
    count = len(logging.root.manager.loggerDict)
    if count == _logger_count:  # no logger was made since the last look
        return
    _logger_count = count
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name not in _filtered and name.split(".")[0] in _TRANSPORT_LOGGERS
    ]
    for name in (*_TRANSPORT_LOGGERS, *names):
        if name in _filtered:
            continue
        logger = logging.getLogger(name)
        if LOG_FILTER not in logger.filters:
            logger.addFilter(LOG_FILTER)
        _filtered.add(name)


# -- deadline ------------------------------------------------------------------------------


def remaining(deadline: float) -> float:
    """Seconds left before `deadline`; `DeadlinePassed` when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed
    return left


def _bounded_read(read: Callable[..., bytes]) -> Callable[..., bytes]:
    def bounded(max_bytes: int, timeout: float | None = None) -> bytes:
        deadline = ATTEMPT_DEADLINE.get()
        if deadline is not None:
            left = remaining(deadline)
            timeout = left if timeout is None else min(timeout, left)
        return read(max_bytes, timeout)

    return bounded


def _bound_stream(stream: object) -> None:
    read = getattr(stream, "read", None)
    if callable(read) and not getattr(read, "_scforhis_bounded", False):
        bounded = _bounded_read(read)
        bounded._scforhis_bounded = True  # type: ignore[attr-defined]
        # A stream that takes no attributes is checked between pieces only.
        with contextlib.suppress(AttributeError):
            stream.read = bounded  # type: ignore[attr-defined]


def trace_streams(event: str, info: Mapping[str, Any]) -> None:
    """The `trace` extension of synchronous requests: bounds each new stream's reads."""
    if event.endswith(
        ("connect_tcp.complete", "start_tls.complete", "connect_unix_socket.complete")
    ):
        _bound_stream(info.get("return_value"))


# -- proxies -------------------------------------------------------------------------------


def direct_mounts(
    urls: Iterable[str], transport: httpx.BaseTransport | None, verify: Any, limits: httpx.Limits
) -> dict[str, httpx.BaseTransport]:
    """Mounts that reach each loopback base URL directly, never through an environment proxy."""
    mounts: dict[str, httpx.BaseTransport] = {}
    for url in urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if is_loopback(host):
            shown = f"[{host}]" if ":" in host else host
            mounts[f"all://{shown}"] = transport or httpx.HTTPTransport(
                verify=verify, limits=limits
            )
    return mounts


def async_direct_mounts(
    urls: Iterable[str],
    transport: httpx.AsyncBaseTransport | None,
    verify: Any,
    limits: httpx.Limits,
) -> dict[str, httpx.AsyncBaseTransport]:
    """`direct_mounts` for the asynchronous client."""
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    for url in urls:
        host = urlsplit(url).hostname or ""
        if is_loopback(host):
            shown = f"[{host}]" if ":" in host else host
            mounts[f"all://{shown}"] = transport or httpx.AsyncHTTPTransport(
                verify=verify, limits=limits
            )
    return mounts


def refuse_plain_http_proxy(urls: Iterable[str], trust_env: bool) -> None:
    """Refuse plain-HTTP base URLs that a caller's own client would send through a proxy."""
    if not trust_env:
        return
    proxies = getproxies_environment()
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "http":
            continue
        proxy = proxies.get("http") or proxies.get("all")
        if proxy and not _no_proxy(parts.hostname or "", proxies.get("no", "")):
            raise ConfigurationError(
                "帳號密碼不可以明文經代理伺服器傳送 / credentials must not travel in plain HTTP "
                f"through a proxy: the given http_client would send {parts.hostname!r} through "
                "the environment's HTTP proxy; add it to NO_PROXY or use trust_env=False"
            )


def _no_proxy(host: str, no_proxy: str) -> bool:
    """True when `NO_PROXY` (comma-separated hosts or domains, `*` for all) exempts `host`."""
    host = host.lower().strip("[]")
    for entry in (e.strip().lower().lstrip(".") for e in no_proxy.split(",")):
        entry = entry.split(":")[0] if entry.count(":") == 1 else entry.strip("[]")
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False
