"""The client against `httpx.MockTransport`: requests as the manual describes them, every response
shape the service really sends, the token, retries, and every failure path; sync and async."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

import httpx
import pytest

import scforhis
from tests.client_support import (
    ACCOUNT,
    CLINICIAN_ID,
    ELIGIBLE,
    HOSP_ID,
    PASSWORD,
    PATIENT_ID,
    TOKEN,
    Service,
    manual_query,
    manual_record,
    ok_answer,
    open_client,
    token_answer,
)

MODES = ["sync", "async"]
NOT_ELIGIBLE = "個案不可收案：已於他院收案中"


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Each test runs on `Client` and on `AsyncClient`."""
    mode: str = request.param
    return mode


# -- requests -------------------------------------------------------------------------------


def test_get_token_id_sends_the_account_and_password_as_query(mode: str) -> None:
    service = Service()
    client = open_client(mode, service)
    token = client.get_token_id()
    assert token.value == TOKEN
    assert TOKEN not in repr(token) and TOKEN not in str(token)
    (request,) = service.calls("GetTokenID")
    assert request.method == "GET"
    assert dict(request.url.params) == {"id": ACCOUNT, "pwd": PASSWORD}
    assert str(request.url).startswith("https://hpa.test/ScForHisWebApi/api/GetTokenID?")


def test_get_sc_data_b_with_keywords_converts_dates_to_roc(mode: str) -> None:
    service = Service(GetSCDataB=httpx.Response(200, text=ELIGIBLE))
    client = open_client(mode, service)
    result = client.get_sc_data_b(
        id=PATIENT_ID,
        birthday=date(1961, 1, 1),
        cure_type=scforhis.CureType.MEDICATION,
        func_date=date(2020, 8, 10),
        is_booking=True,
    )
    assert result == scforhis.EligibilityResult(scforhis.Eligibility.ELIGIBLE, True, ELIGIBLE)
    (request,) = service.calls("GetSCDataB")
    assert dict(request.url.params) == {
        "token": TOKEN,
        "isBooking": "true",
        "hospid": HOSP_ID,
        "hospseqno": "00",
        "id": PATIENT_ID,
        "birthday": "50/01/01",
        "type": "1",
        "funcdate": "109/08/10",
    }


def test_get_sc_data_b_takes_a_model_or_a_mapping_and_keywords_win(mode: str) -> None:
    service = Service(GetSCDataB=httpx.Response(200, text=ELIGIBLE))
    client = open_client(mode, service)
    query = scforhis.GetSCDataBRequest(
        is_booking=False, id=PATIENT_ID, birthday="50/01/01", cure_type="2", func_date="109/08/10"
    )
    client.get_sc_data_b(query, cure_type=scforhis.CureType.MEDICATION, hosp_seq_no="01")
    client.get_sc_data_b(manual_query())
    first, second = (dict(r.url.params) for r in service.calls("GetSCDataB"))
    assert first["type"] == "1" and first["isBooking"] == "false" and first["hospseqno"] == "01"
    assert {k: v for k, v in second.items() if k != "token"} == manual_query()


def test_save_sends_canonical_wire_names_with_credentials_and_no_token(mode: str) -> None:
    service = Service(Save=ok_answer())
    client = open_client(mode, service)
    result = client.save(manual_record())
    assert result == scforhis.ApiResult(True, "Y", "儲存成功", "Save")
    (request,) = service.calls("Save")
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("application/json")
    body = service.body("Save")
    # The course year goes under both of the manual's names (erratum examyyear).
    assert body == {
        "account": ACCOUNT,
        "password": PASSWORD,
        **manual_record(),
        "examyyear": manual_record()["examyear"],
    }
    assert "token" not in {k.lower() for k in body}
    assert not service.calls("GetTokenID")


def test_a_model_with_dates_enums_and_lists_is_written_as_the_manual_does(mode: str) -> None:
    service = Service(Save=ok_answer())
    client = open_client(mode, service)
    record = scforhis.SaveRequest(
        id=PATIENT_ID,
        birthday=date(1961, 1, 1),
        func_date=date(2022, 10, 3),
        prsn_id=CLINICIAN_ID,
        cure_stage=2,
        examyear=date(2022, 10, 3),
        smoke_year=1,
        smoke_mon=1,
        smoke_day_num=11,
        height=170.0,
        base_weight=50,
        cure_week=scforhis.CureWeek.ONE_WEEK,
        week_tot=2,
        smoke_first=scforhis.SmokeFirst.WITHIN_5_MINUTES,
        smoke_stop=scforhis.NoYes.YES,
        smoke_no_gp=scforhis.SmokeNoGp.FIRST_IN_THE_MORNING,
        smoke_much=scforhis.SmokeMuch.THIRTY_ONE_OR_MORE,
        smoke_bed=scforhis.NoYes.YES,
        smoke_sick=scforhis.NoYes.YES,
        cure_agree=scforhis.CureAgree.FOLLOW_UP,
        cure_agree2=scforhis.YesNo.NO,
        co_check=1,
        case_source=scforhis.CaseSource.OUTPATIENT,
        cure_type=scforhis.CureType.MEDICATION,
        case_kind=scforhis.CaseKind.NONE,
        cure_item=["B022538129", "B024431100"],
        cure_num=[10, 20.0],
        ref_dept="0",
        memo="",
        memo2="",
    )
    assert client.save(record).ok
    expected = {**manual_record(), "curE_NUM": "10,20"}
    assert service.body("Save") == {
        "account": ACCOUNT,
        "password": PASSWORD,
        **expected,
        "examyyear": expected["examyear"],
    }
    filled = {"hosP_ID", "hosP_SEQ_NO"}  # left to the client's settings
    assert record.to_wire() == {k: v for k, v in expected.items() if k not in filled}


def test_mapping_names_in_any_casing_become_canonical(mode: str) -> None:
    service = Service(Update=ok_answer("更新成功"))
    client = open_client(mode, service)
    record = manual_record()
    shouted = {key.upper(): value for key, value in record.items()}  # the manual's table names
    shouted["smoke_day_num"] = 12  # a Python name and an int
    shouted["co_CHECK"] = shouted.pop("CO_CHECK")  # the manual's example spelling
    shouted["examyyear"] = "111"  # the manual's other name of the course year, same value
    shouted["smoke_yearz"] = "1"  # a typo: unknown, warned about, not sent
    result = client.update(shouted)
    assert result.ok and result.info == "更新成功"
    body = service.body("Update")
    assert body == {
        "account": ACCOUNT,
        "password": PASSWORD,
        **record,
        "smokE_DAY_NUM": "12",
        "examyyear": "111",
    }
    assert [(w.field, w.code) for w in result.warnings] == [("smoke_yearz", "unknown_field")]


def test_the_record_own_institution_and_credentials_win_over_settings(mode: str) -> None:
    service = Service(Save=ok_answer())
    client = open_client(mode, service)
    client.save({**manual_record(), "hosP_SEQ_NO": "01", "account": "OTHER", "password": "pw2"})
    body = service.body("Save")
    assert (body["hosP_SEQ_NO"], body["account"], body["password"]) == ("01", "OTHER", "pw2")


def test_delete_takes_the_saved_record_and_sends_only_its_own_fields(mode: str) -> None:
    service = Service(Delete=ok_answer("刪除成功"))
    client = open_client(mode, service)
    result = client.delete(manual_record("Save"))
    assert result.ok and result.warnings == ()
    (request,) = service.calls("Delete")
    assert request.method == "DELETE"
    delete_fields = {f.wire for f in scforhis.operations.DELETE.fields}
    body = service.body("Delete")
    assert set(body) <= delete_fields | {"examyyear"}
    assert body == {
        "account": ACCOUNT,
        "password": PASSWORD,
        **manual_record("Delete"),
        "examyyear": manual_record("Delete")["examyear"],
    }


def test_update_is_a_put(mode: str) -> None:
    service = Service(Update=ok_answer("更新成功"))
    open_client(mode, service).update(manual_record("Update"))
    assert service.calls("Update")[0].method == "PUT"


# -- validation -----------------------------------------------------------------------------


def test_an_invalid_record_raises_validation_error_and_sends_nothing(mode: str) -> None:
    service = Service(Save=ok_answer())
    client = open_client(mode, service)
    bad = {**manual_record(), "id": "A123456788", "funC_DATE": "111/10/03"}
    with pytest.raises(scforhis.ValidationError) as caught:
        client.save(bad)
    result = caught.value.result
    assert isinstance(result, scforhis.ValidationResult)
    assert {(i.field, i.code) for i in result.errors} == {
        ("id", "checksum"),
        ("funC_DATE", "pattern"),
    }
    assert "A12****788" in str(caught.value) and "A123456788" not in str(caught.value)
    assert service.requests == []


def test_validate_false_sends_an_invalid_record(mode: str) -> None:
    service = Service(Save=httpx.Response(200, json={"msG_CODE": "N", "msG_INFO": "身分證號錯誤"}))
    client = open_client(mode, service)
    result = client.save({**manual_record(), "id": "A123456788"}, validate=False)
    assert not result.ok and service.body("Save")["id"] == "A123456788"


def test_a_query_is_validated_before_a_token_is_fetched(mode: str) -> None:
    service = Service()
    client = open_client(mode, service)
    with pytest.raises(scforhis.ValidationError) as caught:
        client.get_sc_data_b({**manual_query(), "birthday": "1961/01/01"})
    assert [(i.field, i.code) for i in caught.value.result.errors] == [("birthday", "pattern")]
    assert service.requests == []


@pytest.mark.parametrize("record", [None, ["a"], "text", 3])
def test_a_record_that_is_not_a_mapping_is_invalid(mode: str, record: Any) -> None:
    client = open_client(mode, Service())
    with pytest.raises(scforhis.ValidationError):
        client.save(record)


# -- response shapes ------------------------------------------------------------------------

TOKEN_ANSWERS = {
    "serializer": json.dumps({"msG_CODE": "Y", "msG_INFO": "登入成功", "tokenid": TOKEN}),
    "manual_semicolon": f'{{"MSG_CODE":"Y","MSG_INFO":"登入成功";"TOKENID": "{TOKEN}"}}',
    "json_string": json.dumps(
        json.dumps({"MSG_CODE": "Y", "MSG_INFO": "登入成功", "TOKENID": TOKEN})
    ),
    "msg_CODE": json.dumps({"msg_CODE": "Y", "msg_INFO": "登入成功", "TokenID": TOKEN}),
}


@pytest.mark.parametrize("text", TOKEN_ANSWERS.values(), ids=TOKEN_ANSWERS.keys())
def test_token_answers_in_every_shape(mode: str, text: str) -> None:
    client = open_client(mode, Service(GetTokenID=httpx.Response(200, text=text)))
    token = client.get_token_id()
    assert token.value == TOKEN and token.info == "登入成功"


RESULT_ANSWERS = {
    "msG_CODE": '{"msG_CODE": "Y", "msG_INFO": "儲存成功"}',
    "msg_CODE": '{ "msg_CODE": "Y", "msg_INFO": "儲存成功" }',
    "MSG_CODE": '{"MSG_CODE":"Y","MSG_INFO":"儲存成功"}',
    "json_string": json.dumps('{"msG_CODE":"Y","msG_INFO":"儲存成功"}'),
    "semicolon": '{"MSG_CODE":"Y";"MSG_INFO":"儲存成功"}',
    "bom_and_spaces": '\ufeff  {"msG_CODE":" y ","msG_INFO":"儲存成功"}\r\n',
}


@pytest.mark.parametrize("text", RESULT_ANSWERS.values(), ids=RESULT_ANSWERS.keys())
def test_result_answers_in_every_shape(mode: str, text: str) -> None:
    client = open_client(mode, Service(Save=httpx.Response(200, text=text)))
    assert client.save(manual_record()) == scforhis.ApiResult(True, "Y", "儲存成功", "Save")


def test_a_business_failure_is_a_result_until_raise_for_code(mode: str) -> None:
    answer = httpx.Response(200, json={"msG_CODE": "N", "msG_INFO": "查無此筆就醫資料"})
    client = open_client(mode, Service(Delete=answer))
    result = client.delete(manual_record("Delete"))
    assert result == scforhis.ApiResult(False, "N", "查無此筆就醫資料", "Delete")
    with pytest.raises(scforhis.RejectedError) as caught:
        result.raise_for_code()
    assert (caught.value.code, caught.value.info, caught.value.operation) == (
        "N",
        "查無此筆就醫資料",
        "Delete",
    )
    ok = scforhis.ApiResult(True, "Y", "刪除成功", "Delete")
    assert ok.raise_for_code() is ok


def test_results_show_ids_in_service_messages_masked() -> None:
    result = scforhis.ApiResult(False, "N", f"{PATIENT_ID} 查無資料", "Update")
    eligibility = scforhis.EligibilityResult(
        scforhis.Eligibility.UNKNOWN, False, f"{PATIENT_ID} 已於他院收案"
    )
    with pytest.raises(scforhis.RejectedError) as caught:
        result.raise_for_code()
    for shown in (repr(result), repr(eligibility), str(caught.value)):
        assert PATIENT_ID not in shown and "A12****789" in shown
    assert result.info.startswith(PATIENT_ID)  # the data itself is kept as the service sent it


YES, NO, UNKNOWN = (
    scforhis.Eligibility.ELIGIBLE,
    scforhis.Eligibility.NOT_ELIGIBLE,
    scforhis.Eligibility.UNKNOWN,
)
ELIGIBILITY_ANSWERS = [
    (ELIGIBLE, YES, True),
    ("戒菸治療可收案！！可登錄就醫資料。", YES, False),
    ("戒菸治療可收案!!可登錄就醫資料。", YES, False),  # half-width marks: the same text
    (json.dumps(ELIGIBLE, ensure_ascii=False), YES, True),
    (json.dumps(ELIGIBLE), YES, True),
    (f"\ufeff {ELIGIBLE}\n", YES, True),
    (NOT_ELIGIBLE, NO, False),
    ("個案未滿18歲，非本計畫可收案對象", NO, False),
    ("個案未滿 18 歲，非本計畫可收案對象", NO, False),
    ("本年度療程已達 2 次，無法收案", UNKNOWN, False),
    ("戒菸治療可收案", UNKNOWN, False),  # not a text the spec lists as a yes
    ("戒菸治療可收案！！可登錄就醫資料。預留收案成功。惟個案已死亡", UNKNOWN, False),
    ("系統維護中", UNKNOWN, False),
    ('{"msG_CODE":"N","msG_INFO":"戒菸治療可收案！！可登錄就醫資料。"}', NO, False),
    ('{"msG_CODE":"Y","msG_INFO":"戒菸治療可收案！！可登錄就醫資料。"}', YES, False),
]


@pytest.mark.parametrize(("text", "outcome", "reserved"), ELIGIBILITY_ANSWERS)
def test_eligibility_answers(
    mode: str, text: str, outcome: scforhis.Eligibility, reserved: bool
) -> None:
    client = open_client(mode, Service(GetSCDataB=httpx.Response(200, text=text)))
    result = client.get_sc_data_b(manual_query())
    assert (result.outcome, result.eligible, result.reserved) == (outcome, outcome is YES, reserved)
    assert result.message and not result.message.startswith(('"', "\ufeff"))


def test_judge_eligibility_knows_only_the_listed_yes() -> None:
    replies = scforhis.operations.GET_SC_DATA_B.response.replies
    assert scforhis.judge_eligibility(ELIGIBLE, replies) == (YES, True)
    assert scforhis.judge_eligibility("可 收 案", replies) == (UNKNOWN, False)
    assert scforhis.judge_eligibility("不可收案", replies) == (NO, False)
    assert scforhis.judge_eligibility("戒菸治療可收案，但不得重複預約", replies) == (UNKNOWN, False)
    assert scforhis.judge_eligibility(ELIGIBLE, ()) == (UNKNOWN, False)


UNREADABLE = {
    "empty": "",
    "html": "<html><body>Service Unavailable</body></html>",
    "not_json": "{oops",
    "no_code": '{"msG_INFO":"儲存成功"}',
    "unknown_code": '{"msG_CODE":"E","msG_INFO":"?"}',
    "a_list": '["Y"]',
}


@pytest.mark.parametrize("text", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_update_answer_is_a_protocol_error(mode: str, text: str) -> None:
    client = open_client(mode, Service(Update=httpx.Response(200, text=text)))
    with pytest.raises(scforhis.ProtocolError) as caught:
        client.update(manual_record())
    assert caught.value.operation == "Update"


@pytest.mark.parametrize("text", ["", "<!DOCTYPE html><html></html>", "[1, 2]"])
def test_an_unreadable_eligibility_answer_is_a_protocol_error(mode: str, text: str) -> None:
    client = open_client(mode, Service(GetSCDataB=httpx.Response(200, text=text)))
    with pytest.raises(scforhis.ProtocolError):
        client.get_sc_data_b(manual_query())


def test_a_protocol_error_shows_the_answer_redacted(mode: str) -> None:
    leak = (
        f'{{"error": "bad request", "account": "{ACCOUNT}", "pwd": "{PASSWORD}", '
        f'"token": "{TOKEN}", "patient": "{PATIENT_ID}"'
    )
    service = Service(GetSCDataB=[httpx.Response(200, text=leak)])
    client = open_client(mode, service)
    with pytest.raises(scforhis.ProtocolError) as caught:
        client.get_sc_data_b(manual_query())
    shown = f"{caught.value} {caught.value.text!r} {caught.value!r}"
    for secret in (ACCOUNT, PASSWORD, TOKEN, PATIENT_ID):
        assert secret not in shown
    assert "A12****789" in caught.value.text and "bad request" in caught.value.text


def test_a_status_error_hides_the_record_own_credentials(mode: str) -> None:
    own = "R3cord-0wn-pw"
    echo = httpx.Response(400, text=f"bad credentials OTHERACCT/{own} for {PATIENT_ID}")
    client = open_client(mode, Service(Save=echo))
    with pytest.raises(scforhis.HTTPStatusError) as caught:
        client.save({**manual_record(), "account": "OTHERACCT", "password": own})
    for secret in (own, "OTHERACCT", PATIENT_ID):
        assert secret not in str(caught.value)
    assert "bad credentials" in str(caught.value)


def test_a_refused_login_raises_rejected(mode: str) -> None:
    answer = httpx.Response(200, json={"msG_CODE": "N", "msG_INFO": "帳號或密碼錯誤"})
    client = open_client(mode, Service(GetTokenID=answer))
    with pytest.raises(scforhis.RejectedError) as caught:
        client.get_sc_data_b(manual_query())
    assert caught.value.code == "N" and caught.value.operation == "GetTokenID"


def test_a_login_success_without_a_token_is_a_protocol_error(mode: str) -> None:
    answer = httpx.Response(200, json={"msG_CODE": "Y", "msG_INFO": "登入成功"})
    with pytest.raises(scforhis.ProtocolError):
        open_client(mode, Service(GetTokenID=answer)).get_token_id()


# -- the token ------------------------------------------------------------------------------


def test_the_token_is_fetched_once_and_kept(mode: str) -> None:
    service = Service(GetSCDataB=httpx.Response(200, text=ELIGIBLE))
    client = open_client(mode, service)
    for _ in range(3):
        client.get_sc_data_b(manual_query())
    assert len(service.calls("GetTokenID")) == 1
    assert [r.url.params["token"] for r in service.calls("GetSCDataB")] == [TOKEN] * 3


def test_the_token_is_renewed_when_older_than_the_maximum_age(mode: str) -> None:
    service = Service(
        GetTokenID=[token_answer("first"), token_answer("second")],
        GetSCDataB=httpx.Response(200, text=ELIGIBLE),
    )
    client = open_client(mode, service, token_max_age=60)
    now = [1000.0]
    client.client._clock = lambda: now[0]
    client.get_sc_data_b(manual_query())
    now[0] += 59
    client.get_sc_data_b(manual_query())
    now[0] += 2
    client.get_sc_data_b(manual_query())
    assert [r.url.params["token"] for r in service.calls("GetSCDataB")] == [
        "first",
        "first",
        "second",
    ]


@pytest.mark.parametrize(
    "refusal",
    [
        httpx.Response(401, text="Unauthorized"),
        httpx.Response(403),
        httpx.Response(200, text="TokenID 已失效，請重新取得"),
        httpx.Response(200, json={"msG_CODE": "N", "msG_INFO": "Token 驗證失敗"}),
    ],
    ids=["401", "403", "text", "object"],
)
def test_a_refused_token_is_renewed_once(mode: str, refusal: httpx.Response) -> None:
    service = Service(
        GetTokenID=[token_answer("old"), token_answer("new")],
        GetSCDataB=[refusal, httpx.Response(200, text=ELIGIBLE)],
    )
    client = open_client(mode, service)
    assert client.get_sc_data_b(manual_query()).eligible
    assert [r.url.params["token"] for r in service.calls("GetSCDataB")] == ["old", "new"]


def test_a_fresh_token_refused_again_raises_rejected(mode: str) -> None:
    service = Service(GetSCDataB=httpx.Response(401))
    client = open_client(mode, service)
    with pytest.raises(scforhis.RejectedError):
        client.get_sc_data_b(manual_query())
    assert (len(service.calls("GetTokenID")), len(service.calls("GetSCDataB"))) == (2, 2)


def test_a_401_on_save_is_a_status_error_not_a_token_matter(mode: str) -> None:
    service = Service(Save=httpx.Response(401))
    with pytest.raises(scforhis.HTTPStatusError) as caught:
        open_client(mode, service).save(manual_record())
    assert caught.value.status_code == 401 and not service.calls("GetTokenID")


# -- retries and unknown outcomes -----------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(429, headers={"Retry-After": "0"}),
    ],
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else str(f.status_code),
)
@pytest.mark.parametrize("operation", ["GetSCDataB", "Update", "Delete"])
def test_idempotent_operations_are_retried(mode: str, failure: Any, operation: str) -> None:
    answers = {"GetSCDataB": httpx.Response(200, text=ELIGIBLE), "Update": ok_answer("更新成功")}
    success = answers.get(operation, ok_answer("刪除成功"))
    service = Service(**{operation: [failure, failure, success]})
    client = open_client(mode, service)
    call = {
        "GetSCDataB": lambda: client.get_sc_data_b(manual_query()),
        "Update": lambda: client.update(manual_record()),
        "Delete": lambda: client.delete(manual_record()),
    }[operation]
    call()
    assert len(service.calls(operation)) == 3


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ConnectError("connection refused"), scforhis.ConnectionFailedError),
        (httpx.ReadTimeout("timed out"), scforhis.RequestTimeoutError),
        (httpx.Response(500, text="boom"), scforhis.HTTPStatusError),
    ],
)
def test_retries_give_up_after_the_policy(mode: str, failure: Any, error: type[Exception]) -> None:
    service = Service(Update=failure)
    with pytest.raises(error):
        open_client(mode, service).update(manual_record())
    assert len(service.calls("Update")) == 3


def test_a_retry_policy_of_zero_tries_once(mode: str) -> None:
    service = Service(GetTokenID=httpx.ConnectError("refused"))
    client = open_client(mode, service, retry=scforhis.RetryPolicy(retries=0))
    with pytest.raises(scforhis.ConnectionFailedError) as caught:
        client.get_token_id()
    assert caught.value.sent is False and len(service.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(504),
        httpx.Response(200, text="<html>proxy error</html>"),
    ],
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else str(f.status_code),
)
def test_a_save_that_may_have_arrived_is_never_resent(mode: str, failure: Any) -> None:
    service = Service(Save=[failure, ok_answer()])
    client = open_client(mode, service)
    with pytest.raises(scforhis.OutcomeUnknownError) as caught:
        client.save(manual_record())
    assert len(service.calls("Save")) == 1
    error = caught.value
    assert isinstance(error.cause, scforhis.ScForHisError) and error.operation == "Save"
    assert "update()" in str(error)
    if isinstance(failure, httpx.Response) and failure.status_code >= 500:
        assert error.status_code == failure.status_code


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("timed out")]
)
def test_a_save_that_never_left_is_retried(mode: str, failure: Exception) -> None:
    service = Service(Save=[failure, ok_answer()])
    assert open_client(mode, service).save(manual_record()).ok
    assert len(service.calls("Save")) == 2


def test_a_save_that_never_left_reports_it(mode: str) -> None:
    service = Service(Save=httpx.ConnectError("refused"))
    with pytest.raises(scforhis.ConnectionFailedError) as caught:
        open_client(mode, service).save(manual_record())
    assert caught.value.sent is False and "not sent" in str(caught.value)
    assert len(service.calls("Save")) == 3


@pytest.mark.parametrize("status", [400, 404, 415])
def test_client_errors_are_not_retried(mode: str, status: int) -> None:
    service = Service(Save=httpx.Response(status, json={"title": "One or more validation errors"}))
    with pytest.raises(scforhis.HTTPStatusError) as caught:
        open_client(mode, service).save(manual_record())
    assert caught.value.status_code == status and len(service.calls("Save")) == 1


def test_redirects_are_not_followed(mode: str) -> None:
    moved = httpx.Response(302, headers={"Location": "https://elsewhere.test/GetTokenID"})
    service = Service(GetTokenID=moved)
    with pytest.raises(scforhis.HTTPStatusError) as caught:
        open_client(mode, service).get_token_id()
    assert caught.value.status_code == 302 and len(service.requests) == 1


def test_a_certificate_failure_is_not_retried(mode: str) -> None:
    failure = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    service = Service(GetTokenID=failure)
    with pytest.raises(scforhis.ConnectionFailedError):
        open_client(mode, service).get_token_id()
    assert len(service.requests) == 1


def test_retry_policy_delays() -> None:
    policy = scforhis.RetryPolicy(retries=5, backoff=0.5, max_backoff=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    # Retry-After is honoured in full, never capped by the backoff's maximum.
    assert policy.delay(1, "2") == 2.0 and policy.delay(1, "120") == 120.0
    assert policy.delay(2, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
    assert policy.delay(2, "soon") == 1.0
    with pytest.raises(scforhis.ConfigurationError):
        scforhis.RetryPolicy(retries=-1)


# -- logging --------------------------------------------------------------------------------


def test_one_log_line_per_call(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    service = Service(GetSCDataB=httpx.Response(200, text=ELIGIBLE), Save=ok_answer())
    client = open_client(mode, service)
    with caplog.at_level(logging.INFO, logger="scforhis"):
        client.get_sc_data_b(manual_query())
        client.save(manual_record())
    lines = [r for r in caplog.records if r.name == "scforhis"]
    assert [r.getMessage().split()[0] for r in lines] == ["GetTokenID", "GetSCDataB", "Save"]
    save = lines[-1]
    assert save.levelno == logging.INFO
    assert "status=200" in save.getMessage() and "MSG_CODE=Y" in save.getMessage()
    assert "elapsed=" in save.getMessage()
    assert save.scforhis_operation == "Save" and save.scforhis_msg_code == "Y"  # type: ignore[attr-defined]


def test_a_failed_call_logs_a_warning(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    service = Service(Save=httpx.ReadTimeout("timed out"))
    with (
        caplog.at_level(logging.INFO, logger="scforhis"),
        pytest.raises(scforhis.OutcomeUnknownError),
    ):
        open_client(mode, service).save(manual_record())
    (line,) = [r for r in caplog.records if r.name == "scforhis"]
    assert line.levelno == logging.WARNING
    assert "Save failed" in line.getMessage() and "OutcomeUnknownError" in line.getMessage()
