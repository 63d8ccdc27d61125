"""Text that UTF-8 cannot encode, and values echoed in messages.

A lone surrogate (U+D800 to U+DFFF) anywhere in a request, in any field's value, in a name, in an
unknown field's nested value, in a spelling another one overrides, is an error on that field
with the spec's evidence, and the result itself can be encoded. A message shows at most a short
prefix of a value and its length, however long the value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scforhis
from codegen.patterns import admits_any_character
from scforhis.validation import keys
from scforhis.validation.issues import FieldInfo
from scforhis.validation.text import ECHO_LENGTH, echo, holds_surrogate, printable, surrogate_at
from tests.conftest import spec_model
from tests.strategies import TODAY, valid_payloads

OPERATIONS = [op.name for op in spec_model().operations]
# Bounded: each example builds a whole valid payload; the fuzz profile runs far more.
FEW = settings(max_examples=max(10, settings.default.max_examples // 4))
SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)


def encodable(result: scforhis.ValidationResult) -> None:
    """The result, as text and as JSON, can be written in UTF-8 (no surrogate leaks out)."""
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")
    str(result).encode("utf-8")


def encoding_errors(result: scforhis.ValidationResult) -> list[scforhis.Issue]:
    return [i for i in result.errors if i.code == "encoding"]


@st.composite
def with_surrogate(draw: st.DrawFn, text: str) -> str:
    """`text` with a lone surrogate put in at any place (or replacing it whole)."""
    if draw(st.booleans()):
        return draw(st.text(min_size=0, max_size=8)) + draw(SURROGATES) + draw(st.text(max_size=8))
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(SURROGATES) + text[at:]


@pytest.mark.parametrize("operation", OPERATIONS)
@FEW
@given(data=st.data())
def test_property_a_surrogate_in_any_field_is_an_encoding_error_on_it(
    operation: str, data: st.DataObject
) -> None:
    op = spec_model().operation(operation)
    payload = data.draw(valid_payloads(op))
    field = data.draw(st.sampled_from(op.fields))
    # The field under its canonical name, or in another letter case (the renaming path).
    name = data.draw(st.sampled_from([field.wire, field.wire.upper(), field.wire.lower()]))
    original = payload.pop(field.wire, None)
    payload[name] = data.draw(with_surrogate(original if isinstance(original, str) else "1"))
    result = scforhis.validate(operation, payload, today=TODAY)
    found = encoding_errors(result)
    assert [i.field for i in found] == [field.wire], str(result)
    assert found[0].evidence == spec_model().api.text_encoding.kind == "manual"
    assert found[0].severity == "error"
    assert not [i for i in result.errors if i.field == field.wire and i.code != "encoding"]
    encodable(result)


@pytest.mark.parametrize("operation", OPERATIONS)
@FEW
@given(data=st.data())
def test_property_a_surrogate_in_a_name_or_an_unknown_fields_value_is_an_error(
    operation: str, data: st.DataObject
) -> None:
    op = spec_model().operation(operation)
    payload: dict[str, Any] = dict(data.draw(valid_payloads(op)))
    name = data.draw(with_surrogate("x_" + data.draw(st.text(max_size=5))))
    payload[name] = data.draw(st.text(max_size=5))
    nested = data.draw(
        st.recursive(
            with_surrogate("v"),
            lambda inner: st.lists(inner, min_size=1, max_size=3)
            | st.dictionaries(st.text(max_size=3), inner, min_size=1, max_size=3),
            max_leaves=6,
        )
    )
    payload["zz_unknown"] = nested
    result = scforhis.validate(operation, payload, today=TODAY)
    fields = {i.field for i in encoding_errors(result)}
    assert fields == {printable(name) if len(name) <= ECHO_LENGTH else echo(name), "zz_unknown"}
    encodable(result)


@pytest.mark.parametrize("operation", OPERATIONS)
@FEW
@given(data=st.data())
def test_property_text_without_surrogates_is_never_an_encoding_error(
    operation: str, data: st.DataObject
) -> None:
    op = spec_model().operation(operation)
    payload = data.draw(valid_payloads(op))
    field = data.draw(st.sampled_from(op.fields))
    text = data.draw(st.text(st.characters(exclude_categories=["Cs"]), max_size=20))
    result = scforhis.validate(operation, {**payload, field.wire: text}, today=TODAY)
    assert not encoding_errors(result), str(result)


def test_a_value_that_another_spelling_overrides_is_still_sent_and_checked() -> None:
    request = dict(spec_model().operation("Save").examples[0].request)
    # hosp_id (sent first) is overridden by hosP_ID, but it travels in the request all the same.
    payload = {"hosp_id": "3501200000\udc80", **request}
    result = scforhis.validate("Save", payload, today=TODAY)
    assert [(i.field, i.code) for i in encoding_errors(result)] == [("hosP_ID", "encoding")]
    # The manual's other name of the course year, present beside the canonical one.
    alias = {**request, "examyear": "111", "examyyear": "11\ud8001"}
    result = scforhis.validate("Save", alias, today=TODAY)
    assert [i.field for i in encoding_errors(result)] == ["examyyear"]
    encodable(result)


def test_secrets_and_ids_stay_hidden_in_encoding_errors() -> None:
    request = dict(spec_model().operation("Save").examples[0].request)
    result = scforhis.validate(
        "Save", {**request, "password": "s3cret\ud800", "id": "A12345678\udfff"}, today=TODAY
    )
    texts = " ".join(i.message + i.message_en for i in result.errors)
    assert {i.field for i in encoding_errors(result)} == {"password", "id"}
    assert "s3cret" not in texts and "2345678" not in texts
    assert (
        "第 7 個字元是單獨的代理字元 U+D800" in texts
        and "character 10 is a lone surrogate, U+DFFF" in texts
    )


def test_a_mapping_that_is_not_a_dict_and_strict_mode_report_the_same_error() -> None:
    request = dict(spec_model().operation("Delete").examples[0].request)
    payload: Mapping[str, Any] = MappingProxyType({**request, "ID": "\ud800"})
    for strict in (False, True):
        result = scforhis.validate("Delete", payload, today=TODAY, strict=strict)
        assert [i.field for i in encoding_errors(result)] == ["id"]


def test_query_operations_refuse_surrogates_in_their_parameters() -> None:
    result = scforhis.validate("GetTokenID", {"id": "3501200000ADM", "pwd": "\udc00"})
    assert [(i.field, i.code) for i in result.errors] == [("pwd", "encoding")]
    query = dict(spec_model().operation("GetSCDataB").examples[0].request)
    result = scforhis.validate("GetSCDataB", {**query, "funcdate": "111/01/0\ud801"}, today=TODAY)
    assert [(i.field, i.code) for i in result.errors] == [("funcdate", "encoding")]


# -- echoes -----------------------------------------------------------------------------------


@given(st.text(max_size=200))
def test_property_echo_is_short_encodable_and_a_prefix(text: str) -> None:
    shown = echo(text)
    shown.encode("utf-8")
    if len(text) <= ECHO_LENGTH:
        assert shown == printable(text)
    else:
        assert shown.startswith(printable(text[:ECHO_LENGTH]))
        assert shown.endswith(f"…({len(text)} 字元 characters)")
    assert (surrogate_at(text) >= 0) == holds_surrogate(text)


def test_a_long_value_makes_a_short_result_in_every_field() -> None:
    big = {"9": "9" * 200_000, "A": "A" * 200_000, "中": "中" * 200_000}
    for operation in OPERATIONS:
        op = spec_model().operation(operation)
        request = dict(op.examples[0].request)
        for field in op.fields:
            for text in big.values():
                result = scforhis.validate(operation, {**request, field.wire: text}, today=TODAY)
                size = len(json.dumps(result.to_dict(), ensure_ascii=False)) + len(str(result))
                # A few issues of a few hundred characters each, never the value itself.
                assert size < 4000, (operation, field.wire, size)
    long_name = scforhis.validate("Save", {"x" * 10_000_000: "1"})
    assert len(str(long_name)) < 4000


def test_a_long_id_is_cut_and_still_masked() -> None:
    info = FieldInfo("id", "id", "個案身分證號", "Patient ID number", "national_id")
    shown = info.shown("A123456789" * 1000)
    assert shown == "A12****…(10000 字元 characters)"
    assert info.shown("A123456789") == "A12****789"


def test_which_patterns_may_match_any_character() -> None:
    assert admits_any_character(None)
    assert admits_any_character("^ *[^ ,]{1,10} *$")
    assert admits_any_character("^.+$")
    assert admits_any_character(r"^\S+$")
    assert not admits_any_character("^[0-9]{1,3}(\\.[0-9]{1,2})?$")
    assert not admits_any_character("^[A-Z][12ABCD89][0-9]{8}$")
    assert not admits_any_character(r"^\d{2}\w$")


# -- did-you-mean for unknown names -------------------------------------------------------------


def test_an_unknown_name_is_searched_once_and_the_memory_is_bounded() -> None:
    request = dict(spec_model().operation("Save").examples[0].request)
    first = scforhis.validate("Save", {**request, "hosp_idd": "1"}, today=TODAY)
    again = scforhis.validate("Save", {**request, "hosp_idd": "2"}, today=TODAY)
    warning = next(w for w in first.warnings if w.code == "unknown_field")
    assert "Did you mean 'hosP_ID'?" in warning.message_en
    assert next(w for w in again.warnings if w.code == "unknown_field") is warning
    for number in range(keys._REMEMBERED_NAMES + 200):
        scforhis.validate("Save", {**request, f"extra_{number}": "1"}, today=TODAY)
    assert all(len(names) <= keys._REMEMBERED_NAMES for _, _, names in keys._WARNINGS.values())
    assert len(keys._WARNINGS) <= keys._REMEMBERED_TABLES


def test_a_name_too_long_to_be_close_is_not_searched() -> None:
    folded = {"hosp_id": "hosP_ID", "id": "id"}
    assert keys._suggestion("hosp_idd", folded) == "hosP_ID"
    # A name of twice the longest known one cannot reach difflib's cutoff: no search, no hint.
    assert keys._suggestion("hosp_id" * 2, folded) is None
    request = dict(spec_model().operation("Save").examples[0].request)
    result = scforhis.validate("Save", {**request, "hosp_id_" * 100_000: "1"}, today=TODAY)
    warning = next(w for w in result.warnings if w.code == "unknown_field")
    assert "Did you mean" not in warning.message_en and len(warning.field) < 80
