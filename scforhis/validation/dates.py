"""Dates in the two calendars the API uses: Gregorian `YYYY/MM/DD` and ROC `YYY/MM/DD`.

ROC year N is Gregorian year N + 1911, so leap years follow the Gregorian year. The parsers
answer None for a day that does not exist (`2023/02/29`, `112/02/29`); `parse_roc` expects text
that already matched its format's pattern, `parse_gregorian` checks the shape itself.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

ROC_OFFSET = 1911
# Taiwan's time: UTC+8 all year (no daylight saving since 1979). A fixed offset rather than
# zoneinfo("Asia/Taipei"), which needs the tzdata package on Windows, where many HIS hosts run.
TAIWAN = timezone(timedelta(hours=8), "Asia/Taipei")


def taiwan_today() -> date:
    """Today's date in Taiwan, whatever the host's clock zone: the service's "today"."""
    return datetime.now(TAIWAN).date()


def parse_gregorian(text: str) -> date | None:
    """Return the day `YYYY/MM/DD` names, or None if there is no such day or `text` is not in
    exactly that shape (four, two and two ASCII digits with slashes)."""
    if len(text) != 10 or text[4] != "/" or text[7] != "/":
        return None
    try:
        # With the slashes where they belong, fromisoformat accepts only YYYY-MM-DD in ASCII
        # digits, so this is the pattern's test and the calendar's in one (and fast).
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        return None


def parse_roc(text: str) -> date | None:
    """Return the day ROC `YYY/MM/DD` (or `YY/MM/DD`) names, or None if there is no such day."""
    year, _, rest = text.partition("/")
    try:
        roc_year = int(year)
        if roc_year < 1:
            return None
        return date(roc_year + ROC_OFFSET, int(rest[0:2]), int(rest[3:5]))
    except ValueError:
        return None


def format_gregorian(day: date) -> str:
    """Write `day` as the API's Gregorian `YYYY/MM/DD`."""
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def format_roc(day: date) -> str:
    """Write `day` as a ROC date the way the manual does: `109/08/10`, `50/01/01`."""
    return f"{day.year - ROC_OFFSET}/{day.month:02d}/{day.day:02d}"


def roc_year(day: date) -> int:
    """The ROC year of `day` (2022 -> 111)."""
    return day.year - ROC_OFFSET


def age_on(birth: date, day: date) -> int:
    """Whole years from `birth` to `day`; someone born on 29 February ages on 1 March."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# A date written loosely: year, separator, month, the same separator, day; or only digits,
# eight (Gregorian YYYYMMDD) or seven (ROC YYYMMDD, as NHI cards print it). ASCII digits only.
_LOOSE_DATE = re.compile(
    r"(?P<y>[0-9]{1,4})(?P<s>[/.-])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})"
    r"|(?P<y8>[0-9]{4})(?P<m8>[0-9]{2})(?P<d8>[0-9]{2})"
    r"|(?P<y7>[0-9]{3})(?P<m7>[0-9]{2})(?P<d7>[0-9]{2})"
)


def read_date_loosely(text: str) -> tuple[str, date, str] | None:
    """Read a date the way people and spreadsheets write it, for fix hints on fields that
    refused it: `(calendar, day, shape)`, or None when `text` is not such a date or names no day.

    The year decides the calendar: four digits are Gregorian, one to three ROC (`115/11/4`).
    `shape` says how it was written: `slashes` (`1961/1/1`), `separators` (`2026-11-04`,
    `2026.11.04`) or `digits` (`20261104` Gregorian, `1090810` ROC, as NHI cards print it).
    """
    found = _LOOSE_DATE.fullmatch(text)
    if found is None:
        return None
    year, separator, month, day, year8, year7 = found.group("y", "s", "m", "d", "y8", "y7")
    if year is not None:
        roc = len(year) < 4
        shape = "slashes" if separator == "/" else "separators"
    elif year8 is not None:
        year, month, day, roc, shape = year8, found["m8"], found["d8"], False, "digits"
    else:
        year, month, day, roc, shape = year7, found["m7"], found["d7"], True, "digits"
    year_number = int(year) + (ROC_OFFSET if roc else 0)
    if roc and year_number <= ROC_OFFSET:
        return None
    try:
        return ("roc" if roc else "gregorian"), date(year_number, int(month), int(day)), shape
    except ValueError:
        return None
