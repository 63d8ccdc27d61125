"""`make generate`: spec -> model -> every output under generated/ and scforhis/_generated/."""

from __future__ import annotations

from pathlib import Path

from .diff import changelog
from .emit_docs import emit_docs
from .emit_openapi import emit_openapi
from .emit_python import GENERATED_PACKAGE, emit_python
from .emit_schemas import emit_schemas
from .emit_vectors import emit_vectors
from .load import load_spec
from .model import build_model
from .render import ruff_format, write_tree

# Folders of generated/ that are rebuilt from scratch on every run.
OUTPUT_FOLDERS = ("schemas", "docs", "test-vectors")


def generate(spec_path: Path, out: Path, package: Path = Path(GENERATED_PACKAGE)) -> int:
    """Check the spec, build the model, write every output; return how many files were written.

    What vendors take (schemas, OpenAPI, docs, vectors) goes under `out`; the generated modules
    of the Python package go to `package`, beside the hand-written code that they import.
    """
    spec = build_model(load_spec(spec_path))
    files = {
        **emit_schemas(spec),
        **emit_openapi(spec),
        **emit_vectors(spec),
        **emit_docs(spec),
    }
    files["CHANGELOG.md"] = changelog(spec_path)
    write_tree(out, files, OUTPUT_FOLDERS)
    modules = emit_python(spec)
    write_tree(package, modules, (".",))
    ruff_format(package)
    return len(files) + len(modules)
