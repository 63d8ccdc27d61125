"""Taiwan ID check digits and the two calendars."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scforhis.validation.dates import (
    age_on,
    format_gregorian,
    format_roc,
    parse_gregorian,
    parse_roc,
)
from scforhis.validation.idnumbers import (
    LETTER_VALUES,
    check_digit,
    id_checksum_ok,
    id_kind,
    mask_id,
)
from tests.strategies import tw_ids


@pytest.mark.parametrize("value", ["A123456789", "A198765435", "HD12345678"])
def test_known_good_ids(value: str) -> None:
    assert id_checksum_ok(value)


@pytest.mark.parametrize("value", ["A123456788", "A198765434", "HD12345679", "B123456789"])
def test_mistyped_ids_fail(value: str) -> None:
    assert not id_checksum_ok(value)


def test_kinds() -> None:
    assert id_kind("A123456789") == "national"
    assert id_kind("A812345678") == "resident_new"
    assert id_kind("HD12345678") == "resident_old"


@given(tw_ids(), st.integers(0, 9))
def test_property_one_wrong_digit_is_caught(value: str, position_seed: int) -> None:
    assert id_checksum_ok(value)
    position = 2 + position_seed % 8
    wrong = str((int(value[position]) + 1 + position_seed % 9) % 10)
    if wrong != value[position]:
        assert not id_checksum_ok(value[:position] + wrong + value[position + 1 :])


def test_check_digit_completes() -> None:
    assert check_digit("A12345678") == "9"
    assert len(LETTER_VALUES) == 26


def test_mask() -> None:
    assert mask_id("A123456789") == "A12****789"
    assert mask_id("A12") == "***"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020/02/29", date(2020, 2, 29)),
        ("2023/02/29", None),
        ("2022/13/01", None),
        ("0000/01/01", None),
    ],
)
def test_gregorian(text: str, expected: date | None) -> None:
    assert parse_gregorian(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50/01/01", date(1961, 1, 1)),
        ("050/01/01", date(1961, 1, 1)),
        ("109/08/10", date(2020, 8, 10)),
        ("89/02/29", date(2000, 2, 29)),
        ("112/02/29", None),
        ("00/01/01", None),
    ],
)
def test_roc(text: str, expected: date | None) -> None:
    assert parse_roc(text) == expected


@given(st.dates(date(1912, 1, 1), date(2999, 12, 31)))
def test_property_roc_round_trip(day: date) -> None:
    assert parse_roc(format_roc(day)) == day
    assert parse_gregorian(format_gregorian(day)) == day


def test_age_on_leap_birthday() -> None:
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18


def _checksum_as_written(text: str) -> bool:
    """domain-facts.md's rule, spelled out digit by digit: the reference for the table version."""
    if len(text) != 10 or text[0] not in LETTER_VALUES or text[1] not in "12ABCD89":
        return False
    if not all(c in "0123456789" for c in text[2:]):
        return False
    value = LETTER_VALUES[text[0]]
    second = "ABCD".index(text[1]) if text[1] in "ABCD" else int(text[1])
    digits = [second, *(int(c) for c in text[2:])]
    total = value // 10 + (value % 10) * 9
    total += sum(d * w for d, w in zip(digits, (8, 7, 6, 5, 4, 3, 2, 1, 1), strict=True))
    return total % 10 == 0


@given(
    st.text(alphabet="AHZ12ABCD89０0123456789x", min_size=8, max_size=11)
    | tw_ids()
    | tw_ids().map(lambda v: v[:-1] + "0")
)
def test_property_checksum_agrees_with_the_rule_as_written(value: str) -> None:
    assert id_checksum_ok(value) == _checksum_as_written(value)
