"""The whole workflow against a real HTTP server on 127.0.0.1, synchronous and asynchronous:
token, eligibility, save, a duplicate save, update, delete, an expired token, a Save whose
answer comes too late (resolved as `scforhis.errors` says), and a service that is down."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

import scforhis
from scforhis.validation.idnumbers import check_digit
from tests.client_server import ACCOUNT, NOT_ELIGIBLE_ID, PASSWORD, ServiceThread
from tests.client_support import manual_query, manual_record

DIALECTS = ["api", "manual"]


@pytest.fixture(scope="module")
def service() -> Iterator[ServiceThread]:
    """One stand-in service for the whole module."""
    server = ServiceThread().start()
    yield server
    server.stop()


def visit(day: int) -> dict[str, str]:
    """The manual's Save example on its own visit date (each test keeps its own visit)."""
    return {**manual_record(), "funC_DATE": f"2022/10/{day:02d}"}


def test_the_not_eligible_patient_has_a_valid_id() -> None:
    assert check_digit(NOT_ELIGIBLE_ID[:9]) == NOT_ELIGIBLE_ID[9]


@pytest.mark.parametrize(("dialect", "day"), [("api", 3), ("manual", 4)])
def test_workflow_sync(service: ServiceThread, dialect: str, day: int) -> None:
    record = visit(day)
    with scforhis.Client(**service.client_options(dialect)) as client:
        answer = client.get_sc_data_b(manual_query())
        assert (answer.eligible, answer.reserved) == (True, True)
        answer = client.get_sc_data_b(manual_query(), is_booking=False)
        assert (answer.eligible, answer.reserved) == (True, False)
        refused = client.get_sc_data_b(manual_query(), id=NOT_ELIGIBLE_ID)
        assert not refused.eligible and "不可收案" in refused.message

        assert client.save(record).raise_for_code().info == "儲存成功"
        again = client.save(record)
        assert (again.ok, again.code, again.info) == (False, "N", "此筆就醫資料已存在")
        with pytest.raises(scforhis.RejectedError):
            again.raise_for_code()

        assert client.update({**record, "smokE_DAY_NUM": "15"}).info == "更新成功"
        stored = next(
            r for r in service.state.records.values() if r["func_date"] == record["funC_DATE"]
        )
        assert stored["smoke_day_num"] == "15"

        assert client.delete(record).info == "刪除成功"
        gone = client.delete(record)
        assert (gone.ok, gone.info) == (False, "查無此筆就醫資料")

        issued = len(service.state.tokens)
        service.state.valid_tokens.clear()  # the service forgets every token
        assert client.get_sc_data_b(manual_query()).eligible
        assert len(service.state.tokens) == issued + 1


@pytest.mark.parametrize(("dialect", "day"), [("api", 5), ("manual", 6)])
def test_workflow_async(service: ServiceThread, dialect: str, day: int) -> None:
    record = visit(day)

    async def workflow() -> None:
        async with scforhis.AsyncClient(**service.client_options(dialect)) as client:
            answers = await asyncio.gather(
                client.get_sc_data_b(manual_query()),
                client.get_sc_data_b(manual_query(), is_booking=False),
                client.get_sc_data_b(manual_query(), id=NOT_ELIGIBLE_ID),
            )
            assert [(a.eligible, a.reserved) for a in answers] == [
                (True, True),
                (True, False),
                (False, False),
            ]
            assert (await client.save(record)).ok
            assert not (await client.save(record)).ok
            assert (await client.update(record)).info == "更新成功"
            assert (await client.delete(record)).info == "刪除成功"
            assert not (await client.delete(record)).ok

    issued = len(service.state.tokens)
    asyncio.run(workflow())
    assert len(service.state.tokens) == issued + 1  # three concurrent queries, one token


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_late_save_answer_is_an_unknown_outcome_resolved_by_update(
    service: ServiceThread, mode: str
) -> None:
    record = visit(7 if mode == "sync" else 8)
    settings = service.client_options("slow", timeout=0.2)
    saves = service.state.saves

    async def save_async() -> tuple[scforhis.ApiResult, scforhis.ApiResult]:
        async with scforhis.AsyncClient(**settings) as client:
            with pytest.raises(scforhis.OutcomeUnknownError) as caught:
                await client.save(record)
            assert isinstance(caught.value.cause, scforhis.RequestTimeoutError)
            return await client.update(record), await client.save(record)

    if mode == "sync":
        with scforhis.Client(**settings) as client:
            with pytest.raises(scforhis.OutcomeUnknownError) as caught:
                client.save(record)
            assert isinstance(caught.value.cause, scforhis.RequestTimeoutError)
            # Resolving as the docs say: Update answers Y, so the visit is stored.
            updated, resaved = client.update(record), client.save(record)
    else:
        updated, resaved = asyncio.run(save_async())
    assert updated.ok and not resaved.ok  # stored once, never twice
    assert service.state.saves == saves + 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_service_that_is_down(mode: str) -> None:
    settings = {
        "base_url": f"http://127.0.0.1:{_closed_port()}/api",
        "account": ACCOUNT,
        "password": PASSWORD,
        "retry": scforhis.RetryPolicy(retries=1, backoff=0.0),
        "env": {},
    }

    async def save_async() -> None:
        async with scforhis.AsyncClient(**settings) as client:
            await client.save(manual_record())

    with pytest.raises(scforhis.ConnectionFailedError) as caught:
        if mode == "sync":
            with scforhis.Client(**settings) as client:
                client.save(manual_record())
        else:
            asyncio.run(save_async())
    assert caught.value.sent is False  # safe to save again later
