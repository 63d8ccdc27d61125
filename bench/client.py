"""Client overhead: the same Save posted with scforhis.Client and with a bare httpx.Client.

Both talk to the same local server over loopback, one request at a time, alternating rounds so
that drift on the machine affects both alike. scforhis.Client also validates the record, maps
names, fills in credentials, logs one line and parses the answer.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx

import scforhis

from .local_server import serving
from .records import valid_save_records

ROUNDS, PER_ROUND = 7, 200


def main() -> list[str]:
    """Run the benchmark; return report lines."""
    record = valid_save_records(1)[0]
    wire: dict[str, Any] = dict(record)
    with serving() as base_url:
        ours = scforhis.Client(
            base_url=base_url, account=record["account"], password=record["password"]
        )
        bare = httpx.Client(base_url=base_url)

        def with_scforhis() -> None:
            result = ours.save(record)
            assert result.ok

        def with_httpx() -> None:
            response = bare.post("/Save", json=wire)
            assert response.json()["msG_CODE"] == "Y"

        timings: dict[str, list[float]] = {"scforhis.Client": [], "httpx.Client": []}
        for _ in range(ROUNDS):
            for name, call in (("scforhis.Client", with_scforhis), ("httpx.Client", with_httpx)):
                start = time.perf_counter()
                for _ in range(PER_ROUND):
                    call()
                timings[name].append((time.perf_counter() - start) / PER_ROUND)
        ours.close()
        bare.close()
    median = {name: statistics.median(values) for name, values in timings.items()}
    ratio = median["scforhis.Client"] / median["httpx.Client"]
    lines = [f"client: one Save on loopback, median of {ROUNDS} rounds of {PER_ROUND} (sequential)"]
    for name, seconds in median.items():
        lines.append(f"  {name:18}{seconds * 1e6:9.0f} µs/request{1 / seconds:10,.0f} requests/s")
    lines.append(f"  overhead ratio scforhis.Client / httpx.Client: {ratio:.3f}x (goal <= 1.15x)")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
