"""No data lost under load: 20 concurrent clients each saving 50 distinct records store exactly
1000 rows with no server error, a restart keeps them, and a duplicate Save sent twice at once
stores one row (threads and asyncio)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import scforhis
from scforhis.sandbox.app import SandboxThread
from tests.sandbox_support import client_options, config, patient, visit

CLIENTS = 20
RECORDS_EACH = 50


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own SQLite file."""
    return tmp_path_factory.mktemp("sandbox-load") / "sandbox.db"


def rows(db: Path, patient_id: str | None = None) -> int:
    """Stored visit rows, all or one patient's, counted in the SQLite file itself."""
    with sqlite3.connect(db) as connection:
        if patient_id is None:
            count: int = connection.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
        else:
            count = connection.execute(
                "SELECT COUNT(*) FROM visits WHERE id = ?", (patient_id,)
            ).fetchone()[0]
    return count


def test_concurrent_clients_lose_nothing_and_a_restart_keeps_it(db: Path) -> None:
    def one_client(number: int) -> list[scforhis.ApiResult]:
        with scforhis.Client(**client_options(url)) as client:
            return [client.save(visit(number * 1000 + i)) for i in range(RECORDS_EACH)]

    with SandboxThread(config(), db) as server:
        url = server.url
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [r for batch in pool.map(one_client, range(CLIENTS)) for r in batch]
        assert len(results) == CLIENTS * RECORDS_EACH
        assert {(r.ok, r.info) for r in results} == {(True, "儲存成功")}
        assert rows(db) == CLIENTS * RECORDS_EACH

    with (
        SandboxThread(config(), db) as server,
        scforhis.Client(**client_options(server.url)) as client,
    ):
        assert rows(db) == CLIENTS * RECORDS_EACH
        # The restarted server knows the records: saving one again is a duplicate, updating works.
        first, last = visit(0), visit((CLIENTS - 1) * 1000 + RECORDS_EACH - 1)
        assert [client.save(r).ok for r in (first, last)] == [False, False]
        assert client.update({**last, "smokE_DAY_NUM": "30"}).info == "更新成功"
        assert rows(db) == CLIENTS * RECORDS_EACH


def test_a_duplicate_save_sent_twice_at_once_stores_one_row_threads(db: Path) -> None:
    with SandboxThread(config(), db) as server:
        for attempt in range(5):
            record = visit(500_000 + attempt)
            barrier = threading.Barrier(2)

            def save(record: dict[str, str], barrier: threading.Barrier = barrier) -> bool:
                with scforhis.Client(**client_options(server.url)) as client:
                    barrier.wait()
                    return client.save(record).ok

            with ThreadPoolExecutor(2) as pool:
                outcomes = sorted(pool.map(save, [record, record]))
            assert outcomes == [False, True]
            assert rows(db, patient(500_000 + attempt)) == 1


def test_a_duplicate_save_sent_twice_at_once_stores_one_row_async(db: Path) -> None:
    numbers = range(600_000, 600_005)

    async def race() -> list[list[bool]]:
        async with scforhis.AsyncClient(**client_options(server.url)) as client:
            results = []
            for number in numbers:
                pair = await asyncio.gather(client.save(visit(number)), client.save(visit(number)))
                results.append(sorted(r.ok for r in pair))
            return results

    with SandboxThread(config(), db) as server:
        assert asyncio.run(race()) == [[False, True]] * len(numbers)
    assert all(rows(db, patient(number)) == 1 for number in numbers)
