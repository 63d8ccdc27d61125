"""`make demo` runs the whole workflow against the embedded sandbox and succeeds."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_demo_drives_the_whole_workflow() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.demo"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for answer in (
        "儲存成功",
        "更新成功",
        "刪除成功",
        "預留收案成功",
        "[checksum]",
        "Did you mean 'smokE_YEAR'",
    ):
        assert answer in done.stdout
    assert "A123456788" not in done.stdout
