"""Reply schemas accept member names in any letter case and still require the fields.

The manual prints Update's reply as `{ "msg_CODE": "Y", ... }` and GetTokenID's as
`{"MSG_CODE":"Y",...;"TOKENID": "..."}`; the serializer writes `msG_CODE`; the service (ASP.NET)
may answer in any case and the client reads names ignoring case. Every verdict is checked with
jsonschema and with Ajv (Node.js) on the standalone schema. The OpenAPI component is the tolerant
form generated clients read (issue 17: it requires no name, as their readers match names
case-sensitively): it accepts every reply the standalone schema accepts. All are built from the
codegen functions (not from generated/).
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from codegen.emit_openapi import openapi_document
from codegen.emit_schemas import DIALECT, Defs, response_body, standalone
from codegen.model import Field, Operation
from codegen.openapi_schemas import COMPONENTS, GeneratorDefs, reply_component
from scforhis.client.replies import decode_body
from tests.conftest import ROOT, spec_model

# spec_model() is build_model(load_spec(SPEC_PATH)), as codegen/generate.py builds it.
SPEC = spec_model()
AJV_DIR = ROOT / "tools" / "ajv"
# Reads {"schemas": {key: schema}, "documents": {key: [document, ...]}} from stdin and prints
# {key: [verdict, ...]}, with the options of tools/ajv/check.mjs.
AJV_SCRIPT = """
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
const input = JSON.parse(readFileSync(0, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const verdicts = {};
for (const [key, schema] of Object.entries(input.schemas)) {
  const validate = ajv.compile(schema);
  verdicts[key] = input.documents[key].map((document) => validate(document));
}
process.stdout.write(JSON.stringify(verdicts) + "\\n");
"""
NON_STRINGS: tuple[Any, ...] = (1, 0, 1.5, True, False, ["Y"], {"value": "Y"})


@dataclass(frozen=True)
class Case:
    operation: str
    name: str
    document: Any
    valid: bool

    @property
    def id(self) -> str:
        return f"{self.operation}: {self.name}"


def _field(operation: Operation, key: str) -> Field:
    return next(f for f in operation.response.fields if f.key == key)


def _spellings(wire: str) -> list[str]:
    """The canonical name and others: `msG_CODE`, `MSG_CODE`, `msg_code`, `MSg_code`, `Msg_Code`."""
    titled = "_".join(part.capitalize() for part in wire.split("_"))
    return list(dict.fromkeys([wire, wire.upper(), wire.lower(), wire.swapcase(), titled]))


def _respelled(reply: dict[str, Any], field: Field, spelling: str, *value: Any) -> dict[str, Any]:
    """`reply` with `field` named `spelling` (holding `value` when given)."""
    kept = {k: v for k, v in reply.items() if k.lower() != field.wire.lower()}
    old = next(v for k, v in reply.items() if k.lower() == field.wire.lower())
    return {**kept, spelling: value[0] if value else old}


def _without(reply: dict[str, Any], field: Field) -> dict[str, Any]:
    return {k: v for k, v in reply.items() if k.lower() != field.wire.lower()}


def _as_printed(text: str) -> Any:
    # GetTokenID's printed reply has `;` between two members: not JSON, but the client reads it
    # (decode_body reads such an object member by member), so the schema must accept what it reads.
    return decode_body(text)


def _cases(operation: Operation) -> list[Case]:
    name = operation.name
    cases = []
    for example in operation.examples:
        if example.response is not None:
            cases.append(Case(name, f"manual {example.name}", example.response, True))
        if example.response_as_printed is not None:
            printed = _as_printed(example.response_as_printed)
            cases.append(Case(name, f"manual {example.name} as printed", printed, True))
    if operation.response.kind != "json":
        return cases
    reply = next(e.response for e in operation.examples if isinstance(e.response, dict))
    assert isinstance(reply, dict)
    code, info = _field(operation, "MSG_CODE"), _field(operation, "MSG_INFO")
    token = next((f for f in operation.response.fields if f.key == "TOKENID"), None)
    failure = {code.wire: "N", info.wire: "帳號或密碼錯誤"}

    def case(what: str, document: Any, valid: bool) -> None:
        cases.append(Case(name, what, document, valid))

    for style in (str.upper, str.lower, str.swapcase):
        case(f"every name {style.__name__}", {style(k): v for k, v in reply.items()}, True)
    case("an unknown member besides", {**reply, "Extra": 1}, True)
    case("failure without a token", failure, True)
    case("failure, names in upper case", {k.upper(): v for k, v in failure.items()}, True)
    case("not an object", reply[info.wire], False)
    case("no MSG_CODE", _without(reply, code), False)
    case("no MSG_INFO", _without(reply, info), False)
    case("empty object", {}, False)
    for field in operation.response.fields:
        for spelling in _spellings(field.wire):
            case(f"{field.table_name} as {spelling}", _respelled(reply, field, spelling), True)
            for value in NON_STRINGS:
                bad = _respelled(reply, field, spelling, value)
                case(f"{spelling} = {json.dumps(value)}", bad, False)
                if spelling != field.wire:
                    # The canonical member is fine; another spelling beside it is not.
                    both = {**reply, spelling: value}
                    case(f"{field.wire} and {spelling} = {json.dumps(value)}", both, False)
    for spelling in _spellings(code.wire):
        case(f"{spelling} = X", _respelled(reply, code, spelling, "X"), False)
        case(f"{spelling} blank", _respelled(reply, code, spelling, " "), False)
        case(f"{spelling} = null", _respelled(reply, code, spelling, None), False)
        case(f"failure as {spelling}", _respelled(failure, code, spelling), True)
    for spelling in _spellings(info.wire):
        case(f"{spelling} blank", _respelled(reply, info, spelling, " "), False)
        case(f"{spelling} = null", _respelled(reply, info, spelling, None), False)
    if token is not None:
        case("success without a token", _without(reply, token), False)
        case("success, names in upper case, no token", _without(_upper(reply), token), False)
        for spelling in _spellings(token.wire):
            for blank in ("", "  ", None):
                success = _respelled(reply, token, spelling, blank)
                case(f"success, {spelling} = {json.dumps(blank)}", success, False)
                case(
                    f"failure, {spelling} = {json.dumps(blank)}", {**failure, spelling: blank}, True
                )
            case(f"failure, {spelling} = 1", {**failure, spelling: 1}, False)
    return cases


def _upper(reply: dict[str, Any]) -> dict[str, Any]:
    return {k.upper(): v for k, v in reply.items()}


CASES = [case for operation in SPEC.operations for case in _cases(operation)]


@functools.cache
def _schemas() -> dict[str, dict[str, Any]]:
    """Per operation, its standalone reply schema and its OpenAPI component as a document."""
    document = openapi_document(SPEC)
    schemas: dict[str, dict[str, Any]] = {}
    for operation in SPEC.operations:
        schemas[f"{operation.name} standalone"] = standalone(SPEC, operation, "response")
        schemas[f"{operation.name} openapi"] = {
            "$schema": DIALECT,
            "$ref": f"{COMPONENTS}{operation.name}Response",
            "components": document["components"],
        }
    return schemas


@functools.cache
def _validator(key: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_schemas()[key])


@functools.cache
def _ajv_verdicts() -> dict[str, list[bool]]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the cross-implementation check"
    assert (AJV_DIR / "node_modules" / "ajv").is_dir(), "run `make test` to install Ajv"
    documents: dict[str, list[Any]] = {key: [] for key in _schemas()}
    for case in CASES:
        for source in ("standalone", "openapi"):
            documents[f"{case.operation} {source}"].append(case.document)
    done = subprocess.run(
        [node, "--input-type=module", "-e", AJV_SCRIPT],
        input=json.dumps({"schemas": _schemas(), "documents": documents}),
        capture_output=True,
        text=True,
        cwd=AJV_DIR,  # where Node finds ajv
        check=True,
    )
    verdicts: dict[str, list[bool]] = json.loads(done.stdout)
    return verdicts


def _ajv(case: Case, source: str) -> bool:
    key = f"{case.operation} {source}"
    same_schema = [c for c in CASES if c.operation == case.operation]
    return _ajv_verdicts()[key][same_schema.index(case)]


@pytest.mark.parametrize("operation", [op.name for op in SPEC.operations])
def test_reply_schema_is_valid_2020_12(operation: str) -> None:
    jsonschema.Draft202012Validator.check_schema(_schemas()[f"{operation} standalone"])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_reply_verdict_with_jsonschema_and_ajv(case: Case) -> None:
    key = f"{case.operation} standalone"
    errors = [e.message for e in _validator(key).iter_errors(case.document)]
    assert (errors == []) == case.valid, errors
    assert _ajv(case, "standalone") == case.valid, "Ajv disagrees on the standalone schema"
    if case.valid:
        # What the service may send, a generated client must be able to read.
        openapi = f"{case.operation} openapi"
        assert _validator(openapi).is_valid(case.document)
        assert _ajv(case, "openapi"), "Ajv refuses it by the OpenAPI component"


@pytest.mark.parametrize(
    "operation", [op.name for op in SPEC.operations if op.response.kind == "json"]
)
def test_openapi_reply_still_refuses_what_no_service_sends(operation: str) -> None:
    """Tolerant of names, not of values: a reply must be an object with strings for its fields."""
    op = SPEC.operation(operation)
    reply = next(e.response for e in op.examples if isinstance(e.response, dict))
    assert isinstance(reply, dict)
    code = _field(op, "MSG_CODE").wire
    check = _validator(f"{operation} openapi")
    assert check.is_valid(reply) and check.is_valid({})
    assert not check.is_valid([reply]) and not check.is_valid("Y")
    assert not check.is_valid({**reply, code: "X"}) and not check.is_valid({**reply, code: 1})


def test_manual_replies_as_printed_are_covered() -> None:
    """The printed spellings are among the cases: Update's msg_CODE, GetTokenID's MSG_CODE."""
    printed = {c.operation: c.document for c in CASES if c.name.endswith("as printed")}
    assert set(printed["Update"]) == {"msg_CODE", "msg_INFO"}
    assert set(printed["GetTokenID"]) == {"MSG_CODE", "MSG_INFO", "TOKENID"}


@pytest.mark.parametrize(
    "operation", [op.name for op in SPEC.operations if op.response.kind == "json"]
)
def test_properties_keep_canonical_names_and_required_names_no_spelling(operation: str) -> None:
    op = SPEC.operation(operation)
    schema = response_body(op, Defs())
    assert list(schema["properties"]) == [f.wire for f in op.response.fields]
    # `required` would accept only one spelling: the requirements are in allOf instead.
    assert "required" not in schema


def test_openapi_stays_valid_and_uses_the_reply_components() -> None:
    document = openapi_document(SPEC)
    validate(document)
    for operation in SPEC.operations:
        component = document["components"]["schemas"][f"{operation.name}Response"]
        assert component == reply_component(operation, GeneratorDefs())
        if operation.response.kind == "json":
            assert list(component["properties"]) == [f.wire for f in operation.response.fields]
