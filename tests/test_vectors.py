"""The generated test vectors: the Python validator and JSON Schema pass every one, and Ajv in
Node.js (a second implementation in another language) gives the same schema verdicts."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from typing import Any

import jsonschema
import pytest

import scforhis
from tests.conftest import ROOT, load_schema, spec_model

TODAY = date(2026, 11, 25)
VECTOR_DIR = ROOT / "generated" / "test-vectors"
DOCUMENTS = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(VECTOR_DIR.glob("*.json"))
}
CASES = [(op, vector) for op, document in DOCUMENTS.items() for vector in document["vectors"]]


def test_every_operation_has_vectors_of_every_kind() -> None:
    assert set(DOCUMENTS) == {op.name for op in spec_model().operations}
    kinds = {vector["name"].split("/")[0] for _, vector in CASES}
    assert kinds >= {
        "valid",
        "missing",
        "blank",
        "type",
        "enum",
        "pattern",
        "checksum",
        "date",
        "range",
    }
    assert kinds >= {"enum_when", "required_when", "rule"}
    # Evidence-graded checks: storage bounds and one past them, plausibility, advice, and the
    # manual's examples exactly as printed.
    assert kinds >= {"boundary", "plausible", "length", "advice", "as_printed"}
    assert len(CASES) > 300


@pytest.mark.parametrize(
    ("operation", "vector"), CASES, ids=[f"{op}:{v['name']}" for op, v in CASES]
)
def test_python_validator_and_schema_agree_with_the_vector(
    operation: str, vector: dict[str, Any]
) -> None:
    result = scforhis.validate(operation, vector["payload"], today=TODAY)
    assert result.ok == vector["valid"], str(result)
    errors = {(issue.field, issue.code) for issue in result.errors}
    for expected in vector["errors"]:
        assert (expected["field"], expected["code"]) in errors, str(result)
    warnings = {(issue.field, issue.code, issue.rule) for issue in result.warnings}
    for expected in vector["warnings"]:
        assert (expected["field"], expected["code"], expected.get("rule")) in warnings, str(result)
    assert all(issue["severity"] == "error" for issue in vector["errors"])
    assert all(issue["severity"] == "warning" for issue in vector["warnings"])
    if not vector["warnings"] and not vector["errors"] and vector["name"].startswith("valid/"):
        assert result.warnings == (), str(result)
    schema = jsonschema.Draft202012Validator(load_schema(operation, "request"))
    assert schema.is_valid(vector["payload"]) == vector["schema_valid"]


def test_ajv_in_node_gives_the_same_schema_verdicts() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the cross-language check (make test installs Ajv with npm)"
    assert (ROOT / "tools" / "ajv" / "node_modules" / "ajv").is_dir(), (
        "run `make test` to install Ajv"
    )
    done = subprocess.run(
        [node, str(ROOT / "tools" / "ajv" / "check.mjs")],
        capture_output=True,
        text=True,
        check=True,
    )
    verdicts = json.loads(done.stdout)
    for operation, vector in CASES:
        python_verdict = jsonschema.Draft202012Validator(
            load_schema(operation, "request")
        ).is_valid(vector["payload"])
        assert verdicts[operation][vector["name"]] == python_verdict == vector["schema_valid"], (
            operation,
            vector["name"],
        )
