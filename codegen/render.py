"""Rendering: the Jinja2 environment, ruff formatting, and writing output trees."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("codegen", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)
_ENVIRONMENT.filters["repr"] = repr


def render_template(name: str, **context: Any) -> str:
    """Render one template with `context`."""
    return _ENVIRONMENT.get_template(name).render(**context)


# Settings given here, not read from a config file, so the bytes do not depend on where the
# output is written (CI's drift check and the tests generate into other folders).
RUFF_SETTINGS = [
    "--isolated",
    "--no-cache",
    "--line-length",
    "100",
    "--target-version",
    "py311",
    # The generated modules import the hand-written package they stand in: sort it as our own.
    "--config",
    "lint.isort.known-first-party = ['scforhis']",
]


def ruff_format(path: Path) -> None:
    """Format the Python files under `path` in place with the pinned ruff, and sort imports."""
    for arguments in (["check", "--select", "I,RUF022", "--fix", "--quiet"], ["format", "--quiet"]):
        subprocess.run(
            [sys.executable, "-m", "ruff", *arguments, *RUFF_SETTINGS, str(path)], check=True
        )


def write_tree(root: Path, files: dict[str, str], rebuilt: tuple[str, ...]) -> None:
    """Write `files` under `root`; each folder in `rebuilt` is emptied first, so nothing stale stays."""
    for folder in rebuilt:
        shutil.rmtree(root / folder, ignore_errors=True)
    for relative, text in sorted(files.items()):
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
