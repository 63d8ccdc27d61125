# Copied by `make generate` from codegen/runtime/values.py; edit it there.
"""The slow path of value checks: what exactly is wrong with a value that failed its fast test.

Generated validators try a value against a frozenset or a compiled pattern first; only a value
that fails comes here, to be told apart (malformed, out of range, no such day) and explained,
with a hint when it looks like the other calendar.
"""

from __future__ import annotations

import re

from .dates import ROC_OFFSET, looks_like_gregorian, looks_like_roc, parse_gregorian, parse_roc
from .issues import Bounds, FieldInfo, Issue, bad_date, bad_pattern, out_of_range

# Any plain non-negative number: one that fails only its digit bound is out of range, not malformed.
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


def _calendar_hint(value: str, calendar: str | None) -> tuple[str, str]:
    """A hint when a value is written in the other calendar, with the value converted."""
    if calendar == "gregorian" and looks_like_roc(value):
        day = parse_roc(value)
        if day is not None:
            fixed = f"{day.year:04d}/{day.month:02d}/{day.day:02d}"
            return (
                f"；這看起來是民國日期，西元年 = 民國年 + 1911，應為 {fixed}",
                f"; this looks like a ROC date: Gregorian year = ROC year + 1911, so {fixed}",
            )
    if calendar == "roc" and looks_like_gregorian(value):
        day = parse_gregorian(value)
        if day is not None and day.year > ROC_OFFSET:
            fixed = f"{day.year - ROC_OFFSET}/{day.month:02d}/{day.day:02d}"
            return (
                f"；這看起來是西元日期，民國年 = 西元年 - 1911，應為 {fixed}",
                f"; this looks like a Gregorian date: ROC year = Gregorian year - 1911, so {fixed}",
            )
    if (
        calendar == "roc"
        and len(value) == 4
        and value.isascii()
        and value.isdigit()
        and int(value) > ROC_OFFSET
    ):
        fixed = str(int(value) - ROC_OFFSET)
        return (
            f"；這看起來是西元年，民國年 = 西元年 - 1911，應為 {fixed}",
            f"; this looks like a Gregorian year: ROC year = Gregorian year - 1911, so {fixed}",
        )
    if len(value) == 7 and value.isascii() and value.isdigit():
        return (
            f"；日期要有斜線，例如 {value[:3]}/{value[3:5]}/{value[5:]}",
            f"; dates need slashes, as in {value[:3]}/{value[3:5]}/{value[5:]}",
        )
    return "", ""


def _report(issue: Issue, errors: list[Issue], warnings: list[Issue]) -> None:
    (errors if issue.severity == "error" else warnings).append(issue)


def integer_issue(
    info: FieldInfo,
    value: str,
    pattern: re.Pattern[str],
    expected: str,
    expected_en: str,
    bounds: Bounds,
    plausible: Bounds | None,
    errors: list[Issue],
    warnings: list[Issue],
    calendar: str | None = None,
) -> int | None:
    """Check a whole number that missed the fast look-up; report what is wrong with it.

    A value the field's `bounds` refuse is reported with their evidence (an error for a column
    size); one inside them but outside `plausible` gets a warning and is still returned, so
    that rules about other fields can use it.
    """
    if pattern.fullmatch(value) is None:
        hint = _calendar_hint(value, calendar)
        if value.isascii() and value.isdigit() and not hint[0]:
            _report(out_of_range(info, value, bounds), errors, warnings)
        else:
            _report(
                bad_pattern(info, value, expected, expected_en, *hint, bounds.evidence),
                errors,
                warnings,
            )
        return None
    number = int(value)
    if not bounds.low <= number <= bounds.high:
        _report(out_of_range(info, value, bounds), errors, warnings)
        return None
    if plausible is not None and not plausible.low <= number <= plausible.high:
        _report(out_of_range(info, value, plausible), errors, warnings)
    return number


def decimal_issue(
    info: FieldInfo,
    value: str,
    pattern: re.Pattern[str],
    expected: str,
    expected_en: str,
    bounds: Bounds,
    plausible: Bounds | None,
    errors: list[Issue],
    warnings: list[Issue],
) -> float | None:
    """Check a number that missed the fast test: malformed, outside `bounds`, or implausible.

    As for whole numbers, an implausible value inside the bounds is reported and returned.
    """
    if pattern.fullmatch(value) is None:
        if _PLAIN_NUMBER.fullmatch(value) is not None and not (
            bounds.low <= float(value) <= bounds.high
        ):
            _report(out_of_range(info, value, bounds), errors, warnings)
        else:
            _report(
                bad_pattern(info, value, expected, expected_en, evidence=bounds.evidence),
                errors,
                warnings,
            )
        return None
    number = float(value)
    if not bounds.low <= number <= bounds.high:
        _report(out_of_range(info, value, bounds), errors, warnings)
        return None
    if plausible is not None and not plausible.low <= number <= plausible.high:
        _report(out_of_range(info, value, plausible), errors, warnings)
    return number


def date_issue(
    info: FieldInfo,
    value: str,
    pattern: re.Pattern[str],
    expected: str,
    expected_en: str,
    calendar: str | None,
) -> Issue:
    """Explain a date that failed: written wrongly (with a calendar hint) or no such day."""
    if pattern.fullmatch(value) is None:
        return bad_pattern(info, value, expected, expected_en, *_calendar_hint(value, calendar))
    return bad_date(info, value)
