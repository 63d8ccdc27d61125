"""The validators' look-up tables (a fast path for common values) accept only what the full
check accepts, with the same parsed value."""

from __future__ import annotations

import re

import pytest

from codegen.model import Spec
from codegen.naming import constant_name
from codegen.patterns import fast_range
from scforhis._generated import validators

TABLES = sorted(
    name
    for name, value in vars(validators).items()
    if name.startswith(("INT_", "NUMBER_")) and isinstance(value, dict)
)


def test_there_are_tables_for_whole_and_decimal_numbers() -> None:
    assert any(name.startswith("INT_") for name in TABLES)
    assert "NUMBER_HEIGHT" in TABLES and "NUMBER_BASE_WEIGHT" in TABLES


@pytest.mark.parametrize("name", TABLES)
def test_every_table_entry_matches_the_fields_pattern_and_parses_to_its_value(
    name: str, spec: Spec
) -> None:
    table = getattr(validators, name)
    kind = name.split("_", 1)[0]
    (field,) = {
        f.key: f for op in spec.operations for f in op.fields if constant_name(kind, f.key) == name
    }.values()
    # The table is the fast path: only values with no finding at all, so inside the range the
    # service stores and the plausible one.
    low, high = fast_range(field)
    assert all(low <= parsed <= high for parsed in table.values())
    if field.plausible is not None:
        assert low >= field.plausible.minimum and high <= field.plausible.maximum
    if field.maximum is not None:
        assert field.minimum is not None and low >= field.minimum and high <= field.maximum
    pattern = getattr(validators, "RE_" + name.split("_", 1)[1])
    assert isinstance(pattern, re.Pattern)
    convert = int if name.startswith("INT_") else float
    for text, parsed in table.items():
        assert pattern.fullmatch(text), text
        assert convert(text) == parsed and type(parsed) is convert, text


def test_one_decimal_heights_are_in_the_table_and_out_of_range_ones_are_not() -> None:
    assert validators.NUMBER_HEIGHT["170.5"] == 170.5
    assert "250.1" not in validators.NUMBER_HEIGHT and "49.9" not in validators.NUMBER_HEIGHT
    assert "170.55" not in validators.NUMBER_HEIGHT  # two decimals: the full check decides
