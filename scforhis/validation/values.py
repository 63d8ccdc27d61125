"""The slow path of value checks: what exactly is wrong with a value that failed its fast test.

Generated validators try a value against a frozenset or a compiled pattern first; only a value
that fails comes here, to be told apart (malformed, out of range, no such day) and explained.

When the value is a correct one mistyped the way a clerk copying from a spreadsheet mistypes it
(full-width characters, spaces around it, lower-case letters, a date in the other calendar or
without zero-padding or slashes, a code that lost its leading zeros), the message names the
exact value to write (`；…，應為 2026/11/04` / `; …, so write 2026/11/04`). A value is suggested
only when it passes the field's own check (the same test the fast path makes: the pattern, the
range, the calendar, the check digit, the codes), and the field's advice where it has some: a
hint never suggests a value that would still be refused or warned about for its writing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator
from typing import NamedTuple

from .dates import ROC_OFFSET, format_gregorian, parse_gregorian, parse_roc, read_date_loosely
from .idnumbers import id_checksum_ok
from .issues import (
    Advice,
    Bounds,
    FieldInfo,
    Issue,
    advice_issue,
    bad_checksum,
    bad_date,
    bad_pattern,
    not_in_enum,
    out_of_range,
    too_long,
)

# Any plain non-negative number: one that fails only its digit bound is out of range, not malformed.
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")

# What is wrong with a value's writing, in zh-TW and English.
Reason = tuple[str, str]

_FULL_WIDTH: Reason = ("含全形字元", "it has full-width characters")
_SPACES: Reason = ("前後有空白", "it has spaces around it")
_LOWER_CASE: Reason = ("英文字母須大寫", "its letters must be capitals")
_NO_SLASHES: Reason = ("日期要有斜線", "dates need slashes")
_SEPARATORS: Reason = ("日期以斜線 / 分隔", "dates are written with slashes")
_UNPADDED: Reason = ("月、日要寫成兩位數", "month and day take two digits")
_SHORT_ROC_YEAR: Reason = ("民國年至少寫兩位數", "the ROC year takes two digits or more")
_ROC_GIVEN: Reason = (
    "這看起來是民國日期，西元年 = 民國年 + 1911",
    "this looks like a ROC date: Gregorian year = ROC year + 1911",
)
_GREGORIAN_GIVEN: Reason = (
    "這看起來是西元日期，民國年 = 西元年 - 1911",
    "this looks like a Gregorian date: ROC year = Gregorian year - 1911",
)
_GREGORIAN_YEAR: Reason = (
    "這看起來是西元年，民國年 = 西元年 - 1911",
    "this looks like a Gregorian year: ROC year = Gregorian year - 1911",
)

# The cleanings a mistyped value may need, applied in this order (bit 1, 2, 4 of a subset):
# NFKC (full-width to ASCII), strip, upper case. Subsets fewest first: a hint names only what
# is needed.
_SUBSETS = (1, 2, 4, 3, 5, 6, 7)
# Free text keeps its characters: only spaces around it may go.
_SPACES_ONLY = (2,)
# A longer suggestion is left out: a hint is for a value typed by hand.
_LONGEST_SUGGESTION = 200
# Nor is a value this long searched for one (each cleaning copies it: a 10 MB value would cost
# more than a whole export's valid records).
_LONGEST_TYPED = 1000
# An advice pattern of n digits exactly, whose values a spreadsheet may have shortened.
_FIXED_DIGITS = re.compile(r"\^?(?:\[0-9\]|\\d)\{([0-9]+)\}\$?")

# Extra code sets a value must be in where a condition holds (a medication visit's weeks).
Also = Iterable[tuple[bool, Container[str]]]


class Fix(NamedTuple):
    """The value to write instead, and what was wrong with the one written."""

    value: str
    reasons: tuple[Reason, ...]


def _cleanings(value: str, subsets: Iterable[int]) -> Iterator[tuple[str, tuple[Reason, ...]]]:
    """`value` itself, then each distinct result of cleaning it, with the reasons; a subset in
    which a cleaning changes nothing is left out (a smaller subset says the same)."""
    yield value, ()
    seen = {value}
    # NFKC leaves ASCII as it is: most values that fail are ASCII, so skip its cost for them.
    normalized = value if value.isascii() else unicodedata.normalize("NFKC", value)
    for bits in subsets:
        text: str = value
        reasons: tuple[Reason, ...] = ()
        if bits & 1:
            if normalized == value:
                continue
            text, reasons = normalized, (_FULL_WIDTH,)
        if bits & 2:
            cleaned = text.strip()
            if cleaned == text:
                continue
            text, reasons = cleaned, (*reasons, _SPACES)
        if bits & 4:
            cleaned = text.upper()
            if cleaned == text:
                continue
            text, reasons = cleaned, (*reasons, _LOWER_CASE)
        if text not in seen:
            seen.add(text)
            yield text, reasons


Reshape = Callable[[str], Iterable[tuple[str, tuple[Reason, ...]]]]


def find_fix(
    value: str,
    passes: Callable[[str], bool],
    reshape: Reshape | None = None,
    subsets: Iterable[int] = _SUBSETS,
) -> Fix | None:
    """The value to write instead of `value`: `value` cleaned (NFKC, stripped, upper-cased, the
    fewest of these first) and, by `reshape`, rewritten, the first that `passes`; or None."""
    if len(value) > _LONGEST_TYPED:
        return None
    for text, reasons in _cleanings(value, subsets):
        candidates: list[tuple[str, tuple[Reason, ...]]] = [(text, ())] if reasons else []
        if reshape is not None:
            candidates += reshape(text)
        for fixed, more in candidates:
            if fixed != value and len(fixed) <= _LONGEST_SUGGESTION and passes(fixed):
                return Fix(fixed, reasons + more)
    return None


def written(info: FieldInfo, value: str) -> str:
    """A suggested value as a person may see it: whole, but masked for ID numbers."""
    return info.shown(value) if info.sensitive else value


def fix_hint(info: FieldInfo, fix: Fix | None) -> tuple[str, str]:
    """The hint that names the value to write (`；前後有空白，應為 1`), or two empty strings."""
    if fix is None:
        return "", ""
    shown = written(info, fix.value)
    why = "，".join(zh for zh, _ in fix.reasons)
    why_en = "; ".join(en for _, en in fix.reasons)
    return f"；{why}，應為 {shown}", f"; {why_en}, so write {shown}"


def _allowed(text: str, also: Also) -> bool:
    return all(text in codes for holds, codes in also if holds)


def _date_reshapes(text: str, calendar: str | None) -> list[tuple[str, tuple[Reason, ...]]]:
    """`text` read as a loosely written date, in the field's calendar, with the reasons."""
    read = read_date_loosely(text)
    if read is None:
        return []
    written_in, day, shape = read
    if calendar == "roc":
        # The manual writes ROC years unpadded (`50/01/01`); the pattern wants two digits or more.
        fixed = f"{day.year - ROC_OFFSET:02d}/{day.month:02d}/{day.day:02d}"
    else:
        fixed = format_gregorian(day)
    if written_in != ("roc" if calendar == "roc" else "gregorian"):
        reasons: tuple[Reason, ...] = (_ROC_GIVEN if written_in == "roc" else _GREGORIAN_GIVEN,)
    elif shape == "digits":
        reasons = (_NO_SLASHES,)
    else:
        year, month, day_of_month = re.split(r"[/.-]", text)
        reasons = (
            ((_SEPARATORS,) if shape == "separators" else ())
            + ((_SHORT_ROC_YEAR,) if len(year) < 2 else ())
            + ((_UNPADDED,) if len(month) < 2 or len(day_of_month) < 2 else ())
        )
    return [(fixed, reasons)]


def _gregorian_year(text: str) -> list[tuple[str, tuple[Reason, ...]]]:
    """A four-digit Gregorian year where a ROC year belongs, converted."""
    if len(text) == 4 and text.isascii() and text.isdigit() and int(text) > ROC_OFFSET:
        return [(str(int(text) - ROC_OFFSET), (_GREGORIAN_YEAR,))]
    return []


def _zero_padded(advice: Advice) -> Reshape | None:
    """For an advice of exactly n digits: a shorter run of digits padded with leading zeros."""
    shape = _FIXED_DIGITS.fullmatch(getattr(advice.pattern, "pattern", ""))
    if shape is None:
        return None
    size = int(shape.group(1))
    reason = (f"補零至 {size} 碼", f"it needs leading zeros to make {size} digits")

    def pad(text: str) -> list[tuple[str, tuple[Reason, ...]]]:
        if text.isascii() and text.isdigit() and len(text) < size:
            return [(text.zfill(size), (reason,))]
        return []

    return pad


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
    also: Also = (),
) -> int | None:
    """Check a whole number that missed the fast look-up; report what is wrong with it.

    A value the field's `bounds` refuse is reported with their evidence (an error for a column
    size); one inside them but outside `plausible` gets a warning and is still returned, so
    that rules about other fields can use it. A malformed value gets a fix hint when a value
    inside `bounds` (and in the codes of `also` whose condition holds) was meant.
    """
    if pattern.fullmatch(value) is None:

        def passes(text: str) -> bool:
            return (
                pattern.fullmatch(text) is not None
                and bounds.low <= int(text) <= bounds.high
                and _allowed(text, also)
            )

        fix = find_fix(value, passes, _gregorian_year if calendar == "roc" else None)
        if value.isascii() and value.isdigit() and fix is None:
            _report(out_of_range(info, value, bounds), errors, warnings)
        else:
            hint = fix_hint(info, fix)
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
    also: Also = (),
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

            def passes(text: str) -> bool:
                return (
                    pattern.fullmatch(text) is not None
                    and bounds.low <= float(text) <= bounds.high
                    and _allowed(text, also)
                )

            hint = fix_hint(info, find_fix(value, passes))
            _report(
                bad_pattern(info, value, expected, expected_en, *hint, evidence=bounds.evidence),
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
    also: Also = (),
) -> Issue:
    """Explain a date that failed: written wrongly (with the date to write, when one was
    clearly meant: the other calendar, other separators, no zero-padding) or no such day."""
    if pattern.fullmatch(value) is None:
        parse = parse_roc if calendar == "roc" else parse_gregorian

        def passes(text: str) -> bool:
            return (
                pattern.fullmatch(text) is not None
                and parse(text) is not None
                and _allowed(text, also)
            )

        fix = find_fix(value, passes, lambda text: _date_reshapes(text, calendar))
        return bad_pattern(info, value, expected, expected_en, *fix_hint(info, fix))
    return bad_date(info, value)


def enum_issue(
    info: FieldInfo,
    value: str,
    choices: str,
    choices_en: str,
    codes: Container[str],
    also: Also = (),
) -> Issue:
    """A value not among the field's `codes`; when a code was mistyped (`1 `, `y`, `１`), the
    message names the code to write."""
    fix = find_fix(value, lambda text: text in codes and _allowed(text, also))
    if fix is None:
        return not_in_enum(info, value, choices, choices_en)
    return not_in_enum(
        info,
        value,
        choices,
        choices_en,
        fixed=written(info, fix.value),
        why="，".join(zh for zh, _ in fix.reasons),
        why_en="; ".join(en for _, en in fix.reasons),
    )


def id_issue(
    info: FieldInfo,
    value: str,
    pattern: re.Pattern[str],
    expected: str,
    expected_en: str,
    evidence: str = "manual",
    also: Also = (),
) -> Issue:
    """An ID number that failed: malformed (with the ID to write, masked, when it is this one
    mistyped: `a123456789`, full-width, spaces) or with a wrong check digit."""
    if pattern.fullmatch(value) is None:
        fix = find_fix(
            value,
            lambda text: (
                pattern.fullmatch(text) is not None
                and id_checksum_ok(text)
                and _allowed(text, also)
            ),
        )
        return bad_pattern(info, value, expected, expected_en, *fix_hint(info, fix), evidence)
    return bad_checksum(info, value)


def _fits(
    text: str,
    hard: re.Pattern[str] | None,
    longest: int | None,
    advice: Iterable[Advice],
    also: Also,
) -> bool:
    """`text` passes a field's own check (`hard`, `longest`), its advice, and `also`."""
    return (
        (hard is None or hard.fullmatch(text) is not None)
        and (longest is None or len(text) <= longest)
        and all(a.pattern.fullmatch(text) is not None for a in advice)
        and _allowed(text, also)
    )


def pattern_issue(
    info: FieldInfo,
    value: str,
    pattern: re.Pattern[str],
    expected: str,
    expected_en: str,
    evidence: str = "manual",
    advice: tuple[Advice, ...] = (),
    also: Also = (),
) -> Issue:
    """A value not written the way the field's `pattern` requires (or, with plausibility
    evidence, usually is); a hint names the value to write when one passes the pattern and
    the field's `advice`."""
    fix = find_fix(value, lambda text: _fits(text, pattern, None, advice, also))
    return bad_pattern(info, value, expected, expected_en, *fix_hint(info, fix), evidence)


def length_issue(
    info: FieldInfo,
    value: str,
    longest: int,
    evidence: str,
    advice: tuple[Advice, ...] = (),
    also: Also = (),
) -> Issue:
    """A value longer than its column; when spaces around it (or, for a field with advice,
    its writing) made it so, the hint names the value to write."""
    fix = find_fix(
        value,
        lambda text: _fits(text, None, longest, advice, also),
        subsets=_SUBSETS if advice else _SPACES_ONLY,
    )
    return too_long(info, value, longest, evidence, *fix_hint(info, fix))


def advice_problem(
    info: FieldInfo,
    value: str,
    advice: Advice,
    hard: re.Pattern[str] | None = None,
    longest: int | None = None,
    every: tuple[Advice, ...] = (),
    also: Also = (),
) -> Issue:
    """A value that passes its field's own check (`hard`, `longest`) but not `advice` (a
    warning). The hint names the value to write when the value is one of the advised shape
    mistyped, or, for an advice of n digits, a shorter run of digits that lost its leading
    zeros (`0` -> `00`). The suggestion passes the field's own check and `every` advice."""
    fix = find_fix(
        value,
        lambda text: _fits(text, hard, longest, every or (advice,), also),
        _zero_padded(advice),
    )
    return advice_issue(info, value, advice, *fix_hint(info, fix))
