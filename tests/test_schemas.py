"""The generated JSON Schemas: the manual's examples pass, they are valid 2020-12 schemas, they are
generated deterministically, and they accept exactly what the spec describes."""

from __future__ import annotations

import filecmp
import re
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codegen.emit_schemas import any_case
from codegen.generate import generate
from codegen.model import Operation
from scforhis import validate
from tests.conftest import ROOT, SPEC_PATH, load_schema, spec_model
from tests.strategies import valid_payloads

OPERATIONS = [op.name for op in spec_model().operations]


def _validator(operation: str, part: str = "request") -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(operation, part))


VALIDATORS = {name: _validator(name) for name in OPERATIONS}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("part", ["request", "response"])
def test_schema_is_valid_2020_12(operation: str, part: str) -> None:
    schema = load_schema(operation, part)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(f"{operation}.{part}")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_manual_examples_pass(operation: str) -> None:
    op = spec_model().operation(operation)
    assert op.examples, f"{operation} has no example from the manual"
    for example in op.examples:
        assert list(VALIDATORS[operation].iter_errors(example.request)) == []
        if example.response is not None:
            response = _validator(operation, "response")
            assert list(response.iter_errors(example.response)) == []


def test_uncorrected_examples_show_the_errata() -> None:
    # As printed, the Delete example sends examyyear: a schema with the canonical name accepts it
    # (unknown properties are ignored) only because examyear is optional on Delete...
    delete = dict(spec_model().operation("Delete").examples[0].request)
    delete["examyyear"] = delete.pop("examyear")
    assert VALIDATORS["Delete"].is_valid(delete)
    # ...while on Save, where examyear is required, the manual's spelling is rejected.
    save = dict(spec_model().operation("Save").examples[0].request)
    save["examyyear"] = save.pop("examyear")
    assert not VALIDATORS["Save"].is_valid(save)


def test_gettokenid_response_as_printed_is_not_json() -> None:
    import json

    example = spec_model().operation("GetTokenID").examples[0]
    assert example.response_as_printed is not None
    with pytest.raises(json.JSONDecodeError):
        json.loads(example.response_as_printed)


def test_generate_is_deterministic_and_matches_the_committed_tree(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    generate(SPEC_PATH, first / "generated", first / "package")
    generate(SPEC_PATH, second / "generated", second / "package")
    _assert_same_tree(first, second)
    _assert_same_tree(first / "generated", ROOT / "generated")
    _assert_same_tree(first / "package", ROOT / "scforhis" / "_generated")


def _assert_same_tree(left: Path, right: Path) -> None:
    left_files = sorted(
        p.relative_to(left) for p in left.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    right_files = sorted(
        p.relative_to(right)
        for p in right.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert left_files == right_files
    _, mismatch, errors = filecmp.cmpfiles(left, right, [str(p) for p in left_files], shallow=False)
    assert mismatch == [] and errors == []


def _first_visit_operation() -> list[str]:
    return [op.name for op in spec_model().operations if any(f.condition for f in op.fields)]


@pytest.mark.parametrize("operation", OPERATIONS)
@given(data=st.data())
def test_property_valid_payloads_pass(operation: str, data: st.DataObject) -> None:
    op = spec_model().operation(operation)
    payload = data.draw(valid_payloads(op))
    errors = [e.message for e in VALIDATORS[operation].iter_errors(payload)]
    assert errors == []


def _mutations(
    op: Operation, payload: dict[str, Any], data: st.DataObject
) -> tuple[str, dict[str, Any]]:
    """One single mutation that must make the payload invalid; returns (what, mutated)."""
    required = [f for f in op.fields if f.always_required]
    enums = [f for f in op.fields if f.enum is not None and f.wire in payload and payload[f.wire]]
    present = [
        f for f in op.fields if isinstance(payload.get(f.wire), str) and payload[f.wire].strip()
    ]
    kinds = ["drop", "blank", "non_string"] + (["bad_code"] if enums else [])
    kind = data.draw(st.sampled_from(kinds))
    mutated = dict(payload)
    if kind == "drop":
        field = data.draw(st.sampled_from(required))
        del mutated[field.wire]
    elif kind == "blank":
        field = data.draw(st.sampled_from(required))
        mutated[field.wire] = data.draw(st.sampled_from(["", " ", "\t", None]))
    elif kind == "non_string":
        field = data.draw(st.sampled_from(present))
        mutated[field.wire] = data.draw(st.sampled_from([1, 0, 1.5, True, False, [], {}, ["1"]]))
    else:
        field = data.draw(st.sampled_from(enums))
        assert field.enum is not None
        codes = set(field.enum.codes)
        mutated[field.wire] = data.draw(
            st.text(max_size=3).filter(lambda s: s.strip() and s not in codes)
        )
    return f"{kind} {field.wire}", mutated


@pytest.mark.parametrize("operation", OPERATIONS)
@given(data=st.data())
def test_property_every_single_mutation_fails(operation: str, data: st.DataObject) -> None:
    op = spec_model().operation(operation)
    payload = data.draw(valid_payloads(op))
    what, mutated = _mutations(op, payload, data)
    assert not VALIDATORS[operation].is_valid(mutated), what


@pytest.mark.parametrize("operation", _first_visit_operation())
@given(data=st.data())
def test_property_first_visit_field_missing_fails(operation: str, data: st.DataObject) -> None:
    op = spec_model().operation(operation)
    condition = next(f.condition for f in op.fields if f.condition)
    assert condition is not None
    payload = data.draw(
        valid_payloads(op).filter(
            lambda p: p.get(op.field(condition.field).wire) == condition.equals
        )
    )
    needed = [f for f in op.fields if f.condition == condition and f.key != condition.field]
    field = data.draw(st.sampled_from(needed))
    payload.pop(field.wire, None)
    assert not VALIDATORS[operation].is_valid(payload), field.wire
    # The same record as a follow-up visit does not need the field.
    payload[op.field(condition.field).wire] = "N"
    assert VALIDATORS[operation].is_valid(payload)


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("SMOKE_YEAR", "5", True),  # another spelling of smokE_YEAR, a string: the service binds it
        ("smoke_year", None, True),  # null binds too
        ("SMOKE_YEAR", 5, False),  # System.Text.Json cannot bind a number to a string (400)
        ("Smoke_Year", [1], False),
        ("remark", 5, True),  # an unknown name is ignored whatever its value
    ],
)
def test_names_in_any_letter_case_must_carry_strings(
    name: str, value: object, accepted: bool
) -> None:
    record = {**spec_model().operation("Save").examples[0].request, name: value}
    assert VALIDATORS["Save"].is_valid(record) is accepted


@given(st.text(alphabet="aAbZz_09.", min_size=1, max_size=12), st.data())
def test_property_any_case_pattern_matches_exactly_the_name_in_any_case(
    name: str, data: st.DataObject
) -> None:
    pattern = re.compile(any_case(name))
    recased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in name)
    assert pattern.fullmatch(recased)
    assert not pattern.fullmatch(recased + "x") and not pattern.fullmatch("x" + recased)


def _conditional_operations() -> list[str]:
    return [op.name for op in spec_model().operations if any(f.condition for f in op.fields)]


@pytest.mark.parametrize("operation", _conditional_operations())
def test_a_record_without_its_condition_fields_needs_none_of_their_fields(operation: str) -> None:
    """A follow-up visit that leaves its optional condition fields out (CURE_AGREE) owes none of
    the fields those conditions require: in the schema an `if` holds vacuously when its field is
    absent, so each `if` must itself require the field it tests."""
    op = spec_model().operation(operation)
    conditions = {f.condition.key: f.condition for f in op.fields if f.condition is not None}
    optional = {f.key for f in op.fields if f.required != "always"}
    condition_fields = {_wire_name(op, c.field) for c in conditions.values() if c.field in optional}
    conditional = {f.wire for f in op.fields if f.condition is not None}
    example = dict(op.examples[0].request)
    lower = {name.lower() for name in condition_fields | conditional}
    record = {k: v for k, v in example.items() if k.lower() not in lower}
    assert len(record) < len(example)  # the example held such fields: the test means something
    assert list(VALIDATORS[operation].iter_errors(record)) == []
    assert not validate(operation, record, today=date(2026, 11, 30)).errors
    # With the condition present and holding, the same record owes the conditional fields.
    for condition in conditions.values():
        holding = {**record, _wire_name(op, condition.field): condition.equals}
        required_here = {f.wire for f in op.fields if f.condition == condition}
        if required_here:
            assert not VALIDATORS[operation].is_valid(holding), condition.key
            assert validate(operation, holding, today=date(2026, 11, 30)).errors, condition.key


def _wire_name(op: Operation, key: str) -> str:
    return next(f.wire for f in op.fields if f.key == key)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_format_shows_its_example_and_the_example_is_valid(operation: str) -> None:
    # Generators and API browsers show `examples`; one the schema refuses would mislead.
    formats = spec_model().formats
    defs = load_schema(operation, "request").get("$defs", {})
    shown = [name for name in defs if name in formats]
    assert shown, f"{operation} uses no named format"
    for name in shown:
        example = formats[name].example
        if example is None:
            assert "examples" not in defs[name], name
        else:
            assert defs[name]["examples"] == [example], name
            assert list(jsonschema.Draft202012Validator(defs[name]).iter_errors(example)) == []


@pytest.mark.parametrize("operation", OPERATIONS)
def test_schema_files_carry_the_labels_as_text_not_escapes(operation: str) -> None:
    # Vendors read these files; 「個案身分證號」 must be legible there, not \u500b\u6848...
    text = (ROOT / "generated" / "schemas" / f"{operation}.request.schema.json").read_text("utf-8")
    labels = [f.label for f in spec_model().operation(operation).fields if f.label]
    assert labels and all(label in text for label in labels)
    assert "\\u" not in text.replace("\\\\u", "")
