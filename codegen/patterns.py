"""The exact text pattern of each field's value, shared by every emitter.

Formats of kind pattern, date and list carry their pattern in the spec. Whole and decimal numbers
get a pattern derived from the field's range: as many integer digits as the maximum has, and the
format's number of decimals, so a JSON Schema in any language bounds the digits while the Python
validator also checks the range itself.
"""

from __future__ import annotations

import math
import re

from .model import Field

# `^[...]{n}$` or `^[...]{m,n}$` whose class is made of the ranges below, in any order.
_CHARACTER_RUN = re.compile(r"\^\[((?:0-9|A-Z|a-z)+)\]\{([0-9]+)(?:,([0-9]+))?\}\$")
_CLASS_PART = re.compile(r"0-9|A-Z|a-z")
_CLASS_TESTS = {
    frozenset({"0-9"}): "isdigit",
    frozenset({"0-9", "A-Z", "a-z"}): "isalnum",
}


def integer_digits(maximum: float | None) -> int:
    """How many digits the largest allowed whole part has (99 -> 2, 250 -> 3)."""
    return len(str(int(maximum))) if maximum is not None else 9


def value_pattern(field: Field) -> str | None:
    """The ECMA-262-compatible pattern a non-blank value of `field` must match, or None for text."""
    if field.enum is not None or field.format is None:
        return None
    fmt = field.format
    if fmt.kind == "integer":
        return f"^[0-9]{{1,{integer_digits(field.digit_bound)}}}$"
    if fmt.kind == "decimal":
        return f"^[0-9]{{1,{integer_digits(field.digit_bound)}}}(\\.[0-9]{{1,{fmt.decimals}}})?$"
    return fmt.pattern


def admits_any_character(pattern: str | None) -> bool:
    r"""True unless `pattern` surely matches only characters it lists: it has no `.`, no
    negated class `[^...]` and no negated escape (`\S`, `\W`, `\D`, `\P`). Conservative: a
    pattern this cannot judge counts as admitting anything (None, for free text, too)."""
    if pattern is None:
        return True
    rest = re.sub(r"\\[^SWDP]", "", pattern)  # escaped characters stand for themselves
    return "." in rest or "[^" in rest or "\\" in rest


def fast_range(field: Field) -> tuple[float, float]:
    """The numbers a field takes without any finding: its range, narrowed to the plausible one.

    Generated validators accept these on the fast path; anything else is told apart on the
    slow path (an error outside the range, a warning outside the plausible range).
    """
    low, high = field.minimum, field.maximum
    if field.plausible is not None:
        low = field.plausible.minimum if low is None else max(low, field.plausible.minimum)
        high = field.plausible.maximum if high is None else min(high, field.plausible.maximum)
    assert low is not None and high is not None, f"{field.key} has no range"
    return low, high


def small_integer_domain(field: Field, limit: int = 512) -> tuple[int, int] | None:
    """The (lowest, highest) whole-number values of a number field when there are few of them.

    The validator turns such a domain into one dict look-up; spellings outside it (leading zeros,
    decimals) fall back to the full parse, so the look-up is a fast path, not a narrower rule.
    """
    if field.format is None or field.format.kind not in ("integer", "decimal"):
        return None
    if field.minimum is None and field.plausible is None:
        return None
    low_bound, high_bound = fast_range(field)
    low, high = math.ceil(low_bound), math.floor(high_bound)
    if high - low + 1 > limit:
        return None
    return low, high


def tenths_domain(field: Field, limit: int = 4096) -> tuple[int, int] | None:
    """(lowest, highest) in tenths when a decimal field's one-decimal spellings are few ("170.5").

    Heights and weights are usually written with one decimal; with the whole numbers they make
    the decimal field's look-up table. Every spelling is checked against the field's own pattern
    here, so the table never accepts what the pattern would refuse.
    """
    domain = small_integer_domain(field)
    if domain is None or field.format is None or field.format.kind != "decimal":
        return None
    low, high = domain[0] * 10, domain[1] * 10
    if high - low + 1 > limit:
        return None
    pattern = re.compile(value_pattern(field) or "")
    if not all(pattern.fullmatch(f"{n // 10}.{n % 10}") for n in range(low, high + 1)):
        return None
    return low, high


def character_run(pattern: str | None) -> tuple[str, int, int] | None:
    """(test, shortest, longest) when `pattern` is one ASCII class repeated, e.g. `^[0-9]{10}$`.

    `test` names the str method that, together with `isascii()`, accepts exactly that class:
    `isdigit` for [0-9] and `isalnum` for [0-9A-Za-z]. A length test and two string methods cost
    a third of a regular-expression match, on fields every record has.
    """
    match = _CHARACTER_RUN.fullmatch(pattern or "")
    if match is None:
        return None
    test = _CLASS_TESTS.get(frozenset(_CLASS_PART.findall(match.group(1))))
    if test is None:
        return None
    shortest = int(match.group(2))
    longest = int(match.group(3)) if match.group(3) is not None else shortest
    return test, shortest, longest


# A comma-separated list pattern as the spec writes them: `^ *ITEM *(, *ITEM *)*$`.
_LIST = re.compile(r"\^ \*(?P<item>.+?) \*\(, \*(?P=item) \*\)\*\$")
# An item of letters and digits: one or more `[A-Z]`, `[A-Z0-9]{9}` ... pieces, fixed length.
_PIECE = re.compile(r"\[((?:0-9|A-Z|a-z)+)\](?:\{([0-9]+)\})?")
# An item of up to `n` characters other than space and comma.
_ANY_ITEM = re.compile(r"\[\^ ,\]\{1,([0-9]+)\}")


def _fixed_item_length(item: str) -> int | None:
    """The length of an item made only of letter and digit classes, or None for any other."""
    length, position = 0, 0
    while position < len(item):
        piece = _PIECE.match(item, position)
        if piece is None:
            return None
        length += int(piece.group(2) or 1)
        position = piece.end()
    return length or None


def implies(narrow: str, wide: str, max_length: int | None = None) -> bool:
    """True when every string matching `narrow` also passes `wide` (a pattern, or for text a
    length of at most `max_length`). Conservative: False whenever it cannot tell.

    Advice (a warning) is narrower than the check it follows; when the emitter can prove it,
    the validator's fast path tests the advice alone (one test instead of two).
    """
    if not wide:
        run = character_run(narrow)
        return run is not None and max_length is not None and run[2] <= max_length
    if narrow == wide:
        return True
    narrow_list, wide_list = _LIST.fullmatch(narrow), _LIST.fullmatch(wide)
    if narrow_list is None or wide_list is None:
        return False
    length = _fixed_item_length(narrow_list.group("item"))
    any_item = _ANY_ITEM.fullmatch(wide_list.group("item"))
    return length is not None and any_item is not None and length <= int(any_item.group(1))
