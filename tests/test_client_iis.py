"""The client against a stand-in that answers as ASP.NET behind IIS may (`tests.iis_service`):
compressed, chunked and charset-mislabelled replies, connections closed after answering, bare
tokens, error pages and redirects quoting secrets, Retry-After, replies that trickle or never end,
huge replies and compression bombs, a Delete whose first answer was lost; sync and async."""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import scforhis
from scforhis.client import session
from tests.client_support import Driver, Service, manual_query, manual_record
from tests.client_support import open_client as open_mock
from tests.conftest import wait_until
from tests.iis_service import (
    ELIGIBLE,
    PASSWORD,
    RESERVED,
    UNDER_18,
    UNDER_18_ID,
    IisService,
)

MODES = ["sync", "async"]
DIALECTS = [
    "plain",
    "gzip",
    "deflate",
    "chunked",
    "idleclose",
    "close",
    "charset",
    "bare",
    "barejson",
]


@pytest.fixture(scope="module")
def iis() -> Iterator[IisService]:
    """One stand-in for the module."""
    server = IisService().start()
    yield server
    server.stop()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Each test runs on `Client` and on `AsyncClient`."""
    mode: str = request.param
    return mode


def open_client(
    opened: list[Driver], mode: str, iis: IisService, behaviour: str, **overrides: Any
) -> Driver:
    """A client of `mode` for one behaviour of the stand-in, closed after the test."""
    driver = make_client(mode, iis.client_options(behaviour, **overrides))
    opened.append(driver)
    return driver


class LoopDriver(Driver):
    """Calls an `AsyncClient` as `Driver` does, on one event loop for all its calls (its pooled
    connections belong to that loop)."""

    def __init__(self, client: scforhis.AsyncClient) -> None:
        super().__init__(client)
        self.loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if asyncio.iscoroutinefunction(attribute):

            def run(*args: Any, **kwargs: Any) -> Any:
                return self.loop.run_until_complete(attribute(*args, **kwargs))

            return run
        return attribute


@pytest.fixture
def opened() -> Iterator[list[Driver]]:
    """Clients opened by a test, closed after it (and their event loops with them)."""
    drivers: list[Driver] = []
    yield drivers
    for driver in drivers:
        if isinstance(driver, LoopDriver):
            driver.loop.run_until_complete(driver.client.aclose())  # type: ignore[union-attr]
            driver.loop.close()
        else:
            driver.client.close()  # type: ignore[union-attr]


def make_client(mode: str, options: dict[str, Any]) -> Driver:
    """A `Driver` of a new client of `mode` with these settings."""
    if mode == "sync":
        return Driver(scforhis.Client(**options))
    return LoopDriver(scforhis.AsyncClient(**options))


def _record(day: int, dialect: str) -> dict[str, str]:
    # A visit of its own per test: the stand-in's records are shared by the module.
    return {**manual_record(), "funC_DATE": f"2022/{DIALECTS.index(dialect) + 1:02d}/{day:02d}"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_workflow_in_every_reply_dialect(
    iis: IisService, mode: str, opened: list[Driver], dialect: str
) -> None:
    client = open_client(opened, mode, iis, dialect)
    record = _record(1 if mode == "sync" else 2, dialect)
    query = {**manual_query(), "id": "A198765435"}
    reserved = client.get_sc_data_b(query)
    assert (reserved.outcome, reserved.reserved, reserved.message) == (
        scforhis.Eligibility.ELIGIBLE,
        True,
        RESERVED,
    )
    plain = client.get_sc_data_b(query, is_booking=False)
    assert (plain.eligible, plain.reserved, plain.message) == (True, False, ELIGIBLE)
    young = client.get_sc_data_b(query, id=UNDER_18_ID)
    assert (young.outcome, young.eligible, young.message) == (
        scforhis.Eligibility.NOT_ELIGIBLE,
        False,
        UNDER_18,
    )
    assert client.save(record).ok
    again = client.save(record)
    assert (again.ok, again.info, again.may_have_succeeded_earlier) == (
        False,
        "此筆就醫資料已存在",
        False,
    )
    assert client.update(record).info == "更新成功"
    assert client.delete(record).info == "刪除成功"
    assert client.delete(record).info == "查無此筆就醫資料"


def test_a_connection_closed_after_each_answer_is_not_a_failed_save(iis: IisService) -> None:
    # IIS closes idle keep-alive connections: the next Save must open a new one, not fail.
    with scforhis.Client(**iis.client_options("idleclose")) as client:
        before = iis.state.connections
        for day in range(10, 14):
            assert client.save(_record(day, "idleclose")).ok
        assert iis.state.connections - before >= 4


def test_a_bare_token_of_another_shape_is_never_shown(mode: str) -> None:
    secret = "opaque:secret:value-that-is-no-token"
    client = open_mock(mode, Service(GetTokenID=httpx.Response(200, text=secret)))
    with pytest.raises(scforhis.ProtocolError) as caught:
        client.get_token_id()
    shown = f"{caught.value} {caught.value!r} {caught.value.text}"
    assert secret not in shown and "opaque" not in shown
    assert f"{len(secret)} characters not shown" in shown


# -- error pages and redirects ----------------------------------------------------------------


def test_error_pages_are_status_errors_with_their_status(
    iis: IisService, mode: str, opened: list[Driver], caplog: pytest.LogCaptureFixture
) -> None:
    client = open_client(opened, mode, iis, "html")
    with pytest.raises(scforhis.HTTPStatusError) as token:
        client.get_token_id()
    assert token.value.status_code == 404
    with (
        caplog.at_level(logging.INFO, logger="scforhis"),
        pytest.raises(scforhis.OutcomeUnknownError) as save,
    ):
        client.save(_record(20, "plain"))
    assert save.value.status_code == 500
    failed = [r for r in caplog.records if r.name == "scforhis" and "Save failed" in r.getMessage()]
    assert len(failed) == 1 and "status=500" in failed[0].getMessage()
    assert failed[0].scforhis_status == 500  # type: ignore[attr-defined]
    with pytest.raises(scforhis.HTTPStatusError) as delete:
        client.delete(_record(20, "plain"))
    assert delete.value.status_code == 500 and "Server Error" in str(delete.value)


def test_redirects_are_refused_and_their_location_never_shown(
    iis: IisService, mode: str, opened: list[Driver]
) -> None:
    client = open_client(opened, mode, iis, "redirect")
    for call in (client.get_token_id, lambda: client.save(_record(21, "plain"))):
        with pytest.raises(scforhis.ScForHisError) as caught:
            call()
        error = getattr(caught.value, "cause", caught.value)
        assert isinstance(error, scforhis.HTTPStatusError) and error.status_code == 302
        assert "redirects are not followed" in str(error)


# -- Retry-After ----------------------------------------------------------------------------


class Sleeps:
    """Stands in for the session's sleeps: records each delay, waits for none."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.delays: list[float] = []

        def sleep(delay: float) -> None:
            self.delays.append(delay)

        async def asleep(delay: float) -> None:
            self.delays.append(delay)

        fake_time = SimpleNamespace(monotonic=time.monotonic, sleep=sleep)
        fake_asyncio = SimpleNamespace(sleep=asleep, timeout=asyncio.timeout, Lock=asyncio.Lock)
        monkeypatch.setattr(session, "time", fake_time)
        monkeypatch.setattr(session, "asyncio", fake_asyncio)


@pytest.mark.parametrize("asked", ["30", "45"])
def test_retry_after_is_honoured_in_full(
    iis: IisService, mode: str, opened: list[Driver], monkeypatch: pytest.MonkeyPatch, asked: str
) -> None:
    sleeps = Sleeps(monkeypatch)
    iis.state.busy, iis.state.retry_after = 1, asked
    client = open_client(opened, mode, iis, "busy")
    assert client.get_token_id()
    assert sleeps.delays == [float(asked)]  # never earlier than asked, and no 8 s cap


def test_retry_after_longer_than_the_client_waits_raises_saying_when(
    iis: IisService, mode: str, opened: list[Driver], monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps = Sleeps(monkeypatch)
    iis.state.busy, iis.state.retry_after = 5, "3600"
    count = len(iis.state.requests)
    client = open_client(opened, mode, iis, "busy")
    before = datetime.now(UTC)
    with pytest.raises(scforhis.RetryLaterError) as caught:
        client.update(_record(22, "plain"))
    error = caught.value
    assert error.retry_after == 3600 and error.status_code == 503
    assert (error.retry_at - before).total_seconds() >= 3600
    assert "3600" in str(error) and "UTC" in str(error)
    assert sleeps.delays == [] and len(iis.state.requests) == count + 1  # no early retry
    iis.state.busy = 0


def test_retry_after_as_an_http_date(
    iis: IisService, mode: str, opened: list[Driver], monkeypatch: pytest.MonkeyPatch
) -> None:
    Sleeps(monkeypatch)
    iis.state.busy, iis.state.retry_after = 1, "Fri, 31 Dec 2100 23:59:59 GMT"
    with pytest.raises(scforhis.RetryLaterError) as caught:
        open_client(opened, mode, iis, "busy").get_token_id()
    assert caught.value.retry_at.year == 2100 and caught.value.status_code == 429
    iis.state.busy = 0


# -- bounded work ---------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["trickle", "slowheaders"])
def test_a_trickling_reply_ends_at_the_deadline(
    iis: IisService, mode: str, opened: list[Driver], behaviour: str
) -> None:
    client = open_client(
        opened, mode, iis, behaviour, timeout=0.2, retry=scforhis.RetryPolicy(retries=0)
    )
    with pytest.raises(scforhis.RequestTimeoutError) as caught:
        client.get_token_id()
    assert caught.value.sent
    with pytest.raises(scforhis.OutcomeUnknownError) as save:
        client.save(_record(23, "plain"))
    assert isinstance(save.value.cause, scforhis.RequestTimeoutError)


@pytest.mark.parametrize("behaviour", ["huge", "bomb"])
def test_a_huge_reply_is_read_no_further_than_the_cap(
    iis: IisService, mode: str, opened: list[Driver], behaviour: str
) -> None:
    client = open_client(opened, mode, iis, behaviour, retry=scforhis.RetryPolicy(retries=0))
    tracemalloc.start()
    try:
        with pytest.raises(scforhis.ProtocolError) as caught:
            client.update(_record(24, "plain"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "超過 64 KiB" in str(caught.value) and "larger than 64 KiB" in str(caught.value)
    assert peak < 4 * 1024 * 1024  # the 50 MB / 64 MiB reply was never held


def test_utf8_is_read_as_utf8_whatever_the_header_says(
    iis: IisService, mode: str, opened: list[Driver]
) -> None:
    client = open_client(opened, mode, iis, "charset")
    assert client.get_sc_data_b({**manual_query(), "id": UNDER_18_ID}).message == UNDER_18


# -- a Delete whose first answer was lost ---------------------------------------------------


def test_a_delete_retried_after_a_dropped_connection_may_have_succeeded(
    iis: IisService, mode: str, opened: list[Driver]
) -> None:
    client = open_client(opened, mode, iis, "dropdelete")
    record = _record(25 if mode == "sync" else 26, "plain")
    assert client.save(record).ok
    result = client.delete(record)
    assert (result.ok, result.info, result.may_have_succeeded_earlier) == (
        False,
        "查無此筆就醫資料",
        True,
    )
    assert "may_have_succeeded_earlier=True" in repr(result)
    with pytest.raises(scforhis.RejectedError) as caught:
        result.raise_for_code()
    assert "may have reached the service and succeeded" in str(caught.value)
    # Answered N at the first attempt, nothing is uncertain.
    plain = client.delete(record)
    assert (plain.ok, plain.may_have_succeeded_earlier) == (False, False)


# -- text that cannot be encoded ------------------------------------------------------------


@pytest.mark.parametrize("field", ["memo", "id"])
def test_a_lone_surrogate_is_a_scforhis_error_and_nothing_is_sent(
    iis: IisService, mode: str, opened: list[Driver], field: str
) -> None:
    client = open_client(opened, mode, iis, "plain")
    count = len(iis.state.requests)
    record = {**_record(27, "plain"), field: "abc\ud800"}
    with pytest.raises(scforhis.UnencodableError) as caught:
        client.save(record, validate=False)
    assert caught.value.field == field and isinstance(caught.value, scforhis.ScForHisError)
    with pytest.raises(scforhis.ScForHisError):
        client.save(record)  # the validator's error, or this one
    with pytest.raises(scforhis.UnencodableError):
        client.get_sc_data_b(manual_query(), id="A12345678\udfff", validate=False)
    assert len(iis.state.requests) == count + 1  # only the token, never the record


# -- proxies --------------------------------------------------------------------------------


def test_a_loopback_service_is_never_reached_through_a_proxy(
    iis: IisService, mode: str, opened: list[Driver], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = open_client(opened, mode, iis, "plain")
    assert client.get_sc_data_b({**manual_query(), "id": "A198765435"}).eligible


def test_a_given_client_that_would_send_plain_http_through_a_proxy_is_refused(
    iis: IisService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with httpx.Client() as http, pytest.raises(scforhis.ConfigurationError) as caught:
        scforhis.Client(http_client=http, **iis.client_options("plain"))
    assert "proxy" in str(caught.value)
    with httpx.Client(trust_env=False) as http:
        scforhis.Client(http_client=http, **iis.client_options("plain")).close()


def test_https_goes_through_the_environment_proxy(
    iis: IisService, mode: str, opened: list[Driver], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stand-in plays the proxy: it must be asked to CONNECT to the HTTPS service.
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{iis.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    count = len(iis.state.lines)
    options = iis.client_options("plain", base_url="https://hpa.example.test/api")
    options["retry"] = scforhis.RetryPolicy(retries=0)
    client = make_client(mode, options)
    opened.append(client)
    with pytest.raises(scforhis.ScForHisError):
        client.get_token_id()
    assert ("CONNECT", "hpa.example.test:443") in iis.state.lines[count:]


# -- edges found open by `make mutate` ----------------------------------------------------------


def _dated(mode: str, month: int, day: int) -> str:
    """A visit date of the test's own (the stand-in's records are shared by both modes)."""
    year = 2023 if mode == "sync" else 2024
    return f"{year}/{month:02d}/{day:02d}"


def test_each_save_opens_its_own_connection_and_queries_share_one(
    iis: IisService, mode: str, opened: list[Driver]
) -> None:
    client = open_client(opened, mode, iis, "plain")
    client.get_token_id()
    before = iis.state.connections
    for day in range(1, 4):
        assert client.save({**manual_record(), "funC_DATE": _dated(mode, 3, day)}).ok
    assert iis.state.connections - before == 3
    before = iis.state.connections
    for _ in range(3):
        client.get_sc_data_b(manual_query())
    assert iis.state.connections - before <= 1


@pytest.mark.parametrize("status", [500, 503])
def test_a_delete_answered_n_after_a_5xx_may_have_succeeded(
    iis: IisService, mode: str, opened: list[Driver], monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    # A 500 is what ASP.NET answers when the action threw, possibly after its delete was done.
    Sleeps(monkeypatch)
    client = open_client(opened, mode, iis, "busy")
    client.get_token_id()
    iis.state.busy, iis.state.busy_status, iis.state.retry_after = 1, status, "1"
    try:
        result = client.delete({**manual_record(), "funC_DATE": _dated(mode, 4, status % 10 + 1)})
    finally:
        iis.state.busy, iis.state.busy_status = 0, 503
    assert not result.ok and result.may_have_succeeded_earlier
    plain = open_client(opened, mode, iis, "plain")
    result = plain.delete({**manual_record(), "funC_DATE": _dated(mode, 4, status % 10 + 5)})
    assert not result.ok and not result.may_have_succeeded_earlier


def test_the_failed_call_line_gives_status_and_elapsed_time(
    iis: IisService, mode: str, opened: list[Driver], caplog: pytest.LogCaptureFixture
) -> None:
    client = open_client(opened, mode, iis, "html")
    with caplog.at_level(logging.WARNING, logger="scforhis"), pytest.raises(scforhis.ScForHisError):
        client.update({**manual_record(), "funC_DATE": _dated(mode, 5, 1)})
    (line,) = [r.getMessage() for r in caplog.records if " failed status=" in r.getMessage()]
    assert "status=500" in line
    elapsed = float(line.split("elapsed=")[1].split("s")[0])
    assert 0 <= elapsed < 30


def test_validation_warnings_are_logged_at_debug(
    iis: IisService, mode: str, opened: list[Driver], caplog: pytest.LogCaptureFixture
) -> None:
    client = open_client(opened, mode, iis, "plain")
    record = {**manual_record(), "funC_DATE": _dated(mode, 6, 1), "smokE_MON": "18"}
    with caplog.at_level(logging.DEBUG, logger="scforhis"):
        assert client.save(record).ok
    assert any("validation warning" in r.getMessage() for r in caplog.records)


def test_an_https_client_verifies_with_one_tls_context() -> None:
    import ssl

    options = {"base_url": "https://scforhis.invalid/api", "account": "acct", "password": "pw-1",
               "hosp_id": "3501200000", "hosp_seq_no": "00", "env": {}}  # fmt: skip
    with scforhis.Client(**options) as client:
        context = client._ssl_context()
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_transport_logger_made_after_the_client_is_filtered_before_the_next_call(
    iis: IisService, mode: str, opened: list[Driver]
) -> None:
    # httpcore creates some loggers on first use (its HTTP/2 or proxy modules): each attempt
    # filters whatever transport logger exists by then.
    from scforhis.client.transport import LOG_FILTER

    client = open_client(opened, mode, iis, "plain")
    late = logging.getLogger(f"httpcore.late_{mode}")
    assert LOG_FILTER not in late.filters
    client.get_token_id()
    assert LOG_FILTER in late.filters


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key (made by the openssl tool)."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", f"/CN=scforhis {name}", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def https_iis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IisService, Path, Path]]:
    """The stand-in over TLS with a certificate of a private CA (as a hospital's proxy or a test
    environment has), the CA's file, and another CA's file."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = _self_signed(folder, "service")
    other, _ = _self_signed(folder, "other")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = IisService(tls=context).start()
    yield server, cert, other
    server.stop()


def test_a_ca_bundle_is_what_the_service_is_verified_against(
    https_iis: tuple[IisService, Path, Path], mode: str, opened: list[Driver]
) -> None:
    server, ca, other_ca = https_iis
    trusted = open_client(opened, mode, server, "plain", verify=str(ca))
    assert trusted.get_token_id()
    for verify in (str(other_ca), True):
        stranger = open_client(opened, mode, server, "plain", verify=verify)
        with pytest.raises(scforhis.ConnectionFailedError) as caught:
            stranger.get_token_id()
        assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
        assert PASSWORD not in str(caught.value)


def test_leaving_the_with_block_closes_the_kept_alive_connections(mode: str) -> None:
    # A HIS that makes a client per batch must not leave sockets open on the service.
    server = IisService().start()
    try:
        options = server.client_options("plain")
        if mode == "sync":
            with scforhis.Client(**options) as client:
                client.get_sc_data_b(manual_query())
                assert server.state.closed < server.state.connections  # kept alive
        else:

            async def run() -> None:
                async with scforhis.AsyncClient(**options) as client:
                    await client.get_sc_data_b(manual_query())
                    assert server.state.closed < server.state.connections

            asyncio.run(run())
        # The stand-in notices a close in its own thread.
        wait_until(lambda: server.state.closed == server.state.connections, patience=5.0)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("status", "redirect"), [(300, True), (308, True), (400, False), (404, False), (405, False)]
)
def test_only_a_3xx_is_described_as_a_redirect_not_followed(
    iis: IisService, opened: list[Driver], status: int, redirect: bool
) -> None:
    iis.state.script = (status, [("Content-Type", "text/plain")], b"no")
    client = open_client(opened, "sync", iis, "scripted")
    with pytest.raises(scforhis.HTTPStatusError) as caught:
        client.get_token_id()
    assert caught.value.status_code == status
    assert ("redirects are not followed" in str(caught.value)) is redirect
