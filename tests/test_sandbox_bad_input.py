"""Bad input never gets a 500 or a stack trace: malformed JSON, a wrong content type, an oversized
or non-UTF-8 body, a body that is not an object, a wrong method or path each get the service's own
answer format (JSON `msG_CODE`/`msG_INFO`, or plain text for GetSCDataB) with a readable zh-TW
message, and the server keeps serving."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from codegen.model import Operation
from scforhis.sandbox.app import SandboxThread
from tests.conftest import spec_model
from tests.sandbox_support import config, manual_query, manual_request

MAX_BODY = 4096
JSON_OPERATIONS = [op for op in spec_model().operations if op.input == "json"]
ALL_OPERATIONS = list(spec_model().operations)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    """One sandbox with a small body limit, on this module's own SQLite file."""
    db: Path = tmp_path_factory.mktemp("sandbox-bad-input") / "sandbox.db"
    with SandboxThread(config(max_body_bytes=MAX_BODY), db) as server:
        yield server


@pytest.fixture(scope="module")
def http(sandbox: SandboxThread) -> Iterator[httpx.Client]:
    """A raw httpx client of the sandbox."""
    with httpx.Client(base_url=sandbox.url, timeout=10.0) as client:
        yield client


def refused_json(response: httpx.Response, status: int, *words: str) -> str:
    """Check an answer in the JSON format: MSG_CODE N with a message holding `words`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"msG_CODE", "msG_INFO"} and body["msG_CODE"] == "N"
    message: str = body["msG_INFO"]
    assert all(word in message for word in words), message
    assert "Traceback" not in message and "Error" not in message
    return message


def refused_text(response: httpx.Response, status: int, *words: str) -> str:
    """Check an answer in GetSCDataB's plain-text format."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert all(word in response.text for word in words), response.text
    assert "Traceback" not in response.text and "可收案" not in response.text
    return response.text


def still_serving(http: httpx.Client) -> None:
    """The server still answers a normal request."""
    answer = http.get("/GetTokenID", params={"id": "3501200000ADM", "pwd": "12345678"})
    assert answer.json()["msG_CODE"] == "Y"


BAD_BODIES = [
    pytest.param(b'{"account": "3501200000ADM",', "JSON 格式錯誤", id="truncated"),
    pytest.param(b"{'account': 1}", "JSON 格式錯誤：第 1 行第 2 欄", id="single-quotes"),
    pytest.param(b"", "缺少 JSON 本文", id="empty"),
    pytest.param(b"   \n", "缺少 JSON 本文", id="blank"),
    pytest.param(b"[1, 2]", "本文須為 JSON 物件（收到陣列）", id="array"),
    pytest.param(b'"text"', "本文須為 JSON 物件（收到字串）", id="string"),
    pytest.param(b"42", "本文須為 JSON 物件（收到數字）", id="number"),
    pytest.param(b"null", "本文須為 JSON 物件（收到null）", id="null"),
    pytest.param(b"[" * 3000, "JSON 無法解析", id="deeply-nested"),
    pytest.param(b'{"id": "\xff\xfe"}', "不是 UTF-8", id="not-utf8"),
]


@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=lambda op: op.name)
@pytest.mark.parametrize(("body", "words"), BAD_BODIES)
def test_an_unreadable_body_gets_400(
    http: httpx.Client, operation: Operation, body: bytes, words: str
) -> None:
    response = http.request(
        operation.method,
        "/" + operation.path,
        content=body,
        headers={"content-type": "application/json"},
    )
    refused_json(response, 400, words)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
    ids=["none", "text", "form", "latin-1"],
)
@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=lambda op: op.name)
def test_a_wrong_content_type_gets_415(
    http: httpx.Client, operation: Operation, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps(manual_request("Save")).encode()
    response = http.request(
        operation.method,
        "/" + operation.path,
        content=body,
        headers=headers,
    )
    refused_json(
        response, 415, "application/json" if "charset" not in str(content_type) else "UTF-8"
    )


def test_json_types_asp_net_reads_are_accepted(http: httpx.Client) -> None:
    for content_type in (
        "text/json",
        "application/problem+json",
        "Application/JSON; charset=UTF-8",
    ):
        body = json.dumps({**manual_request("Save"), "funC_DATE": "2022/11/01"}).encode()
        response = http.put("/Update", content=body, headers={"content-type": content_type})
        assert response.json()["msG_INFO"].startswith("查無此筆就醫資料"), content_type


def test_an_oversized_body_gets_413(http: httpx.Client) -> None:
    record = {**manual_request("Save"), "memo": "x" * MAX_BODY}
    refused_json(http.post("/Save", json=record), 413, f"上限 {MAX_BODY} 位元組")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        yield b'{"memo": "'
        for _ in range(64):
            yield b"y" * 1024
        yield b'"}'

    response = http.post("/Save", content=chunks(), headers={"content-type": "application/json"})
    refused_json(response, 413, "本文過大")
    still_serving(http)


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [("curE_STAGE", 2, "數字"), ("CURE_STAGE", 2.5, "數字"), ("height", [170], "陣列"),
     ("curE_AGREE", True, "布林值"), ("memo", {"a": "b"}, "物件")],
)  # fmt: skip
def test_a_field_that_is_not_a_json_string_gets_400_as_from_the_service(
    http: httpx.Client, name: str, value: object, kind: str
) -> None:
    """System.Text.Json cannot bind a number (or a boolean, array, object) to a string property:
    the service answers 400 before its own checks, whatever the name's letter case."""
    record = {**manual_request("Save"), name: value}
    message = refused_json(http.post("/Save", json=record), 400, f"須為 JSON 字串（收到{kind}）")
    assert "quote it" in message


def test_null_and_unknown_names_bind_as_the_service_binds_them(http: httpx.Client) -> None:
    """null binds as a missing value (the validator then speaks), and a name the service does
    not know is ignored whatever its value."""
    record = {**manual_request("Save"), "curE_STAGE": None, "remark": 5, "extra": [1]}
    message = refused_json(http.post("/Save", json=record), 200, "資料檢核錯誤")
    assert "「療程序號」為必填" in message


@pytest.mark.parametrize("operation", ALL_OPERATIONS, ids=lambda op: op.name)
def test_a_wrong_method_gets_405_in_the_operations_format(
    http: httpx.Client, operation: Operation
) -> None:
    allowed, path = operation.method, operation.path
    for method in METHODS:
        if method == allowed:
            continue
        response = http.request(method, "/" + path, content=b"{}")
        assert response.headers["allow"] == allowed
        words = (f"須以 {allowed} 呼叫", f"收到 {method}")
        if operation.response.kind == "text":
            refused_text(response, 405, *words)
        else:
            refused_json(response, 405, *words)


def test_an_unknown_path_gets_404_with_the_operations(http: httpx.Client) -> None:
    for path in ("/", "/GetSign", "/api/Save", "/Save/extra"):
        message = refused_json(http.get(path), 404, "找不到此路徑")
        assert all(op.path in message for op in ALL_OPERATIONS)


def test_paths_match_ignoring_case_and_a_trailing_slash(http: httpx.Client) -> None:
    for path in ("/gettokenid", "/GETTOKENID/", "/GetTokenID/"):
        answer = http.get(path, params={"id": "3501200000ADM", "pwd": "12345678"})
        assert answer.json()["msG_CODE"] == "Y", path


def test_query_names_match_ignoring_case(http: httpx.Client) -> None:
    answer = http.get("/GetTokenID", params={"ID": "3501200000ADM", "Pwd": "12345678"})
    assert answer.json()["msG_CODE"] == "Y"


def test_a_garbled_query_gets_readable_text(http: httpx.Client) -> None:
    token = http.get("/GetTokenID", params={"id": "3501200000ADM", "pwd": "12345678"}).json()
    query = {**manual_query(), "token": token["tokenid"]}
    garbled = {**query, "id": "%zz\u00ff", "birthday": "1961/01/01", "type": "9", "isBooking": ""}
    text = refused_text(http.get("/GetSCDataB", params=garbled), 200, "查詢資料檢核錯誤")
    assert "個案身分證號" in text and "民國" in text
    raw = http.get("/GetSCDataB?token=%ZZ&id=%&&&==&hospid=" + "9" * 5000)
    refused_text(raw, 200, "TokenID 無效")


def test_the_server_survives_garbage_on_the_socket(
    sandbox: SandboxThread, http: httpx.Client
) -> None:
    for garbage in (
        b"NOT HTTP AT ALL\r\n\r\n",
        b"POST /Save HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as raw:
            raw.sendall(garbage)
            reply = raw.recv(4096)
        assert reply.startswith(b"HTTP/1.1 400") and b"Traceback" not in reply
    still_serving(http)
