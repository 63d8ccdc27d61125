"""Edges pinned with fixed dates and known answers, so that a rule shifted by a day or a year, a
hint left out, or a severity mislabelled in a report fails a test (found by `make mutate`)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from scforhis import validate
from scforhis.cli import main
from tests.sandbox_support import visit

TODAY = date(2026, 11, 30)  # ROC 115


def _codes(operation: str, record: dict[str, str], today: date = TODAY) -> dict[str, str]:
    """Rule id (or issue code, for findings of no rule) -> severity, for every issue."""
    result = validate(operation, record, today=today)
    return {i.rule or i.code: i.severity for i in (*result.errors, *result.warnings)}


def _on(day: date, **changes: str) -> dict[str, str]:
    return visit(1, day.strftime("%Y/%m/%d"), examyear=str(day.year - 1911), **changes)


@pytest.mark.parametrize("operation", ["Save", "Update"])
def test_a_visit_dated_today_is_not_in_the_future_and_tomorrow_is(operation: str) -> None:
    assert "visit_not_in_future" not in _codes(operation, _on(TODAY))
    assert "visit_not_in_future" not in _codes(operation, _on(TODAY - timedelta(days=1)))
    assert _codes(operation, _on(TODAY + timedelta(days=1)))["visit_not_in_future"] == "warning"


def test_a_birthday_today_is_not_in_the_future_and_tomorrow_is() -> None:
    for day, future in ((TODAY, False), (TODAY + timedelta(days=1), True)):
        record = _on(TODAY, birthday=day.strftime("%Y/%m/%d"))
        assert ("birthday_not_in_future" in _codes("Save", record)) is future


@pytest.mark.parametrize(
    ("examyear", "warned"),
    [("111", False), ("110", False), ("112", True), ("109", True), ("100", True)],
)
def test_the_course_year_is_the_visits_roc_year_or_the_year_before(
    examyear: str, warned: bool
) -> None:
    record = visit(1, "2022/10/03", examyear=examyear)  # ROC 111
    codes = _codes("Save", record)
    assert ("course_year_matches_visit" in codes) is warned
    if warned:
        assert codes["course_year_matches_visit"] == "warning"


def test_a_course_year_in_january_may_be_last_year() -> None:
    record = visit(1, "2023/01/05", examyear="111")  # ROC 112, a course begun the year before
    assert "course_year_matches_visit" not in _codes("Save", record)


def test_a_gregorian_course_year_is_an_error_with_the_roc_year_as_its_hint() -> None:
    result = validate("Save", visit(1, "2022/10/03", examyear="2022"), today=TODAY)
    (issue,) = [i for i in result.errors if i.field.lower() == "examyear"]
    assert "111" in issue.message  # the ROC year of 2022, as the hint offers it
    assert "民國" in issue.message


def _validate_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, *options: str
) -> Any:
    path = tmp_path / "export.json"
    path.write_text(text, "utf-8")
    main(["validate", "--op", "Save", "--format", "json", "--today", TODAY.isoformat(),
          *options, str(path)])  # fmt: skip
    return json.loads(capsys.readouterr().out)


def test_the_json_report_keeps_warnings_and_errors_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    under_18 = visit(2, "2022/10/03", birthday="2010/01/01")  # medication under 18: programme
    broken = visit(3, "2022/10/03", smokE_YEAR="x")
    report = _validate_json(capsys, tmp_path, json.dumps([visit(1), under_18, broken]))
    records = {r["record"]: r for r in report["records"]}
    (warning,) = [w for w in records[2]["warnings"] if w["rule"] == "medication_under_18"]
    assert warning["severity"] == "warning"
    assert records[2]["ok"] is True and records[2]["errors"] == []
    assert all(e["severity"] == "error" for e in records[3]["errors"]) and records[3]["errors"]
    assert records[3]["ok"] is False


def test_strict_turns_the_warnings_into_errors_in_the_json_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    under_18 = visit(2, "2022/10/03", birthday="2010/01/01")
    report = _validate_json(capsys, tmp_path, json.dumps([under_18]), "--strict")
    (record,) = report["records"]
    assert record["ok"] is False
    assert any(
        e["rule"] == "medication_under_18" and e["severity"] == "error" for e in record["errors"]
    )


def test_json_line_numbers_in_a_pretty_printed_array(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [visit(1), visit(2, smokE_YEAR="x"), visit(3), visit(4, smokE_YEAR="y")]
    text = json.dumps(records, indent=2, ensure_ascii=False)
    starts = [n for n, line in enumerate(text.splitlines(), start=1) if line == "  {"]
    report = _validate_json(capsys, tmp_path, text)
    lines = {r["record"]: r["line"] for r in report["records"]}
    assert lines == {2: starts[1], 4: starts[3]}


@pytest.mark.parametrize(
    ("text", "day"),
    [("1/01/01", date(1912, 1, 1)), ("001/01/01", date(1912, 1, 1)), ("89/02/29", date(2000, 2, 29)),
     ("109/02/29", date(2020, 2, 29)), ("112/02/29", None), ("0/12/31", None), ("000/01/01", None),
     ("111/13/01", None), ("50/01/01", date(1961, 1, 1))],
)  # fmt: skip
def test_roc_dates_by_the_published_calendar(text: str, day: date | None) -> None:
    # ROC year 1 is 1912; leap years follow the Gregorian year (domain-facts.md).
    from scforhis.validation.dates import parse_roc

    assert parse_roc(text) == day


def _rules(operation: str, record: dict[str, str]) -> set[str]:
    result = validate(operation, record, today=TODAY)
    return {i.rule for i in (*result.errors, *result.warnings) if i.rule}


def test_a_visit_on_the_birthday_is_not_before_birth() -> None:
    assert "visit_not_before_birth" not in _rules(
        "Save", visit(1, "2022/10/03", birthday="2022/10/03")
    )
    assert "visit_not_before_birth" in _rules("Save", visit(1, "2022/10/03", birthday="2022/10/04"))


def test_medication_from_the_18th_birthday_on() -> None:
    # 18 on the visit day: eligible by age; the day before the 18th birthday: not.
    assert "medication_under_18" not in _rules(
        "Save", visit(1, "2022/10/03", birthday="2004/10/03")
    )
    assert "medication_under_18" in _rules("Save", visit(1, "2022/10/03", birthday="2004/10/04"))


def test_an_age_of_exactly_120_is_plausible_and_121_is_not() -> None:
    assert "plausible_age" not in _rules("Save", visit(1, "2022/10/03", birthday="1902/10/03"))
    assert "plausible_age" in _rules("Save", visit(1, "2022/10/03", birthday="1901/10/03"))


def test_years_smoked_may_equal_the_age_but_not_exceed_it() -> None:
    born = "2002/10/03"  # 20 on the visit day
    assert "years_smoked_within_age" not in _rules(
        "Save", visit(1, "2022/10/03", birthday=born, smokE_YEAR="20")
    )
    assert "years_smoked_within_age" in _rules(
        "Save", visit(1, "2022/10/03", birthday=born, smokE_YEAR="21")
    )


@pytest.mark.parametrize(
    ("written", "short_year"), [("5/01/01", True), ("50-01-01", False), ("105.1.1", False)]
)
def test_the_short_roc_year_hint_is_for_one_digit_years_only(
    written: str, short_year: bool
) -> None:
    from tests.sandbox_support import manual_request

    result = validate("GetSCDataB", {**manual_request("GetSCDataB"), "birthday": written})
    (issue,) = result.errors
    assert ("民國年至少寫兩位數" in issue.message) is short_year


def test_a_whole_number_outside_a_range_that_its_digits_allow_is_refused() -> None:
    # A range of 1-12 (months) in a two-digit pattern: 0 and 13 match the digits, not the range.
    import re

    from scforhis.validation.issues import Bounds, FieldInfo
    from scforhis.validation.values import integer_issue

    info = FieldInfo("month", "MONTH", "月", "month")
    bounds = Bounds(1, 12, "storage")
    for value, expected in (("0", None), ("13", None), ("1", 1), ("12", 12)):
        errors: list[object] = []
        warnings: list[object] = []
        found = integer_issue(
            info, value, re.compile(r"[0-9]{1,2}"), "1-2 碼", "1-2 digits", bounds, None,
            errors, warnings,  # type: ignore[arg-type]
        )  # fmt: skip
        assert found == expected
        assert (len(errors) == 1) is (expected is None) and not warnings


def test_fix_hints_are_searched_up_to_the_longest_typed_value() -> None:
    from scforhis.validation.values import _LONGEST_TYPED, find_fix

    def passes(text: str) -> bool:
        return text.strip() == text and len(text) > 0

    # Spaces a spreadsheet left around a short value: the cleaned value is short enough to show.
    padded = " " * (_LONGEST_TYPED - 10) + "1" * 10
    found = find_fix(padded, passes)
    assert found is not None
    assert find_fix(padded + " ", passes) is None


def test_a_text_too_long_only_for_its_spaces_gets_the_spaces_hint() -> None:
    # A free-text column (no advice) of 4 characters: " abcd " fits once the spaces go.
    from scforhis.validation.issues import FieldInfo
    from scforhis.validation.values import length_issue

    info = FieldInfo("memo", "MEMO", "備註", "memo")
    issue = length_issue(info, " abcd ", 4, "storage")
    assert "前後有空白" in issue.message and "abcd" in issue.message
    assert "前後有空白" not in length_issue(info, "abcdef", 4, "storage").message


def test_did_you_mean_reaches_the_longest_name_that_can_still_match() -> None:
    # difflib's ratio 2M/T: "abc" inside "abcxx" gives 6/8 = 0.75, exactly the cutoff, so the
    # name is still searched and matched; one more letter cannot reach it.
    from scforhis.validation.keys import _suggestion

    assert _suggestion("abcxx", {"abc": "ABC"}) == "ABC"
    assert _suggestion("abcxxx", {"abc": "ABC"}) is None


@pytest.mark.parametrize("payload", [[1, 2], "text", 3, None])
def test_a_payload_that_is_not_an_object_is_one_error(payload: object) -> None:
    result = validate("Save", payload, today=TODAY)  # type: ignore[arg-type]
    (issue,) = result.errors
    assert issue.code == "payload" and "JSON 物件" in issue.message


def test_field_infos_cannot_change_once_made() -> None:
    # Validators share them across threads and records.
    import dataclasses

    from scforhis.validation.issues import FieldInfo

    info = FieldInfo("id", "ID", "身分證號", "ID number", "national_id")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.label = "x"  # type: ignore[misc]
    assert not hasattr(info, "__dict__")


def test_an_id_field_value_up_to_the_echo_length_is_masked_as_an_id() -> None:
    from scforhis.validation.idnumbers import mask_id
    from scforhis.validation.issues import masked
    from scforhis.validation.text import ECHO_LENGTH

    exact = "A" + "1" * (ECHO_LENGTH - 1)
    assert masked(exact) == mask_id(exact)
    longer = exact + "1"
    assert masked(longer) == f"A11****…({len(longer)} 字元 characters)"
