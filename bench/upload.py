"""`scforhis upload --jobs N` over a slow line: records per second as a share of the ideal.

The sandbox runs in its own process with `--latency-ms 50` added to every answer, as a VPN to
the service might. One record at a time can then reach at most 20 records a second; N at once,
N × 20. Each run uploads 2,000 distinct Save records (a JSON Lines file, a fresh journal) with
`scforhis upload` as a clerk runs it, timed from start to exit, at --jobs 1, 4 and 8; the peer is
that ideal (jobs ÷ latency). Goal: at least 0.8 of the ideal at 8 jobs on this 2-core machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scforhis.sandbox.settings import DEMO_ACCOUNT

from . import ROOT
from .records import valid_save_records

COUNT = 2000
LATENCY = 0.050  # seconds added to every answer
JOBS = (1, 4, 8)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCFORHIS_")}
    env.update(
        PYTHONPATH=str(ROOT),
        SCFORHIS_BASE_URL=url,
        SCFORHIS_ACCOUNT=DEMO_ACCOUNT.account,
        SCFORHIS_PASSWORD=DEMO_ACCOUNT.password,
    )
    return env


def _start_sandbox(db: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "scforhis", "sandbox", "--port", str(port), "--db", str(db),
         "--latency-ms", str(int(LATENCY * 1000))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environment(""),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    server.kill()
    raise RuntimeError("the sandbox did not start")


def _records(offset: int) -> list[dict[str, str]]:
    """`COUNT` distinct Saves of the demo institution, without credentials (the client adds them)."""
    records = valid_save_records(COUNT, seed=1000 + offset)  # other patients in each run
    for record in records:
        record.pop("account", None)
        record.pop("password", None)
    return records


def main() -> list[str]:
    """Run the benchmark; return the report lines."""
    lines = [
        f"upload: {COUNT:,} Saves through `scforhis upload` to the sandbox with "
        f"{LATENCY * 1000:.0f} ms added to every answer (start to exit)",
        f"  {'jobs':>4}  {'records/s':>10}  {'ideal':>7}  {'share of ideal':>15}",
    ]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        server = _start_sandbox(Path(folder) / "sandbox.db", port)
        try:
            for index, jobs in enumerate(JOBS):
                path = Path(folder) / f"export-{jobs}.jsonl"
                records = _records(index + 1)
                path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "scforhis", "upload", "--op", "Save", "--jobs",
                     str(jobs), "--quiet", str(path)],
                    env=_environment(url),
                    capture_output=True,
                    text=True,
                    check=False,
                )  # fmt: skip
                elapsed = time.perf_counter() - started
                if done.returncode != 0:
                    raise RuntimeError(f"upload --jobs {jobs} failed:\n{done.stdout}{done.stderr}")
                rate = COUNT / elapsed
                ideal = jobs / LATENCY
                lines.append(f"  {jobs:>4}  {rate:>10,.1f}  {ideal:>7,.0f}  {rate / ideal:>15.2f}")
        finally:
            server.kill()
            server.wait()
    lines.append("  (ideal = jobs ÷ latency: the rate if nothing but the added latency took time)")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
