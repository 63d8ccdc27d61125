"""Property tests of every generated validator: valid by construction passes, every single
mutation fails naming its field, the validator is at least as strict as the JSON Schema, and no
input makes it raise."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import scforhis
from codegen.model import Field, Operation
from codegen.patterns import value_pattern
from scforhis.validation.keys import canonical_keys
from tests.conftest import load_schema, spec_model
from tests.strategies import TODAY, valid_payloads, value_strategy

OPERATIONS = [op.name for op in spec_model().operations]
SCHEMAS = {
    name: jsonschema.Draft202012Validator(load_schema(name, "request")) for name in OPERATIONS
}


@pytest.mark.parametrize("operation", OPERATIONS)
@given(data=st.data())
def test_property_valid_payloads_pass_the_validator(operation: str, data: st.DataObject) -> None:
    op = spec_model().operation(operation)
    payload = data.draw(valid_payloads(op))
    result = scforhis.validate(operation, payload, today=TODAY)
    assert result.errors == (), str(result)
    assert not [w for w in result.warnings if w.code in ("unknown_field", "duplicate_field")]


def _bad_values(field: Field) -> st.SearchStrategy[Any]:
    """Values that no field accepts in place of a required value, plus some that break its format."""
    generic = st.sampled_from([1, 0, 2.5, True, False, [], {}, ["1"], {"a": "1"}])
    specific: list[Any] = []
    if field.enum is not None:
        codes = set(field.enum.codes)
        specific.append(st.text(max_size=3).filter(lambda s: s.strip() != "" and s not in codes))
    elif field.format is not None and field.format.kind == "date":
        specific.append(
            st.sampled_from(
                ["2023/02/29", "2022/13/01", "112/02/30", "20221003", "2022-10-03", "x"]
            )
        )
    elif field.format is not None and field.format.check == "tw_id_checksum":
        specific.append(
            st.sampled_from(["A123456788", "a123456789", "A1234567890", "123456789", "A323456789"])
        )
    elif field.value_severity != "error":
        pass  # its format only warns: no string breaks it, only a value of another type
    elif field.format is not None and field.format.kind in ("integer", "decimal"):
        specific.append(st.sampled_from(["-1", "1e3", "abc", "1,5", "99999", "12.345.6"]))
    elif field.format is not None and field.format.max_length is not None:
        specific.append(st.text(min_size=field.format.max_length + 1, max_size=12))
    elif field.format is not None and field.format.kind != "text":
        pattern = value_pattern(field) or "^$"
        specific.append(
            st.sampled_from(["!", "x" * 11, "中文", "x" * 11 + ",B024648100"]).filter(
                lambda v: re.fullmatch(pattern, v) is None
            )
        )
    return st.one_of(generic, *specific)


def _mutate(
    op: Operation, payload: dict[str, Any], data: st.DataObject
) -> tuple[Field, dict[str, Any]]:
    required = [f for f in op.fields if f.always_required]
    present = [
        f for f in op.fields if isinstance(payload.get(f.wire), str) and payload[f.wire].strip()
    ]
    kind = data.draw(st.sampled_from(["drop", "blank", "bad"]))
    mutated = dict(payload)
    if kind == "drop":
        field = data.draw(st.sampled_from(required))
        del mutated[field.wire]
    elif kind == "blank":
        field = data.draw(st.sampled_from(required))
        mutated[field.wire] = data.draw(st.sampled_from(["", " ", "\t", "\u3000", None]))
    else:
        field = data.draw(st.sampled_from(present))
        mutated[field.wire] = data.draw(_bad_values(field))
    return field, mutated


@pytest.mark.parametrize("operation", OPERATIONS)
@given(data=st.data())
def test_property_every_single_mutation_fails_naming_the_field(
    operation: str, data: st.DataObject
) -> None:
    op = spec_model().operation(operation)
    field, mutated = _mutate(op, data.draw(valid_payloads(op)), data)
    result = scforhis.validate(operation, mutated, today=TODAY)
    assert not result.ok
    assert field.wire in {issue.field for issue in result.errors}, str(result)


def _junk() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.integers(-5, 3000),
        st.booleans(),
        st.text(max_size=12),
        st.sampled_from(
            ["", " ", "Y", "N", "y", "1", "0", "05", "10", "2", "4", "12", "170.5", "1700"]
        ),
        st.sampled_from(
            ["2022/02/30", "111/10/03", "2022/10/03", "50/01/01", "A123456789", "A123456788"]
        ),
        st.sampled_from(["true", "TRUE", "yes", "B024648100,B022538129", "10, 20", "10,"]),
        st.lists(st.text(max_size=2), max_size=2),
    )


@pytest.mark.parametrize("operation", OPERATIONS)
@given(data=st.data())
def test_property_schema_rejects_implies_validator_rejects(
    operation: str, data: st.DataObject
) -> None:
    op = spec_model().operation(operation)
    payload = data.draw(valid_payloads(op))
    wires = [f.wire for f in op.fields]
    for wire in data.draw(st.lists(st.sampled_from(wires), max_size=4, unique=True)):
        if data.draw(st.booleans()):
            payload.pop(wire, None)
        else:
            payload[wire] = data.draw(_junk())
    schema_ok = SCHEMAS[operation].is_valid(payload)
    result = scforhis.validate(operation, payload, today=TODAY)
    if not schema_ok:
        errors = [e.message for e in SCHEMAS[operation].iter_errors(payload)]
        assert not result.ok, f"the schema rejects ({errors}) but the validator accepts {payload!r}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)


@pytest.mark.parametrize("operation", [*OPERATIONS, "NoSuchOperation"])
@given(payload=json_values)
@example(payload={"hosP_ID": None, "HOSP_ID": "3501200000", "hosp_id": 3501200000})
@example(payload={"birthday": "\ud800", "funC_DATE": "9999/12/31", "id": "Z" * 10_000})
def test_property_never_raises_on_any_json(operation: str, payload: Any) -> None:
    result = scforhis.validate(operation, payload)
    assert isinstance(result, scforhis.ValidationResult)
    for issue in result.errors + result.warnings:
        assert isinstance(str(issue), str) and issue.message and issue.message_en


class _Broken(dict):  # type: ignore[type-arg]
    def __iter__(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("broken mapping")


@pytest.mark.parametrize(
    "payload", [None, 1, "text", b"bytes", [], object(), {1: "a", (2, 3): "b"}, _Broken(a=1)]
)
def test_never_raises_on_any_python_object(payload: Any) -> None:
    result = scforhis.validate_save(payload)
    assert not result.ok
    assert result.errors[0].code in ("payload", "required")


@given(data=st.data())
def test_property_names_in_any_case_are_accepted(data: st.DataObject) -> None:
    op = spec_model().operation("Save")
    payload = data.draw(valid_payloads(op))
    recased = {data.draw(st.sampled_from([k.upper(), k.lower(), k])): v for k, v in payload.items()}
    result = scforhis.validate_save(recased, today=TODAY)
    assert result.ok, str(result)
    assert not [w for w in result.warnings if w.code == "unknown_field"]


@given(value=value_strategy(spec_model().operation("Save").field("HEIGHT")))
def test_property_plausible_heights_pass(value: str) -> None:
    record = dict(spec_model().operation("Save").examples[0].request, height=value)
    assert scforhis.validate_save(record, today=date(2026, 1, 1)).ok


def _names_made_canonical_first(op: Operation, payload: dict[str, Any]) -> Any:
    """What the validator must answer: rename first (warning of unknown and repeated names),
    then validate the payload with canonical names."""
    warnings: list[Any] = []
    folded = {f.wire.lower(): f.wire for f in op.fields}
    labels = {f.wire: f.label for f in op.fields}
    renamed = canonical_keys(payload, folded, labels, warnings)
    result = scforhis.validate(op.name, renamed, today=TODAY)
    return scforhis.ValidationResult(op.name, result.errors, (*warnings, *result.warnings))


@pytest.mark.parametrize("operation", OPERATIONS)
@given(data=st.data())
def test_property_names_are_checked_only_when_they_do_not_add_up(
    operation: str, data: st.DataObject
) -> None:
    """The validator skips renaming when the fields found and absent add up to the payload's
    size; recased, unknown, repeated, missing and null names must give the same answer as
    renaming first."""
    op = spec_model().operation(operation)
    payload: dict[str, Any] = {}
    for key, value in data.draw(valid_payloads(op)).items():
        change = data.draw(
            st.sampled_from(["keep", "keep", "keep", "upper", "drop", "null", "twice"])
        )
        if change == "drop":
            continue
        name = key.upper() if change in ("upper", "twice") else key
        payload[name] = None if change == "null" else value
        if change == "twice":
            payload[key] = value
    if data.draw(st.booleans()):
        payload[data.draw(st.sampled_from(["remark", "ACCOUNTS", "hosp id"]))] = "x"
    result = scforhis.validate(operation, payload, today=TODAY)
    assert result == _names_made_canonical_first(op, payload)
