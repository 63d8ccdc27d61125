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
