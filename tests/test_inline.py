"""Rule checks written inline by the generator mean exactly what the functions in
scforhis/validation/rules.py mean."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from codegen.inline import inline_check, share_calls
from codegen.semantics import RULE_FUNCTIONS
from scforhis.validation import dates, rules

ARGUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "date": st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    "int": st.integers(min_value=-5, max_value=200),
    "list[str]": st.lists(st.text(max_size=3), max_size=4),
    "int | None": st.none() | st.integers(min_value=0, max_value=10),
}


def _example(function: Any) -> st.SearchStrategy[dict[str, Any]]:
    kinds = function.__annotations__
    return st.fixed_dictionaries(
        {name: ARGUMENTS[kind] for name, kind in kinds.items() if name != "return"}
    )


def _inlined(function: Any) -> Any:
    names = [name for name in function.__annotations__ if name != "return"]
    return inline_check(function, {name: f"a_{name}" for name in names})


def _two_statements(day: date, years: int) -> bool:
    year = day.year
    return year >= years


def _attribute_call(day: date, years: int) -> bool:
    return day.replace(day=1).year >= years


def test_one_expression_checks_are_inlined_and_others_stay_calls() -> None:
    assert _inlined(rules.not_before) is not None
    assert _inlined(rules.age_at_most).imports == {("scforhis.validation.dates", "age_on")}
    assert _inlined(_two_statements) is None
    assert _inlined(_attribute_call) is None


@given(st.data())
def test_an_inlined_check_agrees_with_its_function(data: st.DataObject) -> None:
    for name, function in sorted(RULE_FUNCTIONS.items()):
        inlined = _inlined(function)
        if inlined is None:
            continue
        arguments = data.draw(_example(function), label=name)
        namespace = {f"a_{key}": value for key, value in arguments.items()}
        namespace.update({name: getattr(dates, name) for _, name in inlined.imports})
        assert eval(inlined.expression, namespace) == function(**arguments), name


def test_arguments_keep_their_precedence() -> None:
    # An argument that is an expression is substituted as a whole, not as text.
    inlined = inline_check(rules.at_most, {"value": "a + 1", "limit": "b or c"})
    assert inlined is not None
    assert eval(inlined.expression, {"a": 5, "b": 0, "c": 6}) is True
    assert eval(inlined.expression, {"a": 6, "b": 0, "c": 6}) is False


def test_a_call_several_rules_make_is_computed_once() -> None:
    shared, replaced = share_calls(
        [
            "(age_on(p_birthday, p_visit) <= 120)",
            "(p_years <= age_on(p_birthday, p_visit))",
            "(age_on(p_visit, p_birthday) >= 0)",  # other arguments: another call
            "(p_visit >= p_birthday)",
        ]
    )
    assert [(s.variable, s.call) for s in shared] == [
        ("a_age_on_birthday_visit", "age_on(p_birthday, p_visit)")
    ]
    assert shared[0].guard == "p_birthday is not None and p_visit is not None"
    assert replaced == [
        "(a_age_on_birthday_visit <= 120)",
        "(p_years <= a_age_on_birthday_visit)",
        "(age_on(p_visit, p_birthday) >= 0)",
        "(p_visit >= p_birthday)",
    ]


def test_a_call_made_once_or_on_other_values_is_left_alone() -> None:
    expressions = ["(age_on(p_birthday, p_visit) <= 120)", "(age_on(p_birthday, today) >= 18)"]
    assert share_calls(expressions) == ([], expressions)
