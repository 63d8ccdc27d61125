"""The command line as a clerk's terminal shows it: run as a subprocess in a pseudo-terminal
(progress moves, and never runs into the report) and with output redirected, on cp950 and UTF-8
consoles (a character the console cannot show is replaced, never a crash)."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.sandbox_support import visit

TODAY = "2026-11-25"


def _env(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCFORHIS_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(changes)
    return env


def _in_a_terminal(args: list[str], cwd: Path) -> tuple[int, bytes]:
    """Run `python -m scforhis ARGS` with standard output and error on one pseudo-terminal."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "scforhis", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        cwd=cwd,
        env=_env(TERM="xterm"),
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(main)
    return process.wait(timeout=10), seen


def test_progress_moves_and_never_runs_into_the_report(tmp_path: Path) -> None:
    records = [visit(n) for n in range(1, 4000)]
    records[1500] = {**records[1500], "id": "A123456788"}  # one invalid record, mid-file
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    status, seen = _in_a_terminal(
        ["validate", "--op", "Save", "--today", TODAY, "export.jsonl"], tmp_path
    )
    text = seen.decode("utf-8", errors="replace")
    assert status == 1
    assert "檢查中 validating" in text  # the progress line was drawn
    # Every report line starts on a clean line: the progress line is wiped before it.
    for marker in ("第 1501 筆", "共 3999 筆"):
        before = text[: text.index(marker)]
        assert before.endswith(("\x1b[K", "\n")), repr(before[-40:])


def test_redirected_output_has_no_progress_codes(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([visit(1), {**visit(2), "id": "A123456788"}]), "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "scforhis", "validate", "--op", "Save", "--today", TODAY, str(path)],
        capture_output=True,
        env=_env(),
        check=False,
    )
    assert done.returncode == 1
    assert b"\x1b[" not in done.stdout and b"\x1b[" not in done.stderr
    assert "第 2 筆" in done.stdout.decode("utf-8")


def test_a_cp950_console_replaces_what_it_cannot_show(tmp_path: Path) -> None:
    # A field name with characters Big5 lacks: the warning echoes it.
    record = {**visit(1), "備註😀é": "x"}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([record], ensure_ascii=False), "utf-8")
    for encoding in ("cp950", "utf-8"):
        done = subprocess.run(
            [sys.executable, "-m", "scforhis", "validate", "--op", "Save", "--today", TODAY,
             str(path)],
            capture_output=True,
            env=_env(PYTHONIOENCODING=encoding),
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode(encoding, errors="replace")
        out = done.stdout.decode(encoding)
        assert "unknown_field" in out and "未知欄位" in out
        if encoding == "utf-8":
            assert "備註😀é" in out
        else:
            assert "備註" in out and "?" in out


def test_a_sandbox_that_cannot_listen_says_why_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "scforhis", "sandbox", "--port", str(port), "--db",
             str(tmp_path / "sandbox.db")],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=60,
            check=False,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert f"127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert not (tmp_path / "sandbox.db").exists()
