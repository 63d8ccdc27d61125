"""The sandbox behind real uvicorn on 127.0.0.1, called by the generated client (sync and async)
and by raw httpx where the client would hide what the service says: the workflow, the programme's
rules, tokens (shape, forged, missing, expired), credentials and institutions, and logs that
never show a secret."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import scforhis
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import DEMO_ACCOUNT, Account
from scforhis.sandbox.tokens import dotnet_ticks
from tests.conftest import spec_model
from tests.sandbox_support import (
    OTHER_ACCOUNT,
    Clock,
    client_options,
    config,
    manual_query,
    patient,
    visit,
)

SUCCESS = "戒菸治療可收案！！可登錄就醫資料。預留收案成功"


@pytest.fixture(scope="module")
def clock() -> Clock:
    """The sandbox's clock, which tests move forward to expire tokens."""
    return Clock()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own SQLite file."""
    return tmp_path_factory.mktemp("sandbox-client") / "sandbox.db"


@pytest.fixture(scope="module")
def sandbox(db: Path, clock: Clock) -> Iterator[SandboxThread]:
    """One sandbox for the module, with the demo account and a second institution."""
    with SandboxThread(config(), db, clock=clock) as server:
        yield server


def stored(db: Path, patient_id: str) -> list[dict[str, str]]:
    """The stored records of a patient, read from the SQLite file itself."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT record FROM visits WHERE id = ? ORDER BY func_date", (patient_id,)
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


def raw_token(url: str, account: str = DEMO_ACCOUNT.account) -> str:
    """A token obtained with raw httpx."""
    password = DEMO_ACCOUNT.password if account == DEMO_ACCOUNT.account else OTHER_ACCOUNT.password
    answer = httpx.get(f"{url}/GetTokenID", params={"id": account, "pwd": password})
    token: str = answer.json()["tokenid"]
    return token


def test_the_manuals_examples_get_the_manuals_answers(sandbox: SandboxThread) -> None:
    spec = spec_model()
    with httpx.Client(base_url=sandbox.url) as http:
        login = spec.operation("GetTokenID").examples[0]
        answer = http.get("/GetTokenID", params=login.request).json()
        assert isinstance(login.response, dict)
        assert answer == {**login.response, "tokenid": answer["tokenid"]}
        query = spec.operation("GetSCDataB").examples[0]
        text = http.get("/GetSCDataB", params={**query.request, "token": answer["tokenid"]})
        assert text.text == query.response
        for name in ("Save", "Update", "Delete"):
            example = spec.operation(name).examples[0]
            operation = spec.operation(name)
            response = http.request(operation.method, "/" + operation.path, json=example.request)
            assert response.json() == example.response, name


def test_the_whole_workflow_sync(sandbox: SandboxThread, db: Path) -> None:
    record = visit(1)
    with scforhis.Client(**client_options(sandbox.url)) as client:
        reserved = client.get_sc_data_b(manual_query(), id=patient(1))
        assert (reserved.eligible, reserved.reserved, reserved.message) == (True, True, SUCCESS)
        plain = client.get_sc_data_b(manual_query(), id=patient(1), is_booking=False)
        assert (plain.eligible, plain.reserved) == (True, False)
        assert plain.message == "戒菸治療可收案！！可登錄就醫資料。"

        assert client.save(record).raise_for_code().info == "儲存成功"
        again = client.save(record)
        assert (again.ok, again.code) == (False, "N") and "已存在" in again.info

        assert client.update({**record, "smokE_DAY_NUM": "15"}).info == "更新成功"
        [kept] = stored(db, patient(1))
        assert kept["smokE_DAY_NUM"] == "15"
        assert "account" not in kept and "password" not in kept

        assert client.delete(record).info == "刪除成功"
        assert stored(db, patient(1)) == []
        gone = client.delete(record)
        assert not gone.ok and "查無此筆" in gone.info
        missing = client.update(record)
        assert not missing.ok and "查無此筆" in missing.info


def test_the_whole_workflow_async(sandbox: SandboxThread, db: Path) -> None:
    numbers = range(100, 105)

    async def workflow() -> None:
        async with scforhis.AsyncClient(**client_options(sandbox.url)) as client:
            answers = await asyncio.gather(
                *(client.get_sc_data_b(manual_query(), id=patient(n)) for n in numbers)
            )
            assert all(a.eligible and a.reserved for a in answers)
            saved = await asyncio.gather(*(client.save(visit(n)) for n in numbers))
            assert [r.info for r in saved] == ["儲存成功"] * len(numbers)
            again = await asyncio.gather(*(client.save(visit(n)) for n in numbers))
            assert not any(r.ok for r in again)
            updated = await asyncio.gather(
                *(client.update(visit(n, smokE_DAY_NUM="20")) for n in numbers)
            )
            assert [r.info for r in updated] == ["更新成功"] * len(numbers)
            deleted = await asyncio.gather(*(client.delete(visit(n)) for n in numbers))
            assert [r.info for r in deleted] == ["刪除成功"] * len(numbers)

    asyncio.run(workflow())
    assert all(stored(db, patient(n)) == [] for n in numbers)


def test_an_invalid_record_gets_n_with_the_validators_messages(sandbox: SandboxThread) -> None:
    record = {**visit(2), "id": "A123456788", "funC_DATE": "111/10/03"}
    record.pop("examyear")
    with scforhis.Client(**client_options(sandbox.url)) as client:
        result = client.save(record, validate=False)
    assert not result.ok
    assert "檢核錯誤 3 項" in result.info
    assert "檢查碼錯誤（A12****788）" in result.info  # masked, as the validator writes it
    assert "2022/10/03" in result.info  # the calendar hint
    assert "「療程年度」為必填" in result.info


def test_medication_starts_at_18(sandbox: SandboxThread) -> None:
    young = {"birthday": "95/01/01", "func_date": "109/08/10"}  # 14 at the visit
    with scforhis.Client(**client_options(sandbox.url)) as client:
        refused = client.get_sc_data_b(manual_query(), id=patient(3), **young)
        assert not refused.eligible and "未滿 18 歲" in refused.message
        assert client.get_sc_data_b(
            manual_query(), id=patient(3), cure_type="2", is_booking=False, **young
        ).eligible
        result = client.save(visit(3, birthday="2006/01/01"))
        assert not result.ok and "未滿 18 歲" in result.info
        education = visit(3, birthday="2006/01/01", curE_TYPE="2")
        del education["curE_ITEM"], education["curE_NUM"]
        assert client.save(education).ok


def test_at_most_two_courses_a_year(sandbox: SandboxThread) -> None:
    number = 4
    with scforhis.Client(**client_options(sandbox.url)) as client:
        assert client.save(visit(number, "2022/03/01", curE_STAGE="1")).ok
        assert client.save(visit(number, "2022/06/01", curE_STAGE="2")).ok
        query = {**manual_query(), "funcdate": "111/10/01", "isBooking": "false"}
        answer = client.get_sc_data_b(query, id=patient(number))
        assert not answer.eligible and "最多 2 個療程" in answer.message
        third = client.save(visit(number, "2022/09/01", curE_STAGE="3"))
        assert not third.ok and "最多 2 個療程" in third.info
        # A further visit of a course already counted is fine, and so is the next year.
        assert client.save(visit(number, "2022/06/15", curE_STAGE="2")).ok
        next_year = {**query, "funcdate": "112/01/05"}
        assert client.get_sc_data_b(next_year, id=patient(number)).eligible


def test_a_booking_reserves_the_patient_for_one_institution(sandbox: SandboxThread) -> None:
    number = 5
    query = {**manual_query(), "id": patient(number), "funcdate": "111/01/10"}
    other = client_options(sandbox.url, OTHER_ACCOUNT)
    with scforhis.Client(**client_options(sandbox.url)) as mine, scforhis.Client(**other) as theirs:
        assert mine.get_sc_data_b(query).reserved
        told = theirs.get_sc_data_b(query, hosp_id=OTHER_ACCOUNT.hosp_id)
        assert not told.eligible and not told.reserved
        assert "已由其他院所（3501200000）預留收案至 111/04/09" in told.message
        visit_there = visit(
            number, "2022/02/01", hosP_ID=OTHER_ACCOUNT.hosp_id, **_credentials(OTHER_ACCOUNT)
        )
        refused = theirs.save(visit_there)
        assert not refused.ok and "預留收案" in refused.info
        # The booking institution carries on; after the booking ends, others may take the patient.
        assert mine.get_sc_data_b(query, is_booking=False).eligible
        later = {**query, "funcdate": "111/05/01"}
        assert theirs.get_sc_data_b(later, hosp_id=OTHER_ACCOUNT.hosp_id).reserved
        assert not mine.get_sc_data_b(later).eligible


def _credentials(account: Account) -> dict[str, str]:
    return {"account": account.account, "password": account.password}


def test_the_institution_must_belong_to_the_account(sandbox: SandboxThread) -> None:
    with scforhis.Client(**client_options(sandbox.url)) as client:
        theirs = client.save(visit(6, hosP_ID=OTHER_ACCOUNT.hosp_id))
        assert not theirs.ok and "不屬於此帳號" in theirs.info
        branch = client.save(visit(6, hosP_SEQ_NO="01"))
        assert not branch.ok and "不屬於此帳號" in branch.info
        query = client.get_sc_data_b(manual_query(), id=patient(6), hosp_id=OTHER_ACCOUNT.hosp_id)
        assert not query.eligible and "不屬於此帳號" in query.message


def test_wrong_credentials(sandbox: SandboxThread) -> None:
    answer = httpx.get(f"{sandbox.url}/GetTokenID", params={"id": "3501200000ADM", "pwd": "nope"})
    assert answer.json() == {
        "msG_CODE": "N",
        "msG_INFO": "帳號或密碼錯誤（wrong account or password）",
    }
    missing = httpx.get(f"{sandbox.url}/GetTokenID").json()
    assert missing["msG_CODE"] == "N" and "必填" in missing["msG_INFO"]
    with scforhis.Client(**client_options(sandbox.url, password="nope")) as client:
        with pytest.raises(scforhis.RejectedError):
            client.get_sc_data_b(manual_query())
        record = visit(7)
        del record["account"], record["password"]  # the client's (wrong) settings fill them in
        result = client.save(record)
        assert not result.ok and result.info == "帳號或密碼錯誤（wrong account or password）"


def test_tokens_are_shaped_like_the_manuals(sandbox: SandboxThread, clock: Clock) -> None:
    token = raw_token(sandbox.url)
    mac, account, ticks = base64.b64decode(token).decode().split(":")
    assert len(base64.b64decode(mac, validate=True)) == 32  # an HMAC-SHA256
    assert account == DEMO_ACCOUNT.account
    assert int(ticks) == pytest.approx(dotnet_ticks(clock()), abs=10_000_000)
    assert len(ticks) == len("637328229393398157")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "未提供 TokenID"),
        ("", "未提供 TokenID"),
        ("not base64 at all!", "TokenID 無效"),
        (
            "cjJQQmVKMDBneHVXY1o2WFdzcUJSckMzWIEwcm14K2d4dE94WTg5Q3oyZz06c2N3czEyMzQ1Njo2MzczMjgyMjkzOTMzOTgxNTc=",
            "TokenID 無效",
        ),
    ],
    ids=["absent", "blank", "garbage", "manual-example"],
)
def test_a_missing_or_forged_token_is_refused(
    sandbox: SandboxThread, token: str | None, expected: str
) -> None:
    query = manual_query()
    if token is not None:
        query["token"] = token
    answer = httpx.get(f"{sandbox.url}/GetSCDataB", params=query)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert expected in answer.text and "可收案" not in answer.text


def test_an_altered_token_is_refused(sandbox: SandboxThread) -> None:
    mac, account, ticks = base64.b64decode(raw_token(sandbox.url)).decode().split(":")
    for inner in (f"{mac}:{OTHER_ACCOUNT.account}:{ticks}", f"{mac}:{account}:{int(ticks) + 1}"):
        forged = base64.b64encode(inner.encode()).decode()
        answer = httpx.get(f"{sandbox.url}/GetSCDataB", params={**manual_query(), "token": forged})
        assert answer.text.startswith("TokenID 無效")


def test_an_expired_token_is_refused_and_the_client_gets_a_new_one(
    sandbox: SandboxThread, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    token = raw_token(sandbox.url)
    query = {**manual_query(), "id": patient(8), "isBooking": "false"}
    with scforhis.Client(**client_options(sandbox.url)) as client:
        assert client.get_sc_data_b(query).eligible
        clock.advance(21 * 60)  # the default lifetime is 20 minutes
        answer = httpx.get(f"{sandbox.url}/GetSCDataB", params={**query, "token": token})
        assert answer.text.startswith("TokenID 已逾期（有效 20 分鐘）")
        with caplog.at_level(logging.INFO, logger="scforhis.sandbox"):
            assert client.get_sc_data_b(query).eligible  # renewed by itself
    issued = [r for r in caplog.records if r.getMessage().startswith("GetTokenID status=200")]
    assert len(issued) == 1


def test_logs_never_show_secrets_or_ids(
    sandbox: SandboxThread, caplog: pytest.LogCaptureFixture
) -> None:
    record = visit(9)
    with (
        caplog.at_level(logging.DEBUG),
        scforhis.Client(**client_options(sandbox.url)) as client,
    ):
        client.get_sc_data_b(manual_query(), id=patient(9))
        client.save(record)
        client.save({**record, "id": "A123456788"}, validate=False)
        client.delete(record)
        token = raw_token(sandbox.url)
    server_lines = [
        r.getMessage() for r in caplog.records if r.name.startswith(("scforhis.sandbox", "uvicorn"))
    ]
    assert any("id=A10****" in line for line in server_lines)  # masked IDs only
    text = "\n".join(server_lines)
    for secret in (DEMO_ACCOUNT.account, DEMO_ACCOUNT.password, token, patient(9), "A123456788"):
        assert secret not in text


def test_every_spec_operation_has_its_route(sandbox: SandboxThread) -> None:
    routes = {
        (route.path, method)
        for route in sandbox.sandbox.app.routes
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD"
    }
    expected = {("/" + op.path, op.method) for op in spec_model().operations}
    assert routes == expected


def test_records_that_only_warn_are_stored_and_strict_clients_keep_them(
    sandbox: SandboxThread, db: Path
) -> None:
    # The service refuses only what the evidence says it refuses: a branch written "0" by a
    # spreadsheet, 18 months, a department name and a two-metre-tall typo are warnings.
    doubtful = visit(
        40, hosP_SEQ_NO="00", smokE_MON="18", reF_DEPT="家醫科", height="1700", curE_AGREE="N"
    )
    with scforhis.Client(**client_options(sandbox.url)) as client:
        result = client.save(doubtful)
        assert result.ok, result.info
        assert {(w.field, w.code) for w in result.warnings} >= {
            ("smokE_MON", "range"),
            ("reF_DEPT", "pattern"),
            ("height", "range"),
        }
    [kept] = stored(db, patient(40))
    assert (kept["smokE_MON"], kept["reF_DEPT"], kept["height"]) == ("18", "家醫科", "1700")
    assert kept["examyear"] == "111"  # sent under both names, stored once
    with scforhis.Client(**client_options(sandbox.url), strict=True) as strict:
        with pytest.raises(scforhis.ValidationError) as caught:
            strict.save(visit(41, smokE_MON="18"))
        assert [(i.field, i.severity) for i in caught.value.result.errors] == [
            ("smokE_MON", "error")
        ]
    assert stored(db, patient(41)) == []


def test_the_visit_key_has_the_birthday_as_the_delete_table(sandbox: SandboxThread) -> None:
    record = visit(42)
    with scforhis.Client(**client_options(sandbox.url)) as client:
        assert client.save(record).ok
        other_birthday = client.delete({**record, "birthday": "1961/01/02"})
        assert not other_birthday.ok and "查無此筆" in other_birthday.info
        assert client.delete(record).ok


def test_the_manuals_examyyear_alone_reaches_the_sandbox(sandbox: SandboxThread, db: Path) -> None:
    record = visit(43)
    record["examyyear"] = record.pop("examyear")
    with httpx.Client(base_url=sandbox.url) as http:
        answer = http.post("/Save", json=record).json()
    assert answer["msG_CODE"] == "Y", answer
    [kept] = stored(db, patient(43))
    assert kept["examyear"] == "111" and "examyyear" not in kept
