"""Fix hints: a value mistyped the way a clerk copying from a spreadsheet mistypes it gets a
message naming the exact value to write, and only when that value passes the field's check."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import scforhis
from codegen.model import Field
from scforhis.validation.dates import read_date_loosely
from scforhis.validation.idnumbers import id_checksum_ok, mask_id
from scforhis.validation.issues import FieldInfo
from tests.conftest import spec_model
from tests.strategies import TODAY, value_strategy

BASES = {op.name: dict(op.examples[0].request) for op in spec_model().operations if op.examples}
# Save's example is a medication visit (curE_TYPE 1): weeks dispensed must be 1 to 4.
EDUCATION = {"curE_TYPE": "2"}

# (case, operation, change, field, the value the hint must name (masked for IDs), issue code)
HINTS = [
    # Gregorian dates
    ("unpadded month and day", "Save", {"birthday": "1961/1/1"}, "birthday", "1961/01/01", "pattern"),
    ("dashes", "Save", {"funC_DATE": "2026-11-04"}, "funC_DATE", "2026/11/04", "pattern"),
    ("dots", "Save", {"funC_DATE": "2026.11.04"}, "funC_DATE", "2026/11/04", "pattern"),
    ("eight digits", "Save", {"funC_DATE": "20261104"}, "funC_DATE", "2026/11/04", "pattern"),
    ("unpadded ROC date", "Save", {"funC_DATE": "115/11/4"}, "funC_DATE", "2026/11/04", "pattern"),
    ("padded ROC date", "Save", {"funC_DATE": "111/10/03"}, "funC_DATE", "2022/10/03", "pattern"),
    ("ROC date without slashes", "Save", {"birthday": "0500101"}, "birthday", "1961/01/01", "pattern"),
    ("dashes, Delete", "Delete", {"funC_DATE": "2022-10-3"}, "funC_DATE", "2022/10/03", "pattern"),
    ("unpadded, Update", "Update", {"birthday": "1961/1/01"}, "birthday", "1961/01/01", "pattern"),
    # ROC dates (GetSCDataB)
    ("ROC unpadded", "GetSCDataB", {"birthday": "109/8/10"}, "birthday", "109/08/10", "pattern"),
    ("ROC from Gregorian", "GetSCDataB", {"funcdate": "2020/08/10"}, "funcdate", "109/08/10", "pattern"),
    ("ROC seven digits", "GetSCDataB", {"funcdate": "1090810"}, "funcdate", "109/08/10", "pattern"),
    ("ROC from 8 digits", "GetSCDataB", {"birthday": "19610101"}, "birthday", "50/01/01", "pattern"),
    ("ROC with dashes", "GetSCDataB", {"funcdate": "109-8-10"}, "funcdate", "109/08/10", "pattern"),
    # Full-width digits and letters
    ("full-width height", "Save", {"height": "１７０"}, "height", "170", "pattern"),
    ("full-width ID", "Save", {"id": "Ａ１２３４５６７８９"}, "id", "A12****789", "pattern"),
    ("full-width date", "Save", {"funC_DATE": "２０２２／１０／０３"}, "funC_DATE", "2022/10/03", "pattern"),
    ("full-width ROC date", "GetSCDataB", {"birthday": "５０／０１／０１"}, "birthday", "50/01/01", "pattern"),
    ("full-width code", "Delete", {"curE_TYPE": "２"}, "curE_TYPE", "2", "enum"),
    ("full-width year", "Delete", {"examyear": "１１１"}, "examyear", "111", "pattern"),
    ("full-width weight", "Update", {"basE_WEIGHT": "６５．５"}, "basE_WEIGHT", "65.5", "pattern"),
    ("full-width quantities", "Save", {"curE_NUM": "１０,２０"}, "curE_NUM", "10,20", "pattern"),
    ("full-width institution", "GetSCDataB", {"hospid": "３５０１２０００００"}, "hospid", "3501200000", "pattern"),
    ("full-width branch", "Save", {"hosP_SEQ_NO": "０１"}, "hosP_SEQ_NO", "01", "pattern"),
    ("full-width Gregorian year", "Save", {"examyear": "２０２２"}, "examyear", "111", "pattern"),
    # Spaces around a value
    ("a code with a space", "Save", {"casE_SOURCE": "1 "}, "casE_SOURCE", "1", "enum"),
    ("a date with a space", "Save", {"birthday": " 2022/10/03"}, "birthday", "2022/10/03", "pattern"),
    ("an ID with a space", "GetSCDataB", {"id": "A123456789 "}, "id", "A12****789", "pattern"),
    ("a clinician ID with spaces", "Delete", {"prsN_ID": " A198765435 "}, "prsN_ID", "A19****435", "pattern"),
    ("a number with a space", "Save", {"smokE_DAY_NUM": " 11"}, "smokE_DAY_NUM", "11", "pattern"),
    ("an ideographic space", "Save", {"curE_AGREE2": "N\u3000"}, "curE_AGREE2", "N", "enum"),
    ("a branch with a space", "Save", {"hosP_SEQ_NO": " 01"}, "hosP_SEQ_NO", "01", "length"),
    ("a boolean with a space", "GetSCDataB", {"isBooking": "true "}, "isBooking", "true", "pattern"),
    ("weeks with a space", "Save", {"curE_WEEK": "3 "}, "curE_WEEK", "3", "pattern"),
    ("six weeks of education", "Save", {**EDUCATION, "curE_WEEK": "6 "}, "curE_WEEK", "6", "pattern"),
    # Lower-case letters where capitals are needed
    ("a lower-case ID", "Save", {"id": "a123456789"}, "id", "A12****789", "pattern"),
    ("a lower-case ID, query", "GetSCDataB", {"id": "a123456789"}, "id", "A12****789", "pattern"),
    ("a lower-case y", "Save", {"curE_AGREE": "y"}, "curE_AGREE", "Y", "enum"),
    ("a lower-case n", "Update", {"curE_AGREE2": "n"}, "curE_AGREE2", "N", "enum"),
    ("a lower-case drug code", "Save", {"curE_ITEM": "b022538129,B024431100"}, "curE_ITEM",
     "B022538129,B024431100", "pattern"),
    ("full-width, spaced and lower-case", "Save", {"id": " ａ１２３４５６７８９"}, "id", "A12****789", "pattern"),
    # A branch code that lost its leading zero
    ("branch 0", "Save", {"hosP_SEQ_NO": "0"}, "hosP_SEQ_NO", "00", "pattern"),
    ("branch 1", "Save", {"hosP_SEQ_NO": "1"}, "hosP_SEQ_NO", "01", "pattern"),
    ("branch 1, query", "GetSCDataB", {"hospseqno": "1"}, "hospseqno", "01", "pattern"),
    ("branch 7, Delete", "Delete", {"hosP_SEQ_NO": "7"}, "hosP_SEQ_NO", "07", "pattern"),
    ("branch full-width 2", "Update", {"hosP_SEQ_NO": "２"}, "hosP_SEQ_NO", "02", "pattern"),
    # The other calendar's year
    ("a Gregorian course year", "Save", {"examyear": "2022"}, "examyear", "111", "pattern"),
    ("a Gregorian course year, Delete", "Delete", {"examyear": "2021"}, "examyear", "110", "pattern"),
]  # fmt: skip

# Mistakes whose corrected value would still be refused: no hint at all.
NO_HINTS = [
    ("no 30 February", "Save", {"funC_DATE": "2022/2/30"}, "funC_DATE"),
    ("no 13th month", "Save", {"birthday": "2026-13-04"}, "birthday"),
    ("no such ROC day", "GetSCDataB", {"birthday": "112/2/29"}, "birthday"),
    ("ROC year 0", "GetSCDataB", {"funcdate": "1911/01/01"}, "funcdate"),
    ("a wrong check digit, lower case", "Save", {"id": "a123456788"}, "id"),
    ("a wrong check digit, full width", "GetSCDataB", {"id": "Ａ１２３４５６７８８"}, "id"),
    ("a code that does not exist", "Save", {"casE_SOURCE": "９"}, "casE_SOURCE"),
    ("a code with spaces that does not exist", "Delete", {"curE_TYPE": " 3 "}, "curE_TYPE"),
    ("six weeks of medication", "Save", {"curE_WEEK": "6 "}, "curE_WEEK"),
    ("a height outside its range", "Save", {"height": "１７００"}, "height"),
    ("a course year too far", "Save", {"examyear": "9999"}, "examyear"),
    ("a branch too long after stripping", "Save", {"hosP_SEQ_NO": " 001"}, "hosP_SEQ_NO"),
    ("a branch of a letter", "Save", {"hosP_SEQ_NO": "A"}, "hosP_SEQ_NO"),
    ("a booking as yes", "GetSCDataB", {"isBooking": "yes "}, "isBooking"),
    ("a year-last date", "Save", {"birthday": "1/1/1961"}, "birthday"),
    ("a short drug code", "Save", {"curE_ITEM": "b02253812,B024431100"}, "curE_ITEM"),
]


def _field_issues(operation: str, payload: dict[str, Any], wire: str) -> list[Any]:
    result = scforhis.validate(operation, payload, today=TODAY)
    return [i for i in result.errors + result.warnings if i.field == wire and i.rule is None]


@pytest.mark.parametrize(
    ("case", "operation", "change", "wire", "fixed", "code"), HINTS, ids=[h[0] for h in HINTS]
)
def test_a_mistyped_value_gets_the_exact_value_to_write(
    case: str, operation: str, change: dict[str, str], wire: str, fixed: str, code: str
) -> None:
    issues = _field_issues(operation, {**BASES[operation], **change}, wire)
    assert [i.code for i in issues] == [code], (case, issues)
    issue = issues[0]
    assert f"應為 {fixed}" in issue.message, issue.message
    assert f"so write {fixed}" in issue.message_en, issue.message_en
    if "*" not in fixed:  # the value named is one the validator takes (IDs are masked)
        again = _field_issues(operation, {**BASES[operation], **change, wire: fixed}, wire)
        assert not again, (case, again)


@pytest.mark.parametrize(
    ("case", "operation", "change", "wire"), NO_HINTS, ids=[h[0] for h in NO_HINTS]
)
def test_no_hint_when_the_corrected_value_would_still_fail(
    case: str, operation: str, change: dict[str, str], wire: str
) -> None:
    issues = _field_issues(operation, {**BASES[operation], **change}, wire)
    assert issues, case
    for issue in issues:
        assert "應為 " not in issue.message and "so write" not in issue.message_en, issue


def test_the_readme_calendar_hint_is_unchanged() -> None:
    issue = _field_issues("Save", {**BASES["Save"], "funC_DATE": "111/10/03"}, "funC_DATE")[0]
    assert issue.message == (
        "「就診日期」格式錯誤（收到「111/10/03」），應為西元年 YYYY/MM/DD；"
        "這看起來是民國日期，西元年 = 民國年 + 1911，應為 2022/10/03"
    )


def test_a_code_with_spaces_is_not_called_outside_the_allowed_codes() -> None:
    issue = _field_issues("Save", {**BASES["Save"], "casE_SOURCE": "1 "}, "casE_SOURCE")[0]
    assert "不在允許範圍" not in issue.message and "前後有空白" in issue.message
    assert "not allowed" not in issue.message_en and "spaces" in issue.message_en


def test_hints_show_id_numbers_masked() -> None:
    for value in ("a123456789", " A123456789", "Ａ１２３４５６７８９"):
        payload = {**BASES["Save"], "id": value}
        text = str(scforhis.validate_save(payload, today=TODAY))
        assert "A123456789" not in text and "A12****789" in text


def test_a_branch_hint_keeps_the_advice_and_warns() -> None:
    result = scforhis.validate_save({**BASES["Save"], "hosP_SEQ_NO": "1"}, today=TODAY)
    assert result.ok
    [issue] = [w for w in result.warnings if w.field == "hosP_SEQ_NO"]
    assert issue.severity == "warning" and issue.evidence == "plausibility"
    assert "試算表常把開頭的 0 去掉" in issue.message and "應為 01" in issue.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1961/1/1", ("gregorian", date(1961, 1, 1), "slashes")),
        ("2026-11-04", ("gregorian", date(2026, 11, 4), "separators")),
        ("2026.11.4", ("gregorian", date(2026, 11, 4), "separators")),
        ("20261104", ("gregorian", date(2026, 11, 4), "digits")),
        ("115/11/4", ("roc", date(2026, 11, 4), "slashes")),
        ("1090810", ("roc", date(2020, 8, 10), "digits")),
        ("2026-11/04", None),
        ("2023/2/29", None),
        ("0/01/01", None),
        ("２０２６/１/１", None),
        ("12345/1/1", None),
        ("", None),
    ],
)
def test_dates_read_loosely(text: str, expected: tuple[str, date, str] | None) -> None:
    assert read_date_loosely(text) == expected


# --- property: whatever the text, a value named in a hint is one the field takes ---------------

_FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
_HINT_ZH = re.compile(r"應為 (.+?)(?=；|（|$)")
_HINT_EN = re.compile(r"so write (.+?)(?=; | \(codes: |$)")
# Codes about how a value is written: a suggested value never gets one of these (a plausible
# range is another matter: `１８` months is written as 18, which is still worth a warning).
_WRITING = {"pattern", "enum", "checksum", "date", "length", "type", "blank", "required"}


def _to_other_calendar(text: str) -> str:
    read = read_date_loosely(text)
    if read is None:
        return text
    calendar, day, _ = read
    if calendar == "roc":
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day.year - 1911}/{day.month:02d}/{day.day}"


_MUTATIONS: dict[str, Callable[[str], str]] = {
    "full_width": lambda t: t.translate(_FULL_WIDTH),
    "half_full_width": lambda t: t[: len(t) // 2] + t[len(t) // 2 :].translate(_FULL_WIDTH),
    "space_before": lambda t: " " + t,
    "space_after": lambda t: t + " ",
    "ideographic_space": lambda t: t + "\u3000",
    "lower": str.lower,
    "dashes": lambda t: t.replace("/", "-"),
    "dots": lambda t: t.replace("/", "."),
    "no_slashes": lambda t: t.replace("/", ""),
    "unpadded": lambda t: re.sub(r"(?<=/)0(?=[0-9])", "", t),
    "other_calendar": _to_other_calendar,
    "no_leading_zero": lambda t: t.lstrip("0") or t,
    "gregorian_year": lambda t: str(int(t) + 1911) if t.isascii() and t.isdigit() else t,
    "drop_last": lambda t: t[:-1],
    "add_digit": lambda t: t + "7",
}


def _typed(field: Field) -> st.SearchStrategy[str]:
    """Text a clerk might type: valid values mistyped in one to three ways, and any text."""
    mistyped = st.tuples(
        value_strategy(field), st.lists(st.sampled_from(sorted(_MUTATIONS)), min_size=1, max_size=3)
    ).map(lambda pair: _apply(*pair))
    return st.one_of(mistyped, mistyped, st.text(max_size=14))


def _apply(value: str, mutations: list[str]) -> str:
    for name in mutations:
        value = _MUTATIONS[name](value)
    return value


def _suggestions(issue: Any, info: FieldInfo, value: str) -> list[str]:
    """The values the hint of `issue` names, after taking out the value received itself (it
    is quoted in the message, and text may hold anything)."""
    shown = info.shown(value)
    zh = issue.message.replace(f"「{shown}」", "「」")
    en = issue.message_en.replace(repr(shown), "''")
    found_zh, found_en = _HINT_ZH.findall(zh), _HINT_EN.findall(en)
    assert found_zh == found_en, (issue.message, issue.message_en)
    return found_zh


# The examples under each condition a field's check may depend on (medication or education,
# first visit or not): only the field under test changes.
CONDITIONS = [{}, {"curE_TYPE": "2"}, {"type": "2"}, {"curE_AGREE": "Y"}, {"casE_KIND": "2"}]
FIELDS = [
    (op.name, field.key)
    for op in spec_model().operations
    if op.name in ("Save", "GetSCDataB", "Delete")
    for field in op.fields
    if field.sensitive != "secret"
]


@pytest.mark.parametrize(("operation", "key"), FIELDS, ids=[f"{o}:{k}" for o, k in FIELDS])
@given(data=st.data())
@example(data=None)
def test_property_a_suggested_value_passes_the_fields_check(
    operation: str, key: str, data: st.DataObject | None
) -> None:
    op = spec_model().operation(operation)
    field = op.field(key)
    if data is None:  # the example record, and a mistake every field can get
        base, typed = dict(BASES[operation]), " " + str(BASES[operation].get(field.wire) or "1")
    else:
        conditions = [c for c in CONDITIONS if c.keys() <= BASES[operation].keys()]
        base = {**BASES[operation], **data.draw(st.sampled_from(conditions))}
        typed = data.draw(_typed(field))
    info = FieldInfo(field.wire, field.key, field.label, field.label_en, field.sensitive)
    for issue in _field_issues(operation, {**base, field.wire: typed}, field.wire):
        for suggested in _suggestions(issue, info, typed):
            if field.sensitive == "national_id":
                # Shown masked: the ID meant is the one typed, cleaned (NFKC, spaces, capitals).
                meant = unicodedata.normalize("NFKC", typed).strip().upper()
                assert suggested == mask_id(meant) and id_checksum_ok(meant), (typed, issue)
                suggested = meant
            again = _field_issues(operation, {**base, field.wire: suggested}, field.wire)
            assert all(i.severity == "warning" and i.code not in _WRITING for i in again), (
                typed,
                suggested,
                issue,
                again,
            )
