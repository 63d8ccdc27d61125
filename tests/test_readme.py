"""The README's code runs as written: every Python block, and every `scforhis` command of its
shell blocks, against the embedded sandbox, in a fresh interpreter each.

Set-up lines (`pip`, `make`, `git`) and `scforhis sandbox` itself are not run: the test's own
environment is what they make, and the embedded sandbox stands in for the one they start.
`export` lines set the environment of the commands after them, with the sandbox's address in
place of `http://127.0.0.1:8000`. The example report of the CSV walk-through must be what
`scforhis validate` prints for the `export.csv` it describes.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import DEMO_ACCOUNT
from tests.conftest import ROOT
from tests.sandbox_support import config, visit

README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
SET_UP = ("pip ", "make ", "git ", "cd ", "scforhis sandbox")
README_URL = "http://127.0.0.1:8000"


def blocks(language: str) -> list[str]:
    """The README's fenced blocks of `language`, indentation removed."""
    found = []
    for indent, lang, body in FENCE.findall(README):
        if lang == language:
            found.append("\n".join(line[len(indent) :] for line in body.splitlines()))
    return found


def example_report() -> list[str]:
    """The report the CSV walk-through shows for `scforhis validate`."""
    section = README.split("1. Check it (nothing is sent)", 1)[1]
    (_, _, body) = FENCE.findall(section)[0]
    return [line.strip() for line in body.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    db = tmp_path_factory.mktemp("readme-sandbox") / "sandbox.db"
    with SandboxThread(config(), db) as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with the walk-through's `export.csv`: cp950, CRLF, as Excel writes it."""
    rows = [
        visit(1),
        visit(2, smokE_MON="18"),
        {**visit(3), "id": "A123456788"},
        visit(4, casE_KIND="2"),
    ]
    for row in rows:
        del row["account"], row["password"]  # an export holds no credentials
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(rows[0]))
    writer.writerows([list(row.values()) for row in rows])
    (tmp_path / "export.csv").write_bytes(out.getvalue().encode("cp950"))
    return tmp_path


def environment(sandbox: SandboxThread) -> dict[str, str]:
    """This process's environment without SCFORHIS_* settings, plus the settings the README's
    `export` lines give (the sandbox's address in place of the README's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCFORHIS_")}
    env["PYTHONPATH"] = str(ROOT)
    for line in shell_commands():
        words = shlex.split(line.replace(README_URL, sandbox.url))
        if words[0] == "export":
            env.update(word.split("=", 1) for word in words[1:])
    assert env.get("SCFORHIS_ACCOUNT") == DEMO_ACCOUNT.account, "the README gives the settings"
    return env


def printed_after(code: str) -> list[str]:
    """The output the README shows right after a Python block (a plain fenced block), if any."""
    after = README.split(code, 1)[1].split("```", 1)[1]  # past the block's closing fence
    match = FENCE.search(after)
    if match is None or match.group(2) or after[: match.start()].count("```"):
        return []
    between = after[: match.start()]
    if "prints" not in between:
        return []
    return [line.strip() for line in match.group(3).splitlines() if line.strip()]


@pytest.mark.parametrize("number", range(len(blocks("python"))))
def test_every_python_block_runs(number: int, sandbox: SandboxThread, workdir: Path) -> None:
    code = blocks("python")[number]
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workdir,
        env=environment(sandbox),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"block {number}:\n{code}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    # What the README says the block prints, it prints (abridged: every line shown is there).
    shown = [line.strip() for line in done.stdout.splitlines()]
    for line in printed_after(code):
        assert line in shown, f"the README shows {line!r}; the block printed:\n{done.stdout}"


def shell_commands() -> list[str]:
    lines = []
    for block in blocks("sh"):
        for line in block.splitlines():
            line = line.split(" # ")[0].strip()
            if line and not line.startswith("#") and not line.startswith(SET_UP):
                lines.append(line)
    return lines


def test_every_scforhis_command_runs(sandbox: SandboxThread, workdir: Path) -> None:
    env = environment(sandbox)
    ran = []
    for line in shell_commands():
        words = shlex.split(line.replace(README_URL, sandbox.url))
        if words[0] == "export":
            continue  # in `env` already
        assert words[0] == "scforhis", f"the README's shell blocks run only scforhis: {line}"
        done = subprocess.run(
            [sys.executable, "-m", "scforhis", *words[1:]],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # 1 is an answer (some record invalid or not accepted), not a failure of the command.
        assert done.returncode in (0, 1), f"{line}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        ran.append((words[1], done.stdout))
    assert {"validate", "upload", "--version"} <= {name for name, _ in ran}
    report = next(out for name, out in ran if name == "validate")
    shown = [line.strip() for line in report.splitlines()]
    for line in example_report():
        assert line in shown, f"the README shows {line!r}; validate printed:\n{report}"
