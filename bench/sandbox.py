"""The sandbox server's speed: Saves and eligibility queries through real uvicorn and SQLite.

Each Save is one `BEGIN IMMEDIATE` transaction committed with `synchronous=FULL` (on disk before
the answer leaves), so the numbers include SQLite's commit. Measured: sequential Saves with a bare
httpx.Client, sequential GetSCDataB queries (read-only transactions), and 20 concurrent
scforhis.Client threads saving 50 records each, with the stored row count checked afterwards.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import scforhis
from scforhis.sandbox_app import SandboxThread
from scforhis.sandbox_config import DEMO_ACCOUNT, SandboxConfig

from .records import spec, valid_save_records

SEQUENTIAL = 300
CLIENTS, EACH = 20, 50


def _rate(label: str, count: int, seconds: float) -> str:
    return f"  {label:34}{seconds / count * 1e6:9.0f} µs/request{count / seconds:10,.0f} requests/s"


def main() -> list[str]:
    """Run the benchmark; return report lines."""
    records: list[dict[str, Any]] = valid_save_records(SEQUENTIAL + CLIENTS * EACH, seed=11)
    sequential, concurrent = records[:SEQUENTIAL], records[SEQUENTIAL:]
    query = dict(spec().operation("GetSCDataB").examples[0].request, isBooking="false")
    lines = ["sandbox: uvicorn + Starlette + SQLite (WAL, synchronous=FULL) on loopback"]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        with (
            SandboxThread(SandboxConfig(), db) as server,
            httpx.Client(base_url=server.url) as http,
        ):
            start = time.perf_counter()
            for record in sequential:
                assert http.post("/Save", json=record).json()["msG_CODE"] == "Y"
            lines.append(_rate("Save, sequential (httpx)", SEQUENTIAL, time.perf_counter() - start))

            login = {"id": DEMO_ACCOUNT.account, "pwd": DEMO_ACCOUNT.password}
            query["token"] = http.get("/GetTokenID", params=login).json()["tokenid"]
            start = time.perf_counter()
            for _ in range(SEQUENTIAL):
                assert http.get("/GetSCDataB", params=query).text.startswith("戒菸治療可收案")
            lines.append(
                _rate("GetSCDataB, sequential (httpx)", SEQUENTIAL, time.perf_counter() - start)
            )

            def one_client(batch: list[dict[str, Any]]) -> int:
                with scforhis.Client(base_url=server.url, env={}) as client:
                    return sum(client.save(record).ok for record in batch)

            batches = [concurrent[i * EACH : (i + 1) * EACH] for i in range(CLIENTS)]
            start = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                stored = sum(pool.map(one_client, batches))
            elapsed = time.perf_counter() - start
        with sqlite3.connect(db) as connection:
            rows = connection.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
    lines.append(
        f"  Save, {CLIENTS} concurrent scforhis.Clients{CLIENTS * EACH / elapsed:19,.0f} saves/s"
        f" ({stored} accepted, {rows} rows = {SEQUENTIAL} + {CLIENTS * EACH} expected)"
    )
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
