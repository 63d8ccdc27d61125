"""Hypothesis strategies that build payloads from the spec model, valid by construction.

Values come from each field's format, enum and range; record-level rules are satisfied by how
values are drawn (a visit on or after the birthday, years smoked within the age, as many
quantities as drug items), never by filtering.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from codegen.model import Condition, Enum, Field, Operation
from codegen.patterns import fast_range, value_pattern
from scforhis.validation.dates import (
    age_on,
    format_gregorian,
    format_roc,
    parse_gregorian,
    parse_roc,
)
from scforhis.validation.idnumbers import LETTER_VALUES, check_digit

# A fixed "today" so that generated records stay valid whatever day the tests run.
TODAY = date(2026, 11, 25)
EARLIEST_BIRTH = TODAY - timedelta(days=365 * 100)
EARLIEST_VISIT = date(2013, 1, 1)


@st.composite
def tw_ids(draw: st.DrawFn) -> str:
    """National IDs and both kinds of resident certificate, with the right check digit."""
    letter = draw(st.sampled_from(sorted(LETTER_VALUES)))
    second = draw(st.sampled_from("12ABCD89"))
    digits = draw(st.text(alphabet="0123456789", min_size=7, max_size=7))
    first_nine = letter + second + digits
    return first_nine + check_digit(first_nine)


def text_values() -> st.SearchStrategy[str]:
    """Free text that is not blank."""
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=12).map(lambda s: "T" + s)


def decimal_values(field: Field) -> st.SearchStrategy[str]:
    """Numbers in the field's plausible range with up to the format's decimals, written plainly."""
    assert field.format is not None
    scale = 10**field.format.decimals
    minimum, maximum = fast_range(field)
    low, high = round(minimum * scale), round(maximum * scale)

    def write(n: int) -> str:
        whole, fraction = divmod(n, scale)
        return (
            str(whole)
            if fraction == 0
            else f"{whole}.{fraction:0{field.format.decimals}d}".rstrip("0")
        )

    return st.integers(low, high).map(write)


def date_text(field: Field, day: date) -> str:
    """Write a day in the field's calendar."""
    assert field.format is not None
    return format_roc(day) if field.format.calendar == "roc" else format_gregorian(day)


def value_strategy(field: Field, enum: Enum | None = None) -> st.SearchStrategy[str]:
    """A valid, non-blank value for `field` (using `enum` instead of its own when given)."""
    enum = enum or field.enum
    if enum is not None:
        return st.sampled_from(enum.codes)
    fmt = field.format
    assert fmt is not None
    if field.advice and fmt.kind == "text":
        # The shape the advice asks for (a 2-digit branch): valid and without a warning.
        return st.from_regex(field.advice[0].pattern, fullmatch=True)
    if fmt.kind == "text" and fmt.max_length is not None:
        return st.text(st.characters(exclude_categories=("Cs",)), max_size=fmt.max_length - 1).map(
            lambda s: "T" + s
        )
    if fmt.kind == "text":
        return text_values()
    if fmt.kind == "integer":
        low, high = fast_range(field)
        return st.integers(int(low), int(high)).map(str)
    if fmt.kind == "decimal":
        return decimal_values(field)
    if fmt.kind == "date":
        return st.dates(EARLIEST_BIRTH, TODAY).map(lambda d: date_text(field, d))
    if fmt.check == "tw_id_checksum":
        return tw_ids()
    if fmt.kind == "list":
        return st.integers(1, 4).flatmap(lambda n: list_values(field, n))
    pattern = value_pattern(field)
    assert pattern is not None
    return st.from_regex(pattern, fullmatch=True)


def list_values(field: Field, count: int) -> st.SearchStrategy[str]:
    """A comma-separated list of `count` items, with the spaces the manual's examples show."""
    assert field.format is not None
    if field.advice:
        items = st.from_regex(r"[A-Z][A-Z0-9]{9}", fullmatch=True)
    else:
        items = st.integers(0, 99999).map(
            lambda n: str(n // 10) if n % 10 == 0 else f"{n // 10}.{n % 10}"
        )
    pieces = st.lists(items, min_size=count, max_size=count)
    spaces = st.sampled_from(["", " "])
    return st.tuples(pieces, spaces, spaces).map(lambda t: t[1] + ("," + t[2]).join(t[0]))


def _holds(condition: Condition, payload: dict[str, Any], operation: Operation) -> bool:
    return payload.get(operation.field(condition.field).wire) == condition.equals


@st.composite
def valid_payloads(
    draw: st.DrawFn, operation: Operation, *, with_optional: bool = True
) -> dict[str, Any]:
    """A payload that the schema and the validator both accept, with every value plausible."""
    payload: dict[str, Any] = {}
    # Conditions first: every field that a condition reads is an enum field drawn up front.
    condition_fields = {c.field for c in operation.conditions}
    for key in sorted(condition_fields):
        field = operation.field(key)
        payload[field.wire] = draw(value_strategy(field))
    for field in operation.fields:
        if field.key in condition_fields:
            continue
        needed = field.always_required or (
            field.condition is not None and _holds(field.condition, payload, operation)
        )
        if not needed:
            choice = draw(
                st.sampled_from(
                    ["absent", "null", "blank", "value"] if with_optional else ["absent"]
                )
            )
            if choice == "absent":
                continue
            if choice in ("null", "blank"):
                payload[field.wire] = None if choice == "null" else draw(st.sampled_from(["", " "]))
                continue
        enum = next(
            (d.enum for d in field.depends if _holds(d.condition, payload, operation)), None
        )
        payload[field.wire] = draw(value_strategy(field, enum))
    _satisfy_rules(draw, operation, payload)
    return payload


def _satisfy_rules(draw: st.DrawFn, operation: Operation, payload: dict[str, Any]) -> None:
    """Redraw the values that cross-field rules relate, so that each holds by construction
    (programme rules are left to chance: their warnings are findings about the patient)."""
    for rule in operation.rules:
        if rule.code == "policy":
            continue
        args = dict(rule.args)
        if rule.check in ("not_before", "age_at_most") and all(
            f.wire in payload for f in args.values()
        ):
            birth_field = args.get("earlier") or args["birth"]
            visit_field = args.get("later") or args["at"]
            birth = draw(st.dates(EARLIEST_BIRTH, TODAY))
            visit = draw(st.dates(max(birth, EARLIEST_VISIT), max(birth, TODAY)))
            payload[birth_field.wire] = date_text(birth_field, birth)
            payload[visit_field.wire] = date_text(visit_field, visit)
        elif rule.check == "years_within_age" and _present(payload, args["years"]):
            birth, visit = _day(payload, args["birth"]), _day(payload, args["at"])
            age = age_on(birth, visit)
            top = min(age, int(fast_range(args["years"])[1]))
            payload[args["years"].wire] = str(draw(st.integers(0, top)))
        elif rule.check == "same_count" and (
            _present(payload, args["first"]) or _present(payload, args["second"])
        ):
            count = draw(st.integers(1, 4))
            for field in (args["first"], args["second"]):
                payload[field.wire] = draw(list_values(field, count))


def _present(payload: dict[str, Any], field: Field) -> bool:
    value = payload.get(field.wire)
    return isinstance(value, str) and bool(value.strip())


def _day(payload: dict[str, Any], field: Field) -> date:
    assert field.format is not None
    text = payload[field.wire]
    day = parse_roc(text) if field.format.calendar == "roc" else parse_gregorian(text)
    assert day is not None
    return day
