"""What `pip install .` gives a clerk: a `scforhis` command that works with the package's one
dependency (httpx), and a wheel that holds the package only, not the generator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages

from tests.conftest import ROOT
from tests.sandbox_support import visit

# Run the CLI with the optional libraries made unimportable, as on a plain install.
WITHOUT_EXTRAS = (
    "import sys\n"
    "for name in ('rich', 'orjson', 'starlette', 'uvicorn', 'yaml', 'jinja2', 'jsonschema'):\n"
    "    sys.modules[name] = None\n"
    "from scforhis.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_the_cli_validates_without_the_optional_libraries(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([visit(1), {**visit(2), "id": "A123456788"}]), "utf-8")
    for form in ("text", "json"):
        done = subprocess.run(
            [sys.executable, "-c", WITHOUT_EXTRAS, "validate", "--op", "Save", "--format", form,
             "--today", "2026-11-25", str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert "A12****788" in done.stdout and "Traceback" not in done.stderr


def test_the_wheel_holds_the_package_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = set(find_packages(where=str(ROOT), include=include))
    # The hand-written wings and the generated subpackage, and nothing of the generator or tests.
    assert {"scforhis", "scforhis._generated", "scforhis.validation", "scforhis.client"} <= shipped
    assert {"scforhis.sandbox", "scforhis.batch"} <= shipped
    assert all(name == "scforhis" or name.startswith("scforhis.") for name in shipped)
    assert project["project"]["dependencies"] == ["httpx>=0.27"]
    assert "rich" not in json.dumps(project["project"]["optional-dependencies"])
