"""Helpers for the client tests: a scripted service for `httpx.MockTransport`, a driver that
runs the same test on `Client` and `AsyncClient`, and records taken from the manual's examples
in the spec (never retyped here)."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Any

import httpx

import scforhis
from tests.conftest import spec_model

BASE_URL = "https://hpa.test/ScForHisWebApi/api"
ACCOUNT = "3501200000ADM"
PASSWORD = "pw-S3cret!x"
HOSP_ID = "3501200000"
HOSP_SEQ_NO = "00"
TOKEN = "cjJQQmVKMDBneHVXY1o2WFdzcUJSckMzWIEwcm14K2d4dE94WTg5Q3oyZz06c2N3czEyMzQ1Njo2MzczMjgyMjkzOTMzOTgxNTc="
PATIENT_ID = "A123456789"
CLINICIAN_ID = "A198765435"
ELIGIBLE = "戒菸治療可收案！！可登錄就醫資料。預留收案成功"

_SPEC = spec_model()
CREDENTIAL_FIELDS = {
    f.wire for f in _SPEC.operation("Save").fields if f.python_name in ("account", "password")
}


def manual_record(operation: str = "Save") -> dict[str, str]:
    """The manual's example request of `operation`, without the credentials the client fills in."""
    request = _SPEC.operation(operation).examples[0].request
    return {k: v for k, v in request.items() if k not in CREDENTIAL_FIELDS}


def manual_query() -> dict[str, str]:
    """The manual's GetSCDataB example, without the token the client supplies."""
    op = _SPEC.operation("GetSCDataB")
    token_wire = next(f.wire for f in op.fields if f.python_name == "token")
    return {k: v for k, v in op.examples[0].request.items() if k != token_wire}


def token_answer(token: str = TOKEN) -> httpx.Response:
    """GetTokenID's answer as the serializer writes it."""
    return httpx.Response(200, json={"msG_CODE": "Y", "msG_INFO": "登入成功", "tokenid": token})


def ok_answer(info: str = "儲存成功") -> httpx.Response:
    """A Save/Update/Delete success."""
    return httpx.Response(200, json={"msG_CODE": "Y", "msG_INFO": info})


Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Service:
    """A MockTransport handler answering each operation (last path segment) from a script.

    A script is a list of steps, used in turn (the last one repeats): a response, an exception to
    raise, or a function of the request. Every request is recorded.
    """

    def __init__(self, **scripts: Step | list[Step]) -> None:
        self.scripts = {
            name: list(steps) if isinstance(steps, list) else [steps]
            for name, steps in scripts.items()
        }
        self.scripts.setdefault("GetTokenID", [token_answer()])
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        name = request.url.path.rsplit("/", 1)[-1]
        steps = self.scripts[name]
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            # A fresh copy each time: a Response can be read only once.
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    def calls(self, name: str) -> list[httpx.Request]:
        """The requests made to operation `name`."""
        return [r for r in self.requests if r.url.path.endswith("/" + name)]

    def body(self, name: str, index: int = -1) -> dict[str, Any]:
        """The JSON body of a request to `name`."""
        data: dict[str, Any] = json.loads(self.calls(name)[index].content)
        return data


def settings(**overrides: Any) -> dict[str, Any]:
    """Client keyword settings for tests: no environment, no backoff."""
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "account": ACCOUNT,
        "password": PASSWORD,
        "hosp_id": HOSP_ID,
        "hosp_seq_no": HOSP_SEQ_NO,
        "retry": scforhis.RetryPolicy(retries=2, backoff=0.0),
        "env": {},
    }
    values.update(overrides)
    return values


class Driver:
    """Calls a `Client` or an `AsyncClient` the same way (each async call runs to completion)."""

    def __init__(self, client: scforhis.Client | scforhis.AsyncClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if inspect.iscoroutinefunction(attribute):

            def run(*args: Any, **kwargs: Any) -> Any:
                return asyncio.run(attribute(*args, **kwargs))

            return run
        return attribute


def open_client(mode: str, service: Service, **overrides: Any) -> Driver:
    """A client of `mode` ("sync" or "async") talking to `service` through MockTransport."""
    transport = httpx.MockTransport(service)
    if mode == "sync":
        return Driver(scforhis.Client(transport=transport, **settings(**overrides)))
    return Driver(scforhis.AsyncClient(transport=transport, **settings(**overrides)))
