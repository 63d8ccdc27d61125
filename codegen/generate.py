"""`make generate`: spec -> model -> every output under generated/."""

from __future__ import annotations

from pathlib import Path

from .emit_python import emit_python
from .emit_schemas import emit_schemas
from .load import load_spec
from .model import build_model
from .render import ruff_format, write_tree

# Folders of generated/ that are rebuilt from scratch on every run.
OUTPUT_FOLDERS = ("schemas", "python")


def generate(spec_path: Path, out: Path) -> int:
    """Check the spec, build the model, write every output; return how many files were written."""
    spec = build_model(load_spec(spec_path))
    files = {**emit_schemas(spec), **emit_python(spec)}
    write_tree(out, files, OUTPUT_FOLDERS)
    ruff_format(out / "python")
    return len(files)
