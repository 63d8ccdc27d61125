"""Fault injection for client tests, each fault on its own sandbox: added latency, a share of 503s
(in the service's format), and a connection dropped after a Save is stored, which the client
reports as an unknown outcome and resolves as `scforhis.errors` says."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import scforhis
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import Faults
from tests.sandbox_support import client_options, config, manual_query, patient, visit


@contextmanager
def faulty(tmp_path: Path, **faults: float) -> Iterator[SandboxThread]:
    """A sandbox with these faults, on the test's own SQLite file."""
    with SandboxThread(config(faults=Faults(seed=7, **faults)), tmp_path / "sandbox.db") as server:
        yield server


def rows(db: Path) -> int:
    """Stored visit rows."""
    with sqlite3.connect(db) as connection:
        count: int = connection.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
    return count


def test_added_latency(tmp_path: Path) -> None:
    with faulty(tmp_path, latency=0.3) as server:
        started = time.perf_counter()
        answer = httpx.get(f"{server.url}/GetTokenID", params={"id": "x", "pwd": "y"})
        assert time.perf_counter() - started >= 0.3
        assert answer.json()["msG_CODE"] == "N"
        slow = scforhis.Client(**client_options(server.url, timeout=0.1))
        with slow, pytest.raises(scforhis.RequestTimeoutError):
            slow.get_sc_data_b(manual_query())


def test_every_request_answered_503(tmp_path: Path) -> None:
    with faulty(tmp_path, error_rate=1.0) as server:
        answer = httpx.get(f"{server.url}/GetTokenID", params={"id": "x", "pwd": "y"})
        assert answer.status_code == 503
        assert answer.json() == {
            "msG_CODE": "N",
            "msG_INFO": "服務暫時無法使用，請稍後再試（模擬故障 simulated outage: HTTP 503）",
        }
        with scforhis.Client(**client_options(server.url)) as client:
            with pytest.raises(scforhis.OutcomeUnknownError) as caught:
                client.save(visit(1))
            assert isinstance(caught.value.cause, scforhis.HTTPStatusError)
            with pytest.raises(scforhis.HTTPStatusError) as status:
                client.update(visit(1))  # retried, then given up
            assert status.value.status_code == 503
    assert rows(tmp_path / "sandbox.db") == 0  # a 503 comes before any work


def test_a_share_of_503s_is_retried_away(tmp_path: Path) -> None:
    with faulty(tmp_path, error_rate=0.3) as server:
        with httpx.Client(base_url=server.url) as http:
            statuses = [http.get("/GetTokenID").status_code for _ in range(40)]
        assert 0 < statuses.count(503) < 40 and set(statuses) == {200, 503}
        retrying = client_options(server.url, retry=scforhis.RetryPolicy(retries=8, backoff=0.0))
        with scforhis.Client(**retrying) as client:
            answers = [client.get_sc_data_b(manual_query(), id=patient(n)) for n in range(10)]
        assert all(a.eligible for a in answers)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_connection_dropped_after_a_save_is_stored(tmp_path: Path, mode: str) -> None:
    record = visit(2)
    db = tmp_path / "sandbox.db"
    with faulty(tmp_path, drop_rate=1.0) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{server.url}/Save", json=visit(3))
        assert rows(db) == 1

        async def save_async() -> tuple[BaseException, scforhis.ApiResult, scforhis.ApiResult]:
            async with scforhis.AsyncClient(**client_options(server.url)) as client:
                with pytest.raises(scforhis.OutcomeUnknownError) as caught:
                    await client.save(record)
                return caught.value.cause, await client.update(record), await client.save(record)

        if mode == "sync":
            with scforhis.Client(**client_options(server.url)) as client:
                with pytest.raises(scforhis.OutcomeUnknownError) as caught:
                    client.save(record)
                cause = caught.value.cause
                # Resolved as scforhis.errors says: Update answers Y, so the visit is stored.
                updated, again = client.update(record), client.save(record)
        else:
            cause, updated, again = asyncio.run(save_async())
        assert isinstance(cause, scforhis.ConnectionFailedError)
        assert updated.info == "更新成功"
        assert not again.ok and "已存在" in again.info  # refused: it is not dropped
    assert rows(db) == 2


def test_faults_are_off_by_default() -> None:
    assert not config().faults.active
    assert config().faults.describe() == "off"
