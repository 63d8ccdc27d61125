"""The check kinds that the spec's rules name; each returns True when the record passes.

A rule in the spec maps these parameters to fields (`args`) or constants (`params`); generated
code calls the function only when every field argument is present and valid, so the arguments
arrive parsed: dates as `date`, whole numbers as `int`, lists as `list[str]`. `today` is supplied
by the validator (injectable for tests).
"""

from __future__ import annotations

from datetime import date

from .dates import age_on, roc_year


def not_before(earlier: date, later: date) -> bool:
    """`later` is not before `earlier` (a visit not before the birthday)."""
    return later >= earlier


def not_in_future(day: date, today: date) -> bool:
    """`day` is not after today."""
    return day <= today


def age_at_most(birth: date, at: date, years: int) -> bool:
    """The age on `at` is at most `years`."""
    return age_on(birth, at) <= years


def age_at_least(birth: date, at: date, years: int) -> bool:
    """The age on `at` is at least `years`."""
    return age_on(birth, at) >= years


def years_within_age(years: int, birth: date, at: date) -> bool:
    """Years smoked do not exceed the age on `at`."""
    return years <= age_on(birth, at)


def same_count(first: list[str], second: list[str]) -> bool:
    """Two comma-separated lists have as many items each."""
    return len(first) == len(second)


def roc_year_near(year: int, day: date, before: int, after: int) -> bool:
    """The ROC `year` lies from `before` years before to `after` years after the year of `day`."""
    # One expression (the year of `day` minus `year` lies in -after..before), so that generated
    # validators can write it inline.
    return -after <= roc_year(day) - year <= before


def score_or_count_at_least(count: int, score: int | None, min_score: int, min_count: int) -> bool:
    """The score reaches `min_score` or the count reaches `min_count`; an unknown score passes."""
    return score is None or score >= min_score or count >= min_count


def at_most(value: int, limit: int) -> bool:
    """`value` is at most `limit`."""
    return value <= limit


def never() -> bool:
    """Fails whenever the rule's conditions hold: the conditions alone are the finding."""
    return False
