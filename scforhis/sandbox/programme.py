"""The programme's rules as the sandbox enforces them (二代戒菸治療試辦計畫).

The validator only warns about these (the service decides eligibility); the sandbox, standing in
for the service, refuses. Each function returns None when the rule is met, else the refusal in
zh-TW with English in parentheses:

- medication from age 18 (younger patients get education);
- at most two courses a year per patient, a course being one institution's course number in a
  ROC course year;
- a booking (GetSCDataB with isBooking=true) reserves the patient for the booking institution for
  a number of days from the visit date, and any other institution is told so.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import date

from scforhis.validation.dates import age_on, format_roc

from .store import Booking


def medication_age(medication: bool, birth: date, visit: date, minimum: int) -> str | None:
    """Medication needs the patient to be at least `minimum` years old on the visit day."""
    if not medication:
        return None
    age = age_on(birth, visit)
    if age >= minimum:
        return None
    return (
        f"個案就診時 {age} 歲，未滿 {minimum} 歲不適用戒菸藥物治療，請改為衛教"
        f"（patients under {minimum} are not eligible for cessation medication; use education）"
    )


def course_limit(
    courses: Set[tuple[str, str]], course: tuple[str, str] | None, year: int, limit: int
) -> str | None:
    """At most `limit` courses in ROC `year`. `course` is the (institution, course number) of the
    record being saved (None for an eligibility query, which asks for a new course): continuing a
    course already counted is allowed."""
    if course is not None and course in courses:
        return None
    if len(courses) < limit:
        return None
    return (
        f"個案 {year} 年度已有 {len(courses)} 個療程，每年最多 {limit} 個療程，不可收案"
        f"（the patient already has {len(courses)} courses in ROC year {year}; at most {limit} a year）"
    )


def booked_elsewhere(booking: Booking | None, hosp_id: str, visit: date) -> str | None:
    """A patient booked by another institution cannot be taken on while the booking holds."""
    if booking is None or booking.hosp_id == hosp_id or not booking.holds(visit):
        return None
    until = format_roc(date.fromordinal(booking.ends.toordinal() - 1))
    return (
        f"個案已由其他院所（{booking.hosp_id}）預留收案至 {until}，本院所不可收案"
        f"（the patient is reserved for institution {booking.hosp_id} until {until}）"
    )
