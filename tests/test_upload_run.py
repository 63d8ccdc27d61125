"""`scforhis upload` as a clinic uses it with a day's records: a corrected row goes out as an
Update, one run per journal, an early stop on a refused login or an unreachable service, one
line for a bad setting, concurrent sending, and kill -9 at random moments with `--jobs 8`
followed by `--resolve-unknown` and a rerun: every visit stored once, with the input's values.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scforhis.cli import main
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import DEMO_ACCOUNT, SandboxConfig
from tests.conftest import ROOT
from tests.sandbox_support import visit
from tests.test_cli_upload import calls, settings, stored  # noqa: F401 - fixtures


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxThread]:
    with SandboxThread(SandboxConfig(), tmp_path / "sandbox.db") as server:
        yield server


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def run(
    capsys: pytest.CaptureFixture[str], url: str, path: Path, *args: str
) -> tuple[int, str, str]:
    status = main(["upload", "--op", "Save", "--lang", "en", "--base-url", url, str(path), *args])
    out, err = capsys.readouterr()
    for secret in (DEMO_ACCOUNT.account, DEMO_ACCOUNT.password):
        assert secret not in out + err
    return status, out, err


def stored_values(db: Path, field: str) -> dict[str, str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT id, record FROM visits").fetchall()
    return {patient: json.loads(record)[field] for patient, record in rows}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_corrected_row_is_sent_as_an_update_and_unchanged_rows_are_skipped(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    calls: Counter[tuple[str, str]],  # noqa: F811
) -> None:
    records = [visit(n) for n in range(5)]
    path = write_jsonl(tmp_path / "day.jsonl", records)
    assert run(capsys, sandbox.url, path)[0] == 0
    records[2] = {**records[2], "smokE_DAY_NUM": "25"}  # the clerk fixes one row
    write_jsonl(path, records)
    status, out, _ = run(capsys, sandbox.url, path)
    assert status == 0 and "corrected 1" in out and "skipped (accepted before) 4" in out
    assert calls[("update", records[2]["id"])] == 1
    assert stored_values(tmp_path / "sandbox.db", "smokE_DAY_NUM")[records[2]["id"]] == "25"
    # A third run finds nothing changed: the journal holds what was sent last.
    status, out, _ = run(capsys, sandbox.url, path)
    assert status == 0 and "skipped (accepted before) 5" in out
    assert sum(calls.values()) == 6  # five Saves, one Update


def test_one_run_per_journal(
    tmp_path: Path, sandbox: SandboxThread, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "day.jsonl", [visit(1)])
    journal = f"{path}.journal.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom scforhis.batch.journal import Journal\n"
         f"j = Journal({journal!r})\nprint('held', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        status, _, err = run(capsys, sandbox.url, path)
        assert status == 2 and err.count("\n") == 1 and str(holder.pid) in err
        assert not stored(tmp_path / "sandbox.db")
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its process (kill -9 included): the next run goes ahead.
    assert run(capsys, sandbox.url, path)[0] == 0


def test_a_refused_login_ends_the_run_before_any_record(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    calls: Counter[tuple[str, str]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCFORHIS_PASSWORD", "wrong-password")
    path = write_jsonl(tmp_path / "day.jsonl", [visit(n) for n in range(50)])
    status, out, err = run(capsys, sandbox.url, path)
    assert status == 2 and err.count("\n") == 1 and "refused" in err
    assert "wrong-password" not in out + err
    assert not calls and not stored(tmp_path / "sandbox.db")


def test_an_unreachable_service_ends_the_run_within_seconds(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_jsonl(tmp_path / "day.jsonl", [visit(n) for n in range(200)])
    monkeypatch.setenv("SCFORHIS_RETRY_BACKOFF", "0.2")
    # Nothing listens at all: the first request tells.
    started = time.monotonic()
    status, _, err = run(capsys, f"http://127.0.0.1:{free_port()}", path)
    assert status == 2 and err.count("\n") == 1 and time.monotonic() - started < 15
    # The login works but the upload service is down: a few records, then the run stops, and
    # the rest are left untouched for the next run.
    monkeypatch.setenv("SCFORHIS_QUERY_URL", sandbox.url)
    monkeypatch.setenv("SCFORHIS_UPLOAD_URL", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    status = main(["upload", "--op", "Save", "--lang", "en", str(path)])
    err = capsys.readouterr().err
    assert status == 2 and "could not reach the service" in err
    assert time.monotonic() - started < 30
    with sqlite3.connect(f"{path}.journal.sqlite3") as journal:
        tried = journal.execute("SELECT count(*) FROM uploads").fetchone()[0]
    assert tried < 20, tried  # not one attempt per record


@pytest.mark.parametrize(
    ("name", "value"),
    [("SCFORHIS_TIMEOUT", "nan"), ("SCFORHIS_RETRIES", "inf"), ("SCFORHIS_TIMEOUT", "-1"),
     ("SCFORHIS_RETRY_BACKOFF", "abc"), ("SCFORHIS_TOKEN_MAX_AGE", "inf")],
)  # fmt: skip
def test_a_bad_setting_is_one_line_and_status_2(
    tmp_path: Path,
    sandbox: SandboxThread,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(name, value)
    path = write_jsonl(tmp_path / "day.jsonl", [visit(1)])
    status, _, err = run(capsys, sandbox.url, path)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert name.removeprefix("SCFORHIS_").lower().replace("_", "") in err.lower().replace("_", "")


@pytest.mark.parametrize("bad", ["directory", "not sqlite"])
def test_an_unusable_journal_is_one_line_and_status_2(
    tmp_path: Path, sandbox: SandboxThread, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    path = write_jsonl(tmp_path / "day.jsonl", [visit(1)])
    journal = tmp_path / "journal"
    if bad == "directory":
        journal.mkdir()
    else:
        journal.write_bytes(b"this is not a database" * 100)
    status, _, err = run(capsys, sandbox.url, path, "--journal", str(journal))
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert not stored(tmp_path / "sandbox.db")


def test_the_journal_is_private_and_holds_no_id_in_clear(
    tmp_path: Path, sandbox: SandboxThread, capsys: pytest.CaptureFixture[str]
) -> None:
    record = visit(7)
    path = write_jsonl(tmp_path / "day.jsonl", [record])
    assert run(capsys, sandbox.url, path)[0] == 0
    files = [p for p in tmp_path.iterdir() if p.name.startswith("day.jsonl.journal")]
    assert files
    for file in files:
        assert file.stat().st_mode & 0o777 == 0o600, file
        assert record["id"].encode() not in file.read_bytes(), file
    assert (tmp_path / "sandbox.db").stat().st_mode & 0o777 == 0o600


def _sandbox_process(db: Path, port: int, latency_ms: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "scforhis", "sandbox", "--port", str(port), "--db", str(db),
         "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the sandbox did not start")


def test_kill_9_at_random_moments_with_8_jobs_loses_and_doubles_nothing(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "sandbox.db"
    server = _sandbox_process(db, port, latency_ms=30)
    records = [visit(n, smokE_DAY_NUM=str(10 + n % 7)) for n in range(120)]
    path = write_jsonl(tmp_path / "day.jsonl", records)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SCFORHIS_")},
        "PYTHONPATH": str(ROOT),
        "SCFORHIS_BASE_URL": f"http://127.0.0.1:{port}",
        "SCFORHIS_ACCOUNT": DEMO_ACCOUNT.account,
        "SCFORHIS_PASSWORD": DEMO_ACCOUNT.password,
        "SCFORHIS_RETRY_BACKOFF": "0",
    }
    command = [sys.executable, "-m", "scforhis", "upload", "--op", "Save", "--jobs", "8", str(path)]
    moments = random.Random(20261130)
    try:
        for _ in range(4):
            uploader = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(moments.uniform(0.3, 1.2))
            uploader.send_signal(signal.SIGKILL)
            uploader.wait()
        settled = subprocess.run([*command, "--resolve-unknown"], env=env, capture_output=True,
                                 text=True, timeout=300)  # fmt: skip
        assert settled.returncode == 0, settled.stdout + settled.stderr
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0 and "先前已接受、略過 120 筆" in again.stdout, again.stdout
    finally:
        server.kill()
        server.wait()
    assert stored(db) == Counter({r["id"]: 1 for r in records})
    assert stored_values(db, "smokE_DAY_NUM") == {r["id"]: r["smokE_DAY_NUM"] for r in records}
