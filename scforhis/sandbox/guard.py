"""The sandbox server against careless clients: a bounded number of connections, a deadline for
each request's head, and a log that never repeats one failure without bound.

uvicorn alone keeps a connection that sends nothing for ever, counts none of them, and the event
loop logs a traceback for every failed `accept()`: 1,100 idle sockets against the usual limit of
1,024 open files make every real request time out, and the log grows by hundreds of megabytes a
minute. Here:

- `guarded_protocol(limits)` is uvicorn's HTTP protocol (h11) with two guards. A connection must
  send a request's line and headers within `limits.header_timeout` seconds, from when it opens
  and again after each answer (slow or idle clients are closed; uvicorn's own keep-alive timeout
  still closes idle connections sooner). At most `limits.max_connections` are open at once
  (fewer when the open-file limit is lower, see `connection_cap`): one more closes the
  connection idle the longest, and when none is idle the newcomer is answered 503 and closed.
  Accepted sockets therefore stay below the open-file limit, and a real request is answered.
- `RepeatFilter` lets the first few log records of one kind through per window and counts the
  rest; the next record of that kind after the window says how many were suppressed.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import Limits

log = logging.getLogger("scforhis.sandbox")

# Files the process needs besides client sockets: the listening socket, SQLite and its journal,
# log files, the thread pool's and the event loop's own descriptors.
RESERVED_FILES = 32
# The listen queue, which is also how many connections the event loop accepts in one go before
# any of them is counted: the connection cap leaves room for twice that many more sockets (one
# burst accepted while the connections the last one displaced are still being closed).
ACCEPT_BURST = 128

_BUSY_BODY = "伺服器連線數已達上限，請稍後再試（too many connections; try again later）".encode()
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 1\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


def connection_cap(wanted: int, reserved: int = RESERVED_FILES + 2 * ACCEPT_BURST) -> int:
    """`wanted`, lowered so that the sockets fit the process's open-file limit with `reserved`
    files to spare (at least one connection): with the usual limit of 1,024, 736."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - reserved))


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head and a connection limit
    (see the module's docstring); `guarded_protocol` makes one for given limits."""

    max_connections = Limits.max_connections
    header_timeout = Limits.header_timeout

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        # When the connection last started waiting for a request (loop time).
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection; over the limit, close the longest-idle one or refuse this."""
        super().connection_made(transport)
        if len(self.connections) > self.max_connections and not self._make_room():
            log.warning(
                "connection refused: %d connections open, none idle (limit %d)",
                len(self.connections) - 1,
                self.max_connections,
            )
            transport.write(_BUSY)
            transport.close()
            return
        self._await_request()

    def _make_room(self) -> bool:
        """Close the connection idle the longest; False when every other one is busy."""
        open_ = [c for c in self.connections if not c.transport.is_closing()]
        if len(open_) <= self.max_connections:
            return True  # the excess is already closing
        idle = [
            c for c in open_ if c is not self and isinstance(c, GuardedProtocol) and c.waiting()
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.idle_since)
        oldest.transport.close()
        return True

    def waiting(self) -> bool:
        """True when no request is in progress (none yet, or the last one answered)."""
        return self.cycle is None or self.cycle.response_complete

    def _await_request(self) -> None:
        self._stop_timer()
        self.idle_since = self.loop.time()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _stop_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.waiting() and not self.transport.is_closing():
            # Nothing to answer with: the request never arrived whole. Closing is what a
            # gateway does to a client that holds a connection without a request.
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Read as uvicorn does; a request whose head is complete stops the deadline."""
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:
            self._stop_timer()

    def on_response_complete(self) -> None:
        """After each answer the next request's head has its own deadline."""
        super().on_response_complete()
        if not self.transport.is_closing() and self.waiting():
            self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the deadline and let uvicorn forget the connection."""
        self._stop_timer()
        super().connection_lost(exc)


def guarded_protocol(limits: Limits) -> type[GuardedProtocol]:
    """`GuardedProtocol` with these limits (uvicorn builds one protocol per connection from
    the class it is given)."""
    return type(
        "GuardedProtocol",
        (GuardedProtocol,),
        {
            "max_connections": connection_cap(limits.max_connections),
            "header_timeout": limits.header_timeout,
        },
    )


@dataclass
class _Seen:
    start: float
    passed: int
    suppressed: int


class RepeatFilter(logging.Filter):
    """Lets the first `burst` log records of one kind through per `window` seconds and
    suppresses the rest; the first record of that kind after the window carries the count
    (`[另有 N 則相同訊息已略去 N more like this suppressed]`). A kind is the logger, level,
    message and exception type; only records at `level` or above are counted (an access line
    per request is not a repetition). At most `kinds` kinds are remembered, the oldest
    forgotten first. `pending()` gives the counts not yet reported.
    """

    def __init__(
        self,
        burst: int = 5,
        window: float = 60.0,
        *,
        level: int = logging.WARNING,
        kinds: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.level = level
        self.kinds = kinds
        self.clock = clock
        self._seen: dict[tuple[str, int, str, str], _Seen] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """True to log `record`; False to suppress it (counted)."""
        if record.levelno < self.level:
            return True
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, record.levelno, record.getMessage(), error)
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.start < self.window:
                if seen.passed < self.burst:
                    seen.passed += 1
                    return True
                seen.suppressed += 1
                return False
            suppressed = seen.suppressed if seen is not None else 0
            self._seen.pop(key, None)
            while len(self._seen) >= self.kinds:
                del self._seen[next(iter(self._seen))]
            self._seen[key] = _Seen(now, 1, 0)
        if suppressed:
            record.msg = (
                f"{record.getMessage()} [另有 {suppressed} 則相同訊息已略去 "
                f"{suppressed} more like this suppressed in {self.window:g} s]"
            )
            record.args = ()
        return True

    def pending(self) -> dict[str, int]:
        """Messages whose suppressed repetitions no record has reported yet, with the counts."""
        with self._lock:
            return {key[2]: seen.suppressed for key, seen in self._seen.items() if seen.suppressed}


# The loggers a flood reaches: the event loop's (failed accept), uvicorn's (bad requests,
# errors in the application) and the sandbox's own.
FLOODED_LOGGERS = ("asyncio", "uvicorn.error", "scforhis.sandbox")


def limit_repeats(names: tuple[str, ...] = FLOODED_LOGGERS) -> RepeatFilter:
    """Give each logger in `names` a `RepeatFilter` (once; the same filter for all) and return it."""
    for name in names:
        for existing in logging.getLogger(name).filters:
            if isinstance(existing, RepeatFilter):
                return existing
    repeat = RepeatFilter()
    for name in names:
        logging.getLogger(name).addFilter(repeat)
    return repeat
