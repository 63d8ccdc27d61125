"""The validator on tables of real-world mistakes, programme rules, names in any case, and secrets."""

from __future__ import annotations

import json
from datetime import date
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
    ("an exam year before the programme", "Save", {"examyear": "80"}, ("examyear", "range")),
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
    ("height in millimetres", "Save", {"height": "1700"}, ("height", "range")),
    ("a 5000 kg weight", "Save", {"basE_WEIGHT": "5000"}, ("basE_WEIGHT", "range")),
    ("a negative weight", "Save", {"basE_WEIGHT": "-50"}, ("basE_WEIGHT", "pattern")),
    ("12 months smoked", "Save", {"smokE_MON": "12"}, ("smokE_MON", "range")),
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
    (
        "a drug code too short",
        "Save",
        {"curE_ITEM": "B02253812,B024431100"},
        ("curE_ITEM", "pattern"),
    ),
    ("a visit before birth", "Save", {"funC_DATE": "1960/12/31"}, ("funC_DATE", "cross_field")),
    (
        "a visit in the future",
        "Save",
        {"funC_DATE": "2027/01/01", "examyear": "116"},
        ("funC_DATE", "cross_field"),
    ),
    ("smoking longer than alive", "Save", {"smokE_YEAR": "70"}, ("smokE_YEAR", "cross_field")),
    ("a blank institution code", "Save", {"hosP_ID": "  "}, ("hosP_ID", "blank")),
    ("a 9-digit institution code", "Save", {"hosP_ID": "350120000"}, ("hosP_ID", "pattern")),
    ("a one-digit branch", "Save", {"hosP_SEQ_NO": "0"}, ("hosP_SEQ_NO", "pattern")),
    ("booking as yes", "GetSCDataB", {"isBooking": "yes"}, ("isBooking", "pattern")),
    ("a null account", "Save", {"account": None}, ("account", "required")),
]


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
    payload["examyyear"] = payload.pop("examyear")
    result = scforhis.validate_save(payload, today=TODAY)
    warning = next(w for w in result.warnings if w.code == "unknown_field")
    assert (
        warning.field == "examyyear"
        and "examyear" in warning.message
        and "examyear" in warning.message_en
    )
    assert ("examyear", "required") in {(e.field, e.code) for e in result.errors}


def test_names_differing_only_in_case_warn_and_the_last_wins() -> None:
    payload = {**SAVE, "HOSP_ID": "not a code"}
    result = scforhis.validate_save(payload, today=TODAY)
    assert ("hosP_ID", "duplicate_field") in {(w.field, w.code) for w in result.warnings}
    assert ("hosP_ID", "pattern") in {(e.field, e.code) for e in result.errors}


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


def test_today_defaults_to_the_real_date() -> None:
    tomorrow = date.today().toordinal() + 1
    day = date.fromordinal(tomorrow)
    payload = {
        **SAVE,
        "funC_DATE": f"{day.year}/{day.month:02d}/{day.day:02d}",
        "examyear": str(day.year - 1911),
    }
    assert ("funC_DATE", "cross_field") in {
        (e.field, e.code) for e in scforhis.validate_save(payload).errors
    }


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
    result = scforhis.validate_save({**SAVE, "hosP_ID": "x"}, today=TODAY)
    issue = result.errors[0]
    assert str(issue).startswith("hosP_ID（醫事機構代碼） [pattern] ")
    assert "/ Institution code is malformed" in str(issue)
    assert result.to_dict()["errors"][0]["code"] == "pattern"
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
    validators = scforhis.validators
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
