"""Outputs for vendors who do not write Python: OpenAPI 3.1, reference docs, and the spec diff."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from openapi_spec_validator import validate

from codegen.diff import diff_specs, load_model
from codegen.openapi_schemas import GeneratorDefs, request_component
from tests.conftest import ROOT, SPEC_PATH, spec_model

OPENAPI = json.loads((ROOT / "generated" / "openapi.json").read_text(encoding="utf-8"))
HISTORY = ROOT / "spec" / "history" / "1.0.yaml"


def test_openapi_is_valid_3_1() -> None:
    assert OPENAPI["openapi"].startswith("3.1")
    validate(OPENAPI)


def test_openapi_has_every_operation_as_the_manual_describes_it() -> None:
    for operation in spec_model().operations:
        item = OPENAPI["paths"][f"/{operation.path}"][operation.method.lower()]
        assert item["operationId"] == operation.name
        if operation.input == "query":
            assert [p["name"] for p in item["parameters"]] == [f.wire for f in operation.fields]
            assert all(p["in"] == "query" for p in item["parameters"])
        else:
            assert "application/json" in item["requestBody"]["content"]
        media = "text/plain" if operation.response.kind == "text" else "application/json"
        assert media in item["responses"]["200"]["content"]
    assert "requestBody" in OPENAPI["paths"]["/Delete"]["delete"]


def test_openapi_components_come_from_the_model_not_a_retyping() -> None:
    spec = spec_model()
    for operation in spec.operations:
        if operation.input == "query":
            # The GETs' parameters are the request: no component beside them (typescript-fetch
            # names its parameter types `GetTokenIDRequest` too).
            assert f"{operation.name}Request" not in OPENAPI["components"]["schemas"]
            continue
        component = OPENAPI["components"]["schemas"][f"{operation.name}Request"]
        assert component == request_component(spec, operation, GeneratorDefs())
        assert list(component["properties"]) == [
            name for f in operation.fields for name in (f.wire, f.alias) if name
        ]
    enum = OPENAPI["components"]["schemas"]["cure_type"]
    assert enum["x-enum-varnames"] == [v.name for v in spec.enums["cure_type"].values]
    assert len(enum["x-enum-descriptions"]) == 2


@pytest.mark.parametrize("operation", [op.name for op in spec_model().operations])
def test_docs_page_lists_every_field_and_rule(operation: str) -> None:
    page = (ROOT / "generated" / "docs" / f"{operation}.md").read_text(encoding="utf-8")
    op = spec_model().operation(operation)
    for field in op.fields:
        assert f"| `{field.wire}` |" in page
    for rule in op.rules:
        assert f"`{rule.id}`" in page
    index = (ROOT / "generated" / "docs" / "index.md").read_text(encoding="utf-8")
    assert f"[{operation}]({operation}.md)" in index


def test_docs_errata_hold_every_decision() -> None:
    page = (ROOT / "generated" / "docs" / "errata.md").read_text(encoding="utf-8")
    for erratum in spec_model().errata:
        assert f'<a id="{erratum.key}"></a>' in page and erratum.decision_en in page


def test_diff_from_1_0_adds_the_three_fields_of_1_1_as_breaking() -> None:
    changes = diff_specs(load_model(HISTORY), load_model(SPEC_PATH))
    added = {(c.operation, c.subject) for c in changes if c.text.startswith("新增欄位")}
    wires = ["`height`", "`basE_WEIGHT`", "`curE_AGREE2`"]
    assert added == {(op, w) for op in ("Save", "Update") for w in wires}
    assert all(c.breaking for c in changes)


def test_diff_backwards_is_not_breaking_and_same_is_empty() -> None:
    assert not any(c.breaking for c in diff_specs(load_model(SPEC_PATH), load_model(HISTORY)))
    assert diff_specs(load_model(SPEC_PATH), load_model(SPEC_PATH)) == []


def test_diff_command_prints_markdown() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "diff", str(HISTORY), str(SPEC_PATH)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert done.stdout.startswith("## 1.0 → 1.1")
    assert "| Save | `height` |" in done.stdout and "**是 yes**" in done.stdout


def test_changelog_is_generated_from_history() -> None:
    text = (ROOT / "generated" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## 1.0 → 1.1" in text and "新增欄位身高、體重、癌症篩檢是否同意欄位" in text


def test_openapi_documents_the_refusals_of_an_unreadable_body() -> None:
    """A JSON body that cannot be read gets 400, 413 or 415 with MSG_CODE N; a query never does."""
    for operation in spec_model().operations:
        responses = OPENAPI["paths"][f"/{operation.path}"][operation.method.lower()]["responses"]
        if operation.input == "query":
            assert list(responses) == ["200"]
            continue
        assert list(responses) == ["200", "400", "413", "415"]
        for status in ("400", "413", "415"):
            schema = responses[status]["content"]["application/json"]["schema"]
            # The reply itself (a composition would be one more model per status in a client).
            assert schema == {"$ref": f"#/components/schemas/{operation.name}Response"}
            assert "msG_CODE = N." in responses[status]["description"]
