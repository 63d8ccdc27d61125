"""A small stand-in for the HPA service, served by uvicorn on 127.0.0.1 in a thread.

It behaves as the manual describes: tokens from GetTokenID, plain-text eligibility answers,
visit records kept in memory, MSG_CODE Y or N. Two dialects: `/api` answers as the ASP.NET
serializer writes (`msG_CODE`, `tokenid`, text/plain), `/manual` as the manual prints
(`MSG_CODE` with `;` for GetTokenID, `msg_CODE` for Update, a quoted JSON string for
GetSCDataB). `/slow` stores a Save and only then answers, too late. `/echo` answers every
operation but GetTokenID with a broken page that quotes the request, secrets and all, as a
misconfigured gateway might (a 500 for Delete). The server's own access log
is off: it would show query strings, and it is not the client's log.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

import scforhis
from scforhis.sandbox.app import ServerThread

ACCOUNT = "3501200000ADM"
PASSWORD = "Tw-pa55:word"
# A visit's key, by wire name folded to lower case (the service binds names ignoring case).
KEY_FIELDS = ("hosp_id", "hosp_seq_no", "id", "func_date", "cure_type")
NOT_ELIGIBLE_ID = "B123456780"


@dataclass
class State:
    """What the service remembers; tests may look at it and change it."""

    tokens: list[str] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    records: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)
    saves: int = 0
    slow_seconds: float = 0.5


def _folded(data: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def build_app(state: State) -> Starlette:
    """The Starlette app of the stand-in service."""

    def outcome(dialect: str, code: str, info: str, operation: str = "") -> Response:
        if dialect == "manual" and operation == "Update":
            text = json.dumps({"msg_CODE": code, "msg_INFO": info}, ensure_ascii=False)
        elif dialect == "manual":
            text = json.dumps({"MSG_CODE": code, "MSG_INFO": info}, ensure_ascii=False)
        else:
            text = json.dumps({"msG_CODE": code, "msG_INFO": info}, ensure_ascii=False)
        return Response(text, media_type="application/json; charset=utf-8")

    async def get_token(request: Request) -> Response:
        dialect = request.path_params["dialect"]
        params = {k.lower(): v for k, v in request.query_params.items()}
        if (params.get("id"), params.get("pwd")) != (ACCOUNT, PASSWORD):
            return outcome(dialect, "N", "帳號或密碼錯誤")
        token = secrets.token_urlsafe(24) + "="
        state.tokens.append(token)
        state.valid_tokens.add(token)
        if dialect == "manual":
            text = f'{{"MSG_CODE":"Y","MSG_INFO":"登入成功";"TOKENID": "{token}"}}'
            return Response(text, media_type="text/plain; charset=utf-8")
        return Response(
            json.dumps({"msG_CODE": "Y", "msG_INFO": "登入成功", "tokenid": token}),
            media_type="application/json",
        )

    async def echo(request: Request) -> Response:
        quoted = f"{request.url.query} {(await request.body()).decode()}"
        if request.url.path.endswith("/GetSCDataB"):
            return Response(f"<html><body>Error: {quoted}</body></html>", media_type="text/html")
        status = 500 if request.method == "DELETE" else 200
        return Response("{broken: " + quoted, status_code=status, media_type="text/plain")

    async def eligibility(request: Request) -> Response:
        dialect = request.path_params["dialect"]
        if dialect == "echo":
            return await echo(request)
        params = {k.lower(): v for k, v in request.query_params.items()}
        if params.get("token") not in state.valid_tokens:
            text = "TokenID 已失效，請重新取得"
        elif params.get("id") == NOT_ELIGIBLE_ID:
            text = "個案不可收案：本年度已於他院收案"
        elif params.get("isbooking", "").lower() == "true":
            text = "戒菸治療可收案！！可登錄就醫資料。預留收案成功"
        else:
            text = "戒菸治療可收案！！可登錄就醫資料。"
        if dialect == "manual":
            return Response(json.dumps(text, ensure_ascii=False), media_type="application/json")
        return PlainTextResponse(text)

    async def upload(request: Request) -> Response:
        dialect = request.path_params["dialect"]
        if dialect == "echo":
            return await echo(request)
        operation = request.url.path.rsplit("/", 1)[-1]
        body = _folded(await request.json())
        if (body.get("account"), body.get("password")) != (ACCOUNT, PASSWORD):
            return outcome(dialect, "N", "帳號或密碼錯誤", operation)
        key = tuple(body.get(name, "") for name in KEY_FIELDS)
        if operation == "Save":
            state.saves += 1
            if key in state.records:
                return outcome(dialect, "N", "此筆就醫資料已存在", operation)
            state.records[key] = body
            if dialect == "slow":
                await asyncio.sleep(state.slow_seconds)
            return outcome(dialect, "Y", "儲存成功", operation)
        if key not in state.records:
            return outcome(dialect, "N", "查無此筆就醫資料", operation)
        if operation == "Update":
            state.records[key] = body
            return outcome(dialect, "Y", "更新成功", operation)
        del state.records[key]
        return outcome(dialect, "Y", "刪除成功", operation)

    return Starlette(
        routes=[
            Route("/{dialect}/GetTokenID", get_token, methods=["GET"]),
            Route("/{dialect}/GetSCDataB", eligibility, methods=["GET"]),
            Route("/{dialect}/Save", upload, methods=["POST"]),
            Route("/{dialect}/Update", upload, methods=["PUT"]),
            Route("/{dialect}/Delete", upload, methods=["DELETE"]),
        ]
    )


class ServiceThread(ServerThread):
    """The stand-in service on a free port of 127.0.0.1, in a daemon thread."""

    def __init__(self) -> None:
        self.state = State()
        super().__init__(build_app(self.state))

    def dialect_url(self, dialect: str = "api") -> str:
        """The base URL of one dialect."""
        return f"http://127.0.0.1:{self.port}/{dialect}"

    def client_options(self, dialect: str, **overrides: Any) -> dict[str, Any]:
        """Keyword settings of `scforhis.Client` for one dialect of this service: its account,
        no environment, one quick retry; `overrides` replace any of them."""
        values: dict[str, Any] = {
            "base_url": self.dialect_url(dialect),
            "account": ACCOUNT,
            "password": PASSWORD,
            "hosp_id": "3501200000",
            "hosp_seq_no": "00",
            "timeout": 5.0,
            "retry": scforhis.RetryPolicy(retries=1, backoff=0.0),
            "env": {},
        }
        values.update(overrides)
        return values
