"""Where the generator replaces a regular expression by string methods, both accept the same text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codegen.patterns import character_run, implies

RUNS = ["^[0-9]{10}$", "^[0-9]{2}$", "^[0-9A-Za-z]{1,2}$", "^[A-Za-z0-9]{3,5}$", "^[0-9]{1,4}$"]
# Text near the classes' edges: other digits and letters, full-width forms, signs and spaces.
TEXT = st.text(alphabet="09AZaz5mM/:@[`{ ٣²０Ａé-+.", max_size=12)


def _by_methods(run: tuple[str, int, int], text: str) -> bool:
    test, shortest, longest = run
    return shortest <= len(text) <= longest and getattr(text, test)() and text.isascii()


@pytest.mark.parametrize("pattern", RUNS)
@given(text=TEXT)
def test_string_methods_accept_what_the_pattern_accepts(pattern: str, text: str) -> None:
    run = character_run(pattern)
    assert run is not None
    assert _by_methods(run, text) == (re.fullmatch(pattern, text) is not None)


@pytest.mark.parametrize(
    "pattern", ["^[A-Z]{2}$", "^[0-9]+$", "^[0-9]{2}", "[0-9]{2}$", "^[0-9A-Z]{2}$", None]
)
def test_other_patterns_keep_their_regex(pattern: str | None) -> None:
    assert character_run(pattern) is None


NARROW_WIDE = [
    (
        "^ *[A-Z][A-Z0-9]{9} *(, *[A-Z][A-Z0-9]{9} *)*$",
        "^ *[^ ,]{1,10} *(, *[^ ,]{1,10} *)*$",
        None,
    ),
    ("^[0-9]{2}$", "", 2),
    ("^[0-9A-Za-z]{1,2}$", "", 2),
]


@pytest.mark.parametrize(("narrow", "wide", "longest"), NARROW_WIDE)
@given(data=st.data())
def test_property_what_implies_proves_holds_for_every_string(
    narrow: str, wide: str, longest: int | None, data: st.DataObject
) -> None:
    assert implies(narrow, wide, longest)
    text = data.draw(st.from_regex(narrow, fullmatch=True))
    if wide:
        assert re.fullmatch(wide, text)
    else:
        assert text.strip() and longest is not None and len(text) <= longest


@pytest.mark.parametrize(
    ("narrow", "wide", "longest"),
    [
        # an item longer than the column, a class that takes a comma, a length beyond the column,
        # and shapes it cannot read: never claimed
        (
            "^ *[A-Z][A-Z0-9]{10} *(, *[A-Z][A-Z0-9]{10} *)*$",
            "^ *[^ ,]{1,10} *(, *[^ ,]{1,10} *)*$",
            None,
        ),
        ("^ *[A-Z,]{3} *(, *[A-Z,]{3} *)*$", "^ *[^ ,]{1,10} *(, *[^ ,]{1,10} *)*$", None),
        ("^[0-9]{3}$", "", 2),
        ("^[0-9 ]{2}$", "", 2),
        ("^.{2}$", "", 2),
        ("^[0-9]{2}$", "^[0-9]{3}$", None),
    ],
)
def test_implies_never_claims_what_it_cannot_prove(
    narrow: str, wide: str, longest: int | None
) -> None:
    assert not implies(narrow, wide, longest)
