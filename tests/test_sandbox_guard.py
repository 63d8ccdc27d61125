"""The sandbox against careless and hostile clients, over real sockets on 127.0.0.1.

- Text that UTF-8 cannot encode (a lone surrogate, `\\ud800` in the JSON) is answered 400 in the
  service's format, nothing is stored, and the log line carries the status sent.
- Idle sockets beyond the connection limit close the longest-idle ones; a real request is still
  answered. When every connection is busy a newcomer gets 503. A request's head must arrive
  within its deadline (idle or trickling clients are closed), its body within its own (408).
- A flood of one failure logs it a few times, then counts it; past the open-file limit (in a
  child process with a lowered limit) no accept error floods the log and requests are answered.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scforhis.sandbox import guard
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.guard import RepeatFilter, connection_cap
from scforhis.sandbox.settings import Limits, SandboxConfigError, config_from_mapping
from tests.conftest import ROOT, wait_until
from tests.sandbox_support import config, visit

# Seconds a test socket waits for the server before the test fails (never reached when it works).
PATIENCE = 10.0


def stored(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        count: int = connection.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
    return count


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """Wait for the server's answer on `sock`: True when it closed the connection (EOF)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


# -- text that cannot be encoded -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    db = tmp_path_factory.mktemp("sandbox-guard") / "sandbox.db"
    with SandboxThread(config(), db) as server:
        yield server


SURROGATE_CASES = [
    pytest.param({"memO": "note \ud800"}, "memO", id="memo"),
    pytest.param({"id": "A12345678\udfff"}, "id", id="id"),
    pytest.param({"password": "\udc80"}, "password", id="password"),
    pytest.param({"\ud800x": "1"}, "\\ud800x", id="name"),
    pytest.param({"extra": [{"k\udbff": "v"}]}, "extra", id="nested-unknown"),
]


@pytest.mark.parametrize(("changes", "field"), SURROGATE_CASES)
def test_a_lone_surrogate_is_refused_with_400_stores_nothing_and_logs_400(
    sandbox: SandboxThread, changes: dict[str, object], field: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = stored(sandbox.sandbox.store.path)
    # json.dumps writes the surrogate as the escape `\ud800`: valid ASCII JSON, as a client sends it.
    body = json.dumps(visit(900_000 + len(caplog.records), **changes))  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="scforhis.sandbox"):
        answer = httpx.post(
            sandbox.url + "/Save",
            content=body,
            headers={"content-type": "application/json"},
            timeout=PATIENCE,
        )
    assert answer.status_code == 400, answer.text
    reply = answer.json()
    assert reply["msG_CODE"] == "N" and f"欄位「{field}」" in reply["msG_INFO"]
    assert "UTF-8" in reply["msG_INFO"] and "\\udc80" not in reply["msG_INFO"]  # no value echoed
    assert stored(sandbox.sandbox.store.path) == before
    lines = [r.getMessage() for r in caplog.records if r.name == "scforhis.sandbox"]
    assert lines and lines[-1].startswith("Save status=400 MSG_CODE=N"), lines


def test_a_surrogate_from_a_python_caller_gets_the_services_no(sandbox: SandboxThread) -> None:
    """Handed to the service layer directly (no HTTP), the validator refuses it: an N answer."""
    service = sandbox.sandbox.sandbox
    endpoint = next(e for e in sandbox.sandbox.endpoints if e.operation.name == "Save")
    before = stored(sandbox.sandbox.store.path)
    answer = service.handle(endpoint, visit(900_100, memO="x\ud800"))
    assert not answer.ok and "U+D800" in answer.message
    answer.message.encode("utf-8")
    refused = service.handle(endpoint, visit(900_101, password="\ud800"))
    assert not refused.ok
    assert stored(sandbox.sandbox.store.path) == before


# -- connections, deadlines ------------------------------------------------------------------------


def test_idle_sockets_beyond_the_limit_close_the_oldest_and_a_real_request_is_answered(
    tmp_path: Path,
) -> None:
    limits = Limits(max_connections=8, header_timeout=PATIENCE * 3)
    with SandboxThread(config(limits=limits), tmp_path / "s.db") as server:
        idle = [connect(server.port) for _ in range(30)]
        answer = httpx.get(
            server.url + "/GetTokenID",
            params={"id": "3501200000ADM", "pwd": "12345678"},
            timeout=PATIENCE,
        )
        assert answer.json()["msG_CODE"] == "Y"
        # The oldest idle sockets made room; the newest are still open.
        assert all(closed_by_server(sock) for sock in idle[:20])
        idle[-1].setblocking(False)
        with pytest.raises(BlockingIOError):
            idle[-1].recv(1)
        for sock in idle:
            sock.close()


def test_when_every_connection_is_busy_a_newcomer_gets_503(tmp_path: Path) -> None:
    limits = Limits(max_connections=1, header_timeout=PATIENCE * 3, body_timeout=PATIENCE * 3)
    with SandboxThread(config(limits=limits), tmp_path / "s.db") as server:
        busy = connect(server.port)
        # A request whose body has not arrived is in progress: the connection is not idle.
        busy.sendall(
            b"POST /Save HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        connections = server.server.server_state.connections
        wait_until(lambda: any(not c.waiting() for c in connections))  # type: ignore[attr-defined]
        with connect(server.port) as newcomer:
            head = read_all(newcomer)
        assert head.startswith(b"HTTP/1.1 503 ")
        assert "連線數已達上限".encode() in head
        busy.close()


def test_a_request_head_must_arrive_within_its_deadline(tmp_path: Path) -> None:
    # A keep-alive time longer than the deadline: the deadline is what closes an idle client.
    limits = Limits(header_timeout=0.3, keep_alive=PATIENCE * 3)
    with SandboxThread(config(limits=limits), tmp_path / "s.db") as server:
        silent = connect(server.port)
        trickling = connect(server.port)
        trickling.sendall(b"GET /GetTokenID?id=a&pwd=b HTTP/1.1\r\n")
        trickling.sendall(b"Host: x\r\n")  # ...and the blank line never comes
        assert closed_by_server(silent)
        assert closed_by_server(trickling)
        # After an answer, the next request's head has its own deadline (keep-alive or not).
        with connect(server.port) as kept:
            kept.sendall(b"GET /GetTokenID?id=a&pwd=b HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" in read_all(kept)  # read_all returns once the server closes
        silent.close()
        trickling.close()


def test_a_body_must_arrive_within_its_deadline(tmp_path: Path) -> None:
    limits = Limits(body_timeout=0.3)
    with (
        SandboxThread(config(limits=limits), tmp_path / "s.db") as server,
        connect(server.port) as slow,
    ):
        slow.sendall(
            b"POST /Save HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\nConnection: close\r\n\r\n{"
        )
        answer = read_all(slow)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert "本文未在 0.3 秒內傳完".encode() in answer


def test_limits_are_read_from_the_configuration_file() -> None:
    read = config_from_mapping({"limits": {"max_connections": 50, "header_timeout_s": 2}})
    assert read.limits == Limits(max_connections=50, header_timeout=2.0)
    with pytest.raises(SandboxConfigError, match=r"limits\.nope.*max_connections"):
        config_from_mapping({"limits": {"nope": 1, "max_connections": 0}})


def test_the_connection_cap_stays_below_the_open_file_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def limit(soft: int) -> None:
        monkeypatch.setattr(guard.resource, "getrlimit", lambda _: (soft, soft))

    limit(1024)
    assert connection_cap(1000) == 1024 - guard.RESERVED_FILES - 2 * guard.ACCEPT_BURST
    assert connection_cap(100) == 100
    limit(100)
    assert connection_cap(1000) == 1  # a tiny limit still serves one at a time
    limit(guard.resource.RLIM_INFINITY)
    assert connection_cap(1000) == 1000


# -- the log -------------------------------------------------------------------------------------


def test_a_repeated_record_is_logged_a_few_times_then_counted() -> None:
    now = [0.0]
    repeat = RepeatFilter(burst=3, window=60, clock=lambda: now[0])
    logger = logging.getLogger("tests.repeat")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.addFilter(repeat)

    def accept_failed() -> None:
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            logger.exception("socket.accept() out of system resource")

    try:
        for _ in range(10_000):
            accept_failed()
        logger.warning("another kind")
        logger.info("info %d", 1)
        logger.info("info %d", 1)  # below WARNING: never counted
        assert lines[:3] == ["socket.accept() out of system resource"] * 3
        assert lines[3:] == ["another kind", "info 1", "info 1"]
        assert repeat.pending() == {"socket.accept() out of system resource": 9_997}
        now[0] = 61.0
        accept_failed()
        assert lines[-1] == (
            "socket.accept() out of system resource [另有 9997 則相同訊息已略去 "
            "9997 more like this suppressed in 60 s]"
        )
        assert repeat.pending() == {}
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(repeat)


def test_a_flood_of_bad_requests_yields_a_bounded_log(
    sandbox: SandboxThread, caplog: pytest.LogCaptureFixture
) -> None:
    answers = []
    with caplog.at_level(logging.DEBUG, logger="uvicorn.error"):
        for _ in range(200):
            with connect(sandbox.port) as garbage:
                garbage.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                answers.append(read_all(garbage))
    assert all(answer.startswith(b"HTTP/1.1 400 ") for answer in answers)
    # uvicorn warns of each; the filter (shared by the whole process, so earlier tests' bad
    # requests count too) lets a few through a minute.
    invalid = [r for r in caplog.records if "Invalid HTTP request" in r.getMessage()]
    assert len(invalid) <= 5


_CHILD = textwrap.dedent(
    """
    import logging, resource, sys, tempfile, time
    resource.setrlimit(resource.RLIMIT_NOFILE, (400, 400))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from scforhis.sandbox.app import SandboxThread
    from scforhis.sandbox.settings import SandboxConfig
    with SandboxThread(SandboxConfig(), tempfile.mkdtemp() + "/s.db") as server:
        print(server.port, flush=True)
        sys.stdin.read()  # until the test closes it
    """
)


def test_past_the_open_file_limit_requests_are_answered_and_the_log_stays_small() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    sockets: list[socket.socket] = []
    try:
        port = int(child.stdout.readline())
        # More idle sockets than the child may open files (400).
        sockets = [connect(port) for _ in range(450)]
        for _ in range(3):
            answer = httpx.get(
                f"http://127.0.0.1:{port}/GetTokenID",
                params={"id": "3501200000ADM", "pwd": "12345678"},
                timeout=PATIENCE,
            )
            assert answer.json()["msG_CODE"] == "Y"
    finally:
        for sock in sockets:
            sock.close()
        _, log = child.communicate("", timeout=PATIENCE * 3)
    assert "Too many open files" not in log
    assert len(log) < 10_000, log[:2000]
