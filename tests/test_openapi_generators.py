"""The OpenAPI document is shaped for code generators and still says what the JSON Schemas say.

Issue 17: OpenAPI Generator and openapi-typescript turn `anyOf` into wrapper models, per-operation
servers into literal `{baseUrl}` URLs, zh-TW titles into class and package names, and drop
`if`/`then`. The document avoids each construct; these tests hold it to that, and hold its
request schemas to the JSON Schemas' verdicts on every test vector and on generated payloads,
less the conditional rules it lists in `x-conditional-rules` instead. (`make vendor-check` runs
the generators themselves.)
"""

from __future__ import annotations

import copy
import json
import keyword
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codegen.emit_openapi import openapi_document
from codegen.emit_schemas import standalone
from codegen.model import Operation
from codegen.naming import enum_member_name
from codegen.openapi_schemas import COMPONENTS
from tests.conftest import ROOT, spec_model
from tests.strategies import valid_payloads

SPEC = spec_model()
DOCUMENT = openapi_document(SPEC)
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# Keywords of the generators' target languages, beyond Python's own (keyword.kwlist).
OTHER_KEYWORDS = {"none", "null", "true", "false", "default", "class", "enum", "new", "string"}


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, object) pair of the document."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def test_the_committed_document_is_this_one() -> None:
    text = (ROOT / "generated" / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(text) == DOCUMENT


def test_no_composition_or_condition_a_generator_would_wrap_or_drop() -> None:
    found = [
        f"{path}/{key}"
        for path, node in _walk(DOCUMENT)
        for key in ("anyOf", "oneOf", "allOf", "if", "then", "not")
        if key in node and "/x-" not in path and "/examples" not in path
    ]
    assert found == []


def test_one_server_list_and_no_server_per_operation() -> None:
    assert len(DOCUMENT["servers"]) == 1
    assert "{" not in DOCUMENT["servers"][0]["url"]
    per_operation = [path for path, node in _walk(DOCUMENT["paths"]) if "servers" in node]
    assert per_operation == []


def test_titles_and_tags_are_english_identifiers() -> None:
    titles = [
        (path, node["title"])
        for path, node in _walk(DOCUMENT)
        if isinstance(node.get("title"), str) and "/examples" not in path
    ]
    assert titles, "the document names its components"
    assert [(p, t) for p, t in titles if not IDENTIFIER.match(t)] == []
    tags = {tag["name"] for tag in DOCUMENT["tags"]}
    assert all(IDENTIFIER.match(tag) for tag in tags)
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            assert set(operation["tags"]) <= tags


def test_enum_member_names_are_identifiers_in_every_target_language() -> None:
    enums = [s for s in DOCUMENT["components"]["schemas"].values() if "enum" in s]
    assert enums
    for schema in enums:
        names = schema["x-enum-varnames"]
        assert len(names) == len(set(names)) == len(schema["enum"])
        for name in names:
            assert IDENTIFIER.match(name) and not keyword.iskeyword(name)
            assert name.lower() not in OTHER_KEYWORDS
    case_kind = next(s for s in enums if s["title"] == "CaseKind")
    assert "None" not in case_kind["x-enum-varnames"]


@given(st.sampled_from(sorted(keyword.kwlist + list(OTHER_KEYWORDS))), st.data())
def test_property_enum_member_name_never_returns_a_keyword(word: str, data: st.DataObject) -> None:
    spelled = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
    name = enum_member_name(spelled)
    assert name.lower() not in OTHER_KEYWORDS and not keyword.iskeyword(name)
    assert name.startswith(spelled)


def test_every_component_is_used() -> None:
    text = json.dumps(DOCUMENT["paths"]) + json.dumps(DOCUMENT["components"])
    unused = [
        name for name in DOCUMENT["components"]["schemas"] if f'"{COMPONENTS}{name}"' not in text
    ]
    assert unused == []


def test_requests_do_not_ask_generators_to_spread_the_body_and_replies_require_no_name() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for operation in SPEC.operations:
        if operation.input != "query":
            request = schemas[f"{operation.name}Request"]
            assert "additionalProperties" not in request
            assert request["x-names-any-case"] is True
        reply = schemas[f"{operation.name}Response"]
        if operation.response.kind == "json":
            assert "required" not in reply and reply["additionalProperties"] is True
            assert reply["x-required-any-case"] == [
                f.wire for f in operation.response.fields if f.always_required
            ]


def test_blank_able_fields_are_plain_strings_that_admit_a_blank_and_null() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    count = 0
    for operation in SPEC.operations:
        if operation.input == "query":
            continue
        properties = schemas[f"{operation.name}Request"]["properties"]
        blank_able = [f.wire for f in operation.fields if not f.always_required]
        blank_able += [f.alias for f in operation.fields if f.alias]
        for name in blank_able:
            count += 1
            schema = properties[name]
            assert schema["type"] == ["string", "null"] and "$ref" not in schema
            check = jsonschema.Draft202012Validator(schema)
            for blank in ("", "  ", None):
                assert check.is_valid(blank), (name, blank)
            assert not check.is_valid(1)
    assert count >= 37  # the places issue 17 counted


# --- Same verdicts as the JSON Schemas, less the conditional rules --------------------------


def _without_conditions(schema: dict[str, Any]) -> dict[str, Any]:
    """The standalone JSON Schema less its `if`/`then` rules (what the OpenAPI lists instead)."""
    stripped = copy.deepcopy(schema)
    stripped.pop("allOf", None)
    return stripped


def _openapi_request(operation: Operation) -> dict[str, Any]:
    """The document's request schema of `operation`, as one JSON Schema over the payload."""
    if operation.input == "query":
        item = DOCUMENT["paths"][f"/{operation.path}"][operation.method.lower()]
        parameters = item["parameters"]
        body: dict[str, Any] = {
            "type": "object",
            "properties": {p["name"]: p["schema"] for p in parameters},
            "required": [p["name"] for p in parameters if p["required"]],
        }
    else:
        body = {"$ref": f"{COMPONENTS}{operation.name}Request"}
    return {**body, "components": DOCUMENT["components"]}


VALIDATORS = {
    op.name: (
        jsonschema.Draft202012Validator(_without_conditions(standalone(SPEC, op, "request"))),
        jsonschema.Draft202012Validator(_openapi_request(op)),
        jsonschema.Draft202012Validator(standalone(SPEC, op, "request")),
    )
    for op in SPEC.operations
}


def _vectors() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for operation in SPEC.operations:
        path = ROOT / "generated" / "test-vectors" / f"{operation.name}.json"
        for vector in json.loads(path.read_text(encoding="utf-8"))["vectors"]:
            cases.append((operation.name, vector))
    return cases


VECTORS = _vectors()


@pytest.mark.parametrize(
    ("operation", "vector"), VECTORS, ids=[f"{op}:{v['name']}" for op, v in VECTORS]
)
def test_openapi_decides_each_vector_as_the_json_schema_less_its_conditions(
    operation: str, vector: dict[str, Any]
) -> None:
    without, openapi, full = VALIDATORS[operation]
    payload = vector["payload"]
    assert full.is_valid(payload) == vector["schema_valid"]  # the JSON Schemas as before
    assert openapi.is_valid(payload) == without.is_valid(payload)
    if vector["schema_valid"]:
        assert openapi.is_valid(payload)


def test_some_vectors_differ_only_by_a_conditional_rule() -> None:
    """The vectors exercise what the document leaves to `x-conditional-rules`."""
    differing = [
        (op, v["name"])
        for op, v in VECTORS
        if VALIDATORS[op][1].is_valid(v["payload"]) and not v["schema_valid"]
    ]
    assert differing


BLANKS_AND_ODDITIES = st.sampled_from(["", " ", "\t", None, 1, "x", "0", "1", "Y", "999", "1.55"])


@pytest.mark.parametrize("operation", [op.name for op in SPEC.operations])
@given(data=st.data())
def test_property_openapi_and_json_schema_agree_on_changed_payloads(
    operation: str, data: st.DataObject
) -> None:
    op = SPEC.operation(operation)
    payload = data.draw(valid_payloads(op))
    for field in data.draw(st.lists(st.sampled_from(op.fields), max_size=3)):
        if data.draw(st.booleans()):
            payload.pop(field.wire, None)
        else:
            payload[field.wire] = data.draw(BLANKS_AND_ODDITIES)
    without, openapi, _ = VALIDATORS[operation]
    assert openapi.is_valid(payload) == without.is_valid(payload), payload


def test_conditional_rules_are_the_json_schemas_if_then() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for operation in SPEC.operations:
        if operation.input == "query":
            continue
        rules = schemas[f"{operation.name}Request"].get("x-conditional-rules", [])
        conditions = standalone(SPEC, operation, "request").get("allOf", [])
        assert len(rules) == len(conditions)
        defs = standalone(SPEC, operation, "request")["$defs"]
        for rule, condition in zip(rules, conditions, strict=True):
            when = {k: v["const"] for k, v in condition["if"]["properties"].items()}
            assert rule["when"] == when
            if "required" in rule:
                assert rule["required"] == condition["then"]["required"]
            else:
                value = condition["then"]["properties"][rule["field"]]
                ref = value.get("$ref") or value["anyOf"][0]["$ref"]
                assert rule["enum"] == defs[ref.rsplit("/", 1)[1]]["enum"]
