"""The validator on tables of real-world mistakes, programme rules, names in any case, and secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

import scforhis
from tests.conftest import spec_model

TODAY = date(2026, 11, 25)
SAVE = dict(spec_model().operation("Save").examples[0].request)
QUERY = dict(spec_model().operation("GetSCDataB").examples[0].request)
FIRST_VISIT = {**SAVE, "curE_AGREE": "Y"}


def _issues(operation: str, payload: dict[str, Any]) -> set[tuple[str, str]]:
    result = scforhis.validate(operation, payload, today=TODAY)
    return {(issue.field, issue.code) for issue in result.errors}


def _warnings(operation: str, payload: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    result = scforhis.validate(operation, payload, today=TODAY)
    return {(issue.field, issue.code, issue.rule) for issue in result.warnings}


MISTAKES = [
    (
        "a ROC date where a Gregorian one belongs",
        "Save",
        {"funC_DATE": "111/10/03"},
        ("funC_DATE", "pattern"),
    ),
    (
        "a Gregorian birthday in the ROC query",
        "GetSCDataB",
        {"birthday": "1961/01/01"},
        ("birthday", "pattern"),
    ),
    ("a Gregorian exam year", "Save", {"examyear": "2022"}, ("examyear", "pattern")),
    ("a mistyped ID check digit", "Save", {"id": "A123456788"}, ("id", "checksum")),
    ("a lower-case ID letter", "Save", {"id": "a123456789"}, ("id", "pattern")),
    (
        "a clinician ID with a wrong digit",
        "Save",
        {"prsN_ID": "A198765434"},
        ("prsN_ID", "checksum"),
    ),
    ("30 February", "Save", {"birthday": "1961/02/30"}, ("birthday", "date")),
    (
        "29 February of a common year (ROC)",
        "GetSCDataB",
        {"funcdate": "112/02/29"},
        ("funcdate", "date"),
    ),
    (
        "an NHI card date without slashes",
        "GetSCDataB",
        {"birthday": "0500101"},
        ("birthday", "pattern"),
    ),
    ("a dash-separated date", "Save", {"funC_DATE": "2022-10-03"}, ("funC_DATE", "pattern")),
    (
        "a first visit without height",
        "Save",
        {"curE_AGREE": "Y", "height": ""},
        ("height", "blank"),
    ),
    (
        "a first visit with height missing",
        "Save",
        {"curE_AGREE": "Y", "height": None},
        ("height", "required"),
    ),
    ("a 5000 kg weight", "Save", {"basE_WEIGHT": "5000"}, ("basE_WEIGHT", "range")),
    ("a negative weight", "Save", {"basE_WEIGHT": "-50"}, ("basE_WEIGHT", "pattern")),
    ("a CO reading of 150", "Save", {"cO_CHECK": "150"}, ("cO_CHECK", "range")),
    ("a number instead of a string", "Save", {"casE_SOURCE": 1}, ("casE_SOURCE", "type")),
    ("a boolean instead of Y/N", "Save", {"curE_AGREE": True}, ("curE_AGREE", "type")),
    ("a lower-case y", "Save", {"curE_AGREE": "y"}, ("curE_AGREE", "enum")),
    ("a case source that does not exist", "Save", {"casE_SOURCE": "8"}, ("casE_SOURCE", "enum")),
    ("six weeks dispensed at once", "Save", {"curE_WEEK": "6"}, ("curE_WEEK", "enum")),
    (
        "three drugs, two quantities",
        "Save",
        {"curE_ITEM": "B022538129,B024431100,A0490111T0"},
        ("curE_NUM", "cross_field"),
    ),
    ("a blank institution code", "Save", {"hosP_ID": "  "}, ("hosP_ID", "blank")),
    ("booking as yes", "GetSCDataB", {"isBooking": "yes"}, ("isBooking", "pattern")),
    ("a null account", "Save", {"account": None}, ("account", "required")),
    # One past a known column size: the service cannot store these.
    ("a three-character branch", "Save", {"hosP_SEQ_NO": "001"}, ("hosP_SEQ_NO", "length")),
    ("a two-digit course number", "Save", {"curE_STAGE": "10"}, ("curE_STAGE", "range")),
    ("100 months smoked", "Save", {"smokE_MON": "100"}, ("smokE_MON", "range")),
    ("a 1000-year habit", "Save", {"smokE_YEAR": "1000"}, ("smokE_YEAR", "range")),
    ("ten weeks in one visit", "Save", {"curE_WEEK": "10"}, ("curE_WEEK", "range")),
    ("an 11-character drug code", "Save", {"curE_ITEM": "B0225381290"}, ("curE_ITEM", "pattern")),
    ("a weight with two decimals", "Save", {"basE_WEIGHT": "65.25"}, ("basE_WEIGHT", "pattern")),
    ("a quantity of 10000", "Save", {"curE_NUM": "10000,20"}, ("curE_NUM", "pattern")),
]

# Findings the service is not known to refuse: warnings that leave the record valid, each
# with its evidence (plausibility or the programme).
DOUBTS = [
    ("an exam year before the programme", "Save", {"examyear": "80"}, ("examyear", "range")),
    ("height in millimetres", "Save", {"height": "1700"}, ("height", "range")),
    ("height as text", "Save", {"height": "170cm"}, ("height", "pattern")),
    ("12 months smoked", "Save", {"smokE_MON": "12"}, ("smokE_MON", "range")),
    ("18 months smoked", "Save", {"smokE_MON": "18"}, ("smokE_MON", "range")),
    ("250 a day", "Save", {"smokE_DAY_NUM": "250"}, ("smokE_DAY_NUM", "range")),
    ("a weight in catties", "Save", {"basE_WEIGHT": "400"}, ("basE_WEIGHT", "range")),
    ("course number 0", "Save", {"curE_STAGE": "0"}, ("curE_STAGE", "range")),
    ("zero weeks in all", "Save", {"weeK_TOT": "0"}, ("weeK_TOT", "range")),
    (
        "a drug code too short",
        "Save",
        {"curE_ITEM": "B02253812,B024431100"},
        ("curE_ITEM", "pattern"),
    ),
    (
        "a lower-case drug code",
        "Save",
        {"curE_ITEM": "b022538129,B024431100"},
        ("curE_ITEM", "pattern"),
    ),
    ("a department name", "Save", {"reF_DEPT": "家醫科"}, ("reF_DEPT", "pattern")),
    ("a three-digit department", "Save", {"reF_DEPT": "100"}, ("reF_DEPT", "pattern")),
    ("a 9-digit institution code", "Save", {"hosP_ID": "350120000"}, ("hosP_ID", "pattern")),
    ("a one-digit branch", "Save", {"hosP_SEQ_NO": "0"}, ("hosP_SEQ_NO", "pattern")),
    ("a letter in the branch", "Save", {"hosP_SEQ_NO": "A1"}, ("hosP_SEQ_NO", "pattern")),
    ("a visit before birth", "Save", {"funC_DATE": "1960/12/31"}, ("funC_DATE", "cross_field")),
    (
        "a visit in the future",
        "Save",
        {"funC_DATE": "2027/01/01", "examyear": "116"},
        ("funC_DATE", "cross_field"),
    ),
    ("smoking longer than alive", "Save", {"smokE_YEAR": "70"}, ("smokE_YEAR", "cross_field")),
    ("a 130-year-old patient", "Save", {"birthday": "1890/01/01"}, ("birthday", "cross_field")),
    ("no CURE_AGREE at all", "Save", {"curE_AGREE": None}, ("curE_AGREE", "missing")),
    ("a blank CURE_AGREE", "Save", {"curE_AGREE": " "}, ("curE_AGREE", "missing")),
    (
        "a visit before birth (query)",
        "GetSCDataB",
        {"funcdate": "49/12/31"},
        ("funcdate", "cross_field"),
    ),
    (
        "the example's examyyear only",
        "Delete",
        {"examyear": None, "examyyear": "111"},
        ("examyear", "alias_only"),
    ),
]


@pytest.mark.parametrize(
    ("case", "operation", "change", "expected"), DOUBTS, ids=[m[0] for m in DOUBTS]
)
def test_doubtful_values_warn_and_stay_valid(
    case: str, operation: str, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    base = {"Save": SAVE, "GetSCDataB": QUERY}.get(operation) or dict(
        spec_model().operation(operation).examples[0].request
    )
    payload = {key: value for key, value in {**base, **change}.items() if value is not None}
    result = scforhis.validate(operation, payload, today=TODAY)
    assert result.ok, (case, result.errors)
    found = {(issue.field, issue.code): issue for issue in result.warnings}
    assert expected in found, (case, result.warnings)
    issue = found[expected]
    assert issue.severity == "warning"
    assert issue.evidence in ("plausibility", "programme", "manual"), issue
    # strict turns every such warning into an error
    strict = scforhis.validate(operation, payload, today=TODAY, strict=True)
    assert not strict.ok
    assert expected in {(i.field, i.code) for i in strict.errors}
    assert all(i.severity == "error" for i in strict.errors)


@pytest.mark.parametrize(
    ("case", "operation", "change", "expected"), MISTAKES, ids=[m[0] for m in MISTAKES]
)
def test_real_world_mistakes(
    case: str, operation: str, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    base = SAVE if operation == "Save" else QUERY
    assert expected in _issues(operation, {**base, **change}), case


def test_the_manual_examples_are_clean() -> None:
    for operation in spec_model().operations:
        for example in operation.examples:
            result = scforhis.validate(operation.name, example.request, today=TODAY)
            assert result.ok and result.warnings == (), str(result)


def test_all_problems_are_reported_not_the_first() -> None:
    payload = {
        **SAVE,
        "id": "A123456788",
        "funC_DATE": "111/10/03",
        "examyear": "2022",
        "casE_SOURCE": 9,
    }
    assert {f for f, _ in _issues("Save", payload)} >= {
        "id",
        "funC_DATE",
        "examyear",
        "casE_SOURCE",
    }


def test_isbooking_any_case_and_roc_years_with_a_leading_zero() -> None:
    assert scforhis.validate_get_sc_data_b(
        {**QUERY, "isBooking": "TRUE", "birthday": "050/01/01"}
    ).ok


def test_decimals_where_clinicians_record_them() -> None:
    assert scforhis.validate_save(
        {**SAVE, "height": "170.5", "basE_WEIGHT": "65.2"}, today=TODAY
    ).ok


def test_names_in_the_manuals_table_spelling_are_accepted() -> None:
    payload = {key.upper(): value for key, value in SAVE.items()}
    payload["Hosp_id"] = payload.pop("HOSP_ID")
    result = scforhis.validate_save(payload, today=TODAY)
    assert result.ok and result.warnings == ()


def test_unknown_names_warn_with_a_suggestion() -> None:
    payload = dict(SAVE)
    payload["smokE_YEARS"] = payload.pop("smokE_YEAR")
    result = scforhis.validate_save(payload, today=TODAY)
    warning = next(w for w in result.warnings if w.code == "unknown_field")
    assert (
        warning.field == "smokE_YEARS"
        and "smokE_YEAR" in warning.message
        and "smokE_YEAR" in warning.message_en
    )


def test_the_manuals_examyyear_stands_in_for_examyear_with_a_warning() -> None:
    payload = dict(SAVE)
    payload["examyyear"] = payload.pop("examyear")
    result = scforhis.validate_save(payload, today=TODAY)
    assert result.ok, str(result)
    assert [(w.field, w.code) for w in result.warnings] == [("examyear", "alias_only")]
    # A course year is checked under either name: a Gregorian year is still refused.
    payload["examyyear"] = "2022"
    assert ("examyear", "pattern") in _issues("Save", payload)
    # Both names with one value: nothing to say; two values: a warning.
    assert scforhis.validate_save({**SAVE, "examyyear": "111"}, today=TODAY).warnings == ()
    differs = scforhis.validate_save({**SAVE, "EXAMYYEAR": "110"}, today=TODAY)
    assert [(w.field, w.code) for w in differs.warnings] == [("examyear", "alias_differs")]
    # Update has Save's fields (erratum update_table_education), the alias included.
    payload["examyyear"] = "111"
    assert [(w.field, w.code) for w in scforhis.validate_update(payload, today=TODAY).warnings] == [
        ("examyear", "alias_only")
    ]


def test_names_differing_only_in_case_warn_and_the_last_wins() -> None:
    payload = {**SAVE, "HOSP_SEQ_NO": "123"}
    result = scforhis.validate_save(payload, today=TODAY)
    assert ("hosP_SEQ_NO", "duplicate_field") in {(w.field, w.code) for w in result.warnings}
    assert ("hosP_SEQ_NO", "length") in {(e.field, e.code) for e in result.errors}


POLICIES = [
    ("medication under 18", {"birthday": "2010/01/01", "smokE_YEAR": "1"}, "medication_under_18"),
    (
        "low dependence at a first visit",
        {"curE_AGREE": "Y", "smokE_DAY_NUM": "5", "smokE_FIRST": "4", "smokE_STOP": "0", "smokE_NO_GP": "2",
         "smokE_MUCH": "4", "smokE_BED": "0", "smokE_SICK": "0"},
        "medication_low_dependence",
    ),
    ("a pregnant patient", {"casE_KIND": "2"}, "medication_pregnant"),
    ("nine weeks in one course", {"weeK_TOT": "9"}, "medication_over_8_weeks"),
    ("a course year two years back", {"examyear": "109"}, "course_year_matches_visit"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "change", "rule"), POLICIES, ids=[p[0] for p in POLICIES])
def test_programme_rules_warn_and_do_not_reject(
    case: str, change: dict[str, str], rule: str
) -> None:
    result = scforhis.validate_save({**SAVE, **change}, today=TODAY)
    assert result.ok, str(result)
    assert rule in {w.rule for w in result.warnings}, case


def test_programme_rules_do_not_apply_to_education() -> None:
    change = {
        "curE_TYPE": "2",
        "casE_KIND": "2",
        "birthday": "2010/01/01",
        "smokE_YEAR": "1",
        "weeK_TOT": "9",
    }
    result = scforhis.validate_save({**SAVE, **change}, today=TODAY)
    assert result.ok and not [w for w in result.warnings if w.code == "policy"], str(result)


def test_low_dependence_passes_with_ten_a_day_or_a_score_of_four() -> None:
    low = {"curE_AGREE": "Y", "smokE_FIRST": "4", "smokE_STOP": "0", "smokE_NO_GP": "2", "smokE_MUCH": "4",
           "smokE_BED": "0", "smokE_SICK": "0"}  # fmt: skip
    assert "medication_low_dependence" not in {
        w.rule
        for w in scforhis.validate_save(
            {**SAVE, **low, "smokE_DAY_NUM": "10"}, today=TODAY
        ).warnings
    }
    four = {**low, "smokE_FIRST": "1", "smokE_STOP": "1"}
    assert scforhis.ftnd_score({**SAVE, **four}) == 4
    assert "medication_low_dependence" not in {
        w.rule
        for w in scforhis.validate_save(
            {**SAVE, **four, "smokE_DAY_NUM": "5"}, today=TODAY
        ).warnings
    }


def test_ftnd_score() -> None:
    assert scforhis.ftnd_score(SAVE) == 10
    assert scforhis.ftnd_score({k.upper(): v for k, v in SAVE.items()}) == 10
    assert scforhis.ftnd_score({**SAVE, "smokE_FIRST": "9"}) is None
    assert scforhis.ftnd_score({**SAVE, "smokE_FIRST": 1}) is None
    assert scforhis.ftnd_score([]) is None


def test_the_query_warns_of_medication_under_18() -> None:
    assert ("type", "policy", "query_medication_under_18") in _warnings(
        "GetSCDataB", {**QUERY, "birthday": "100/01/01"}
    )


def _future_warnings_under(tz: str, visit: date) -> list[str]:
    """Validate a Save dated `visit` in a fresh interpreter whose clock zone is `tz`."""
    payload = {
        **SAVE,
        "funC_DATE": f"{visit.year}/{visit.month:02d}/{visit.day:02d}",
        "examyear": str(visit.year - 1911),
    }
    code = (
        "import json, sys, scforhis\n"
        "result = scforhis.validate_save(json.loads(sys.argv[1]))\n"
        "print(json.dumps([w.rule for w in result.warnings + result.errors if w.rule]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(payload)],
        env={**os.environ, "TZ": tz},
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stdout))


def _taipei_today() -> date:
    return datetime.now(timezone(timedelta(hours=8))).date()


def test_today_is_taiwans_date_on_a_host_far_west() -> None:
    # UTC-12: for 20 hours a day the host's calendar is a day behind Taipei's, when a visit
    # dated Taipei's today would look like the future to the host's own date.
    assert "visit_not_in_future" not in _future_warnings_under("Etc/GMT+12", _taipei_today())


def test_today_is_taiwans_date_on_a_host_far_east() -> None:
    # UTC+14: for 6 hours a day the host is a day ahead of Taipei; Taipei's tomorrow is still
    # the future.
    tomorrow = _taipei_today() + timedelta(days=1)
    assert "visit_not_in_future" in _future_warnings_under("Etc/GMT-14", tomorrow)


def test_messages_never_show_secrets_and_mask_ids() -> None:
    secrets = {"account": "SECRET-ACCOUNT", "password": "p@ss-w0rd!"}
    payload = {**SAVE, **secrets, "id": "A123456788", "prsN_ID": "B98765", "hosP_ID": 1}
    texts = [str(scforhis.validate_save(payload, today=TODAY))]
    for value in (None, 5, "   "):
        texts.append(str(scforhis.validate_save({**payload, "account": value, "password": value})))
    texts.append(str(scforhis.validate_get_token_id({"id": 12345, "pwd": "短"})))
    text = "\n".join(texts)
    for secret in (*secrets.values(), "12345", "短", "A123456788"):
        assert secret not in text
    assert "A12****788" in text


def test_issue_and_result_render_readably() -> None:
    result = scforhis.validate_save({**SAVE, "id": "x"}, today=TODAY)
    issue = result.errors[0]
    assert str(issue).startswith("id（個案身分證號） [pattern] ")
    assert "/ Patient ID number is malformed" in str(issue)
    assert result.to_dict()["errors"][0]["code"] == "pattern"
    assert result.to_dict()["errors"][0]["evidence"] == "manual"
    doubt = scforhis.validate_save({**SAVE, "hosP_ID": "x"}, today=TODAY)
    assert doubt.ok and doubt.to_dict()["warnings"][0]["evidence"] == "plausibility"
    assert "警告 warning: hosP_ID（醫事機構代碼） [pattern]" in str(doubt)
    assert not result and bool(scforhis.validate_save(SAVE, today=TODAY))


def test_unknown_operation_is_reported() -> None:
    result = scforhis.validate("GetSign", {})
    assert result.errors[0].code == "operation" and "GetSCDataB" in result.errors[0].message


@pytest.mark.parametrize(
    ("value", "kind"),
    [(["1"], "list"), ({"code": "1"}, "dict"), ({"1"}, "set"), (1, "int"), (1.0, "float")],
)
def test_values_of_the_wrong_type_in_looked_up_fields(value: object, kind: str) -> None:
    # Enum and small-number fields are looked up in sets before their type is checked; a value
    # that cannot be hashed must still be reported as a wrong type, with every other problem.
    payload = {**SAVE, "curE_TYPE": value, "examyear": value, "id": "A123456788"}
    result = scforhis.validate_save(payload, today=TODAY)
    found = {(issue.field, issue.code) for issue in result.errors}
    assert found == {("curE_TYPE", "type"), ("examyear", "type"), ("id", "checksum")}
    assert all(f"got {kind}" in issue.message_en for issue in result.errors if issue.code == "type")


def test_shared_key_objects_speed_look_ups_and_change_no_result() -> None:
    """share_key_objects adopts a reader's key objects (orjson gives one object per distinct
    name); look-ups then find the very object stored, and every answer stays the same."""
    validators = scforhis._generated.validators
    lines = [json.dumps({**SAVE, "id": "A123456789"}), json.dumps({**SAVE, "smokE_FIRST": "9"})]
    before = [scforhis.validate_save(json.loads(line), today=TODAY) for line in lines]
    reader_keys = {key: key for key in json.loads(lines[0])}  # equal text, other objects
    payload = {reader_keys[key]: value for key, value in json.loads(lines[0]).items()}
    original = dict(vars(validators))
    try:
        validators.share_key_objects({**payload, 1: "x", "ACCOUNT": "y", "unknown": "z"})
        assert reader_keys["smokE_FIRST"] is not original["KEY_SMOKE_FIRST"]  # the premise
        assert validators.KEY_SMOKE_FIRST is reader_keys["smokE_FIRST"]
        assert "unknown" not in validators._KEY_NAMES and validators.KEY_ACCOUNT == "account"
        after = [scforhis.validate_save(json.loads(line), today=TODAY) for line in lines]
        assert after == before and not before[0].errors and before[1].errors
    finally:
        vars(validators).update(original)
