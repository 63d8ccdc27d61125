"""The sandbox server's speed: Saves and eligibility queries through real uvicorn and SQLite.

The server runs in its own process (so the clients do not share its interpreter lock), with the
bare route on: `POST /_bare/Save` goes through the same Starlette routing, body reading, JSON
parsing and answer format as `/Save`, without validation or storage. Each real Save is one
`BEGIN IMMEDIATE` transaction committed with `synchronous=FULL`, so its numbers include
SQLite's commit.

Measured in one run: sequential Saves and GetSCDataB queries, then 20 concurrent clients each
sending 50 requests, first to the bare route and then to `/Save` (distinct records), with
requests per second and p50/p99 latency, and the stored row count checked afterwards.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

import httpx

import scforhis
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import DEMO_ACCOUNT, SandboxConfig

from .records import spec, valid_save_records

SEQUENTIAL = 300
CLIENTS, EACH = 20, 50


def _serve(db: str, pipe: Connection) -> None:
    """In the server process: run the sandbox with the bare route until told to stop."""
    with SandboxThread(SandboxConfig(), db, bare_route=True) as server:
        pipe.send(server.url)
        pipe.recv()


class Load(NamedTuple):
    """The outcome of one concurrent run."""

    rate: float  # requests per second
    p50: float  # seconds
    p99: float  # seconds
    accepted: int


def _concurrent(url: str, path: str, batches: list[list[dict[str, Any]]]) -> Load:
    """`len(batches)` threads, each with its own keep-alive connection, posting its batch."""

    def one_client(batch: list[dict[str, Any]]) -> tuple[list[float], int]:
        times, accepted = [], 0
        with httpx.Client(base_url=url) as http:
            for record in batch:
                start = time.perf_counter()
                answer = http.post(path, json=record)
                times.append(time.perf_counter() - start)
                accepted += answer.json().get("msG_CODE") == "Y"
        return times, accepted

    start = time.perf_counter()
    with ThreadPoolExecutor(len(batches)) as pool:
        results = list(pool.map(one_client, batches))
    elapsed = time.perf_counter() - start
    latencies = sorted(t for times, _ in results for t in times)
    centiles = statistics.quantiles(latencies, n=100)
    return Load(len(latencies) / elapsed, centiles[49], centiles[98], sum(a for _, a in results))


def _rate(label: str, count: int, seconds: float) -> str:
    return f"  {label:38}{seconds / count * 1e6:9.0f} µs/request{count / seconds:10,.0f} requests/s"


def _load_line(label: str, load: Load) -> str:
    return (
        f"  {label:38}{load.rate:9,.0f} requests/s"
        f"  p50 {load.p50 * 1000:5.1f} ms  p99 {load.p99 * 1000:6.1f} ms"
    )


def _timed(action: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        action()
    return time.perf_counter() - start


def main() -> list[str]:
    """Run the benchmark; return report lines."""
    records: list[dict[str, Any]] = valid_save_records(SEQUENTIAL + 2 * CLIENTS * EACH, seed=11)
    sequential = records[:SEQUENTIAL]
    concurrent = records[SEQUENTIAL : SEQUENTIAL + CLIENTS * EACH]
    through_client = records[SEQUENTIAL + CLIENTS * EACH :]
    query = dict(spec().operation("GetSCDataB").examples[0].request, isBooking="false")
    lines = [
        "sandbox: uvicorn + Starlette + SQLite (WAL, synchronous=FULL) on loopback,"
        " server in its own process"
    ]
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(str(db), theirs), daemon=True)
        process.start()
        try:
            url = ours.recv()
            with httpx.Client(base_url=url) as http:
                saves = iter(sequential)
                seconds = _timed(lambda: http.post("/Save", json=next(saves)), SEQUENTIAL)
                lines.append(_rate("Save, sequential (httpx)", SEQUENTIAL, seconds))
                login = {"id": DEMO_ACCOUNT.account, "pwd": DEMO_ACCOUNT.password}
                query["token"] = http.get("/GetTokenID", params=login).json()["tokenid"]
                seconds = _timed(lambda: http.get("/GetSCDataB", params=query), SEQUENTIAL)
                lines.append(_rate("GetSCDataB, sequential (httpx)", SEQUENTIAL, seconds))

            batches = [concurrent[i * EACH : (i + 1) * EACH] for i in range(CLIENTS)]
            bare = _concurrent(url, "/_bare/Save", batches)
            save = _concurrent(url, "/Save", batches)

            def one_client(batch: list[dict[str, Any]]) -> int:
                with scforhis.Client(base_url=url, env={}) as client:
                    return sum(client.save(record).ok for record in batch)

            start = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                stored = sum(
                    pool.map(one_client, [through_client[i::CLIENTS] for i in range(CLIENTS)])
                )
            client_rate = len(through_client) / (time.perf_counter() - start)
        finally:
            ours.send("stop")
            process.join(timeout=30)
        with sqlite3.connect(db) as connection:
            rows = connection.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
    expected = SEQUENTIAL + 2 * CLIENTS * EACH
    lines += [
        f"  {CLIENTS} concurrent clients × {EACH} requests each (httpx, keep-alive):",
        _load_line("  bare routing (/_bare/Save)", bare),
        _load_line("  Save (validate + store)", save),
        f"    Save / bare routing: {save.rate / bare.rate:.2f}× the throughput,"
        f" p50 {save.p50 / bare.p50:.2f}×, p99 {save.p99 / bare.p99:.2f}× the latency",
        f"  Save, {CLIENTS} concurrent scforhis.Clients{client_rate:17,.0f} saves/s",
        f"  stored: {rows} rows ({expected} expected; {save.accepted + stored} concurrent"
        f" Saves accepted of {2 * CLIENTS * EACH})",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
