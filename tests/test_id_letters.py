"""National IDs and resident certificates for every first letter, checked against the published
rule rather than against the code's own table.

The letter table and the weights are as the Ministry of the Interior and the National Immigration
Agency publish them (see ../shared/reference/domain-facts.md): a letter stands for two digits
x1 x2, and x1×1 + x2×9 + d1×8 + d2×7 + … + d7×2 + d8×1 + check ≡ 0 (mod 10). The old resident
certificate's second letter A–D counts as 0–3 in the ×8 place.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scforhis.validation.idnumbers import check_digit, id_checksum_ok, id_kind, mask_id

# Written out as published, letter by letter: I, O, W, X, Y and Z are out of alphabetical order
# because they were added after the first table (Kinmen W 32 and Penghu X 30, for instance).
PUBLISHED = (
    ("A", 10), ("B", 11), ("C", 12), ("D", 13), ("E", 14), ("F", 15), ("G", 16), ("H", 17),
    ("I", 34), ("J", 18), ("K", 19), ("L", 20), ("M", 21), ("N", 22), ("O", 35), ("P", 23),
    ("Q", 24), ("R", 25), ("S", 26), ("T", 27), ("U", 28), ("V", 29), ("W", 32), ("X", 30),
    ("Y", 31), ("Z", 33),
)  # fmt: skip
OLD_SECOND = {"A": 0, "B": 1, "C": 2, "D": 3}
# Worked examples from the sources: the manual's two IDs and the NIA's old certificate.
WORKED = ("A123456789", "A198765435", "HD12345678")


def published_check_digit(nine: str) -> str:
    """The check digit by the published rule, computed here without the package's tables."""
    value = dict(PUBLISHED)[nine[0]]
    second = OLD_SECOND.get(nine[1])
    digits = [value // 10, value % 10, second if second is not None else int(nine[1])]
    digits += [int(c) for c in nine[2:]]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1)
    total = sum(d * w for d, w in zip(digits, weights, strict=True))
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize("text", WORKED)
def test_the_worked_examples_pass(text: str) -> None:
    assert id_checksum_ok(text)
    assert published_check_digit(text[:9]) == text[9]


@pytest.mark.parametrize(("letter", "value"), PUBLISHED)
@pytest.mark.parametrize("second", ["1", "2", "8", "9", "A", "B", "C", "D"])
def test_every_first_letter_and_document_kind(letter: str, value: int, second: str) -> None:
    for body in ("0000000", "2345678", "9081726"):
        nine = letter + second + body
        good = published_check_digit(nine)
        assert id_checksum_ok(nine + good), (nine + good, value)
        assert check_digit(nine) == good
        for wrong in "0123456789".replace(good, ""):
            assert not id_checksum_ok(nine + wrong), nine + wrong


@given(
    letter=st.sampled_from([letter for letter, _ in PUBLISHED]),
    second=st.sampled_from("1289ABCD"),
    body=st.text("0123456789", min_size=8, max_size=8),
)
def test_property_the_package_agrees_with_the_published_rule(
    letter: str, second: str, body: str
) -> None:
    text = letter + second + body
    assert id_checksum_ok(text) == (published_check_digit(text[:9]) == text[9])


@pytest.mark.parametrize(
    ("text", "kind"),
    [("A123456789", "national"), ("B298765432", "national"), ("A800000014", "resident_new"),
     ("C912345678", "resident_new"), ("HD12345678", "resident_old"), ("FA12345678", "resident_old")],
)  # fmt: skip
def test_id_kind_from_the_second_character(text: str, kind: str) -> None:
    assert id_kind(text) == kind


@pytest.mark.parametrize(
    "text",
    ["a123456789", "A12345678", "A1234567890", "A323456789", "AE12345678", "1123456789",
     "A12345678９", "", "A12345678A"],
)  # fmt: skip
def test_malformed_text_never_passes(text: str) -> None:
    assert not id_checksum_ok(text)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("A123456789", "A12****789"), ("HD12345678", "HD1****678"), ("A1234567", "A12**567"),
     ("A123456", "*******"), ("", "")],
)  # fmt: skip
def test_masking(text: str, shown: str) -> None:
    assert mask_id(text) == shown
